package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// WriteFile writes one cgroup control file. Cgroup files take one value a
// write and report errors on write, not on open.
func WriteFile(dir, file, value string) error {
	path := filepath.Join(dir, file)
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return nil
}

// ReadFile reads a control file, trimmed.
func ReadFile(dir, file string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	return strings.TrimSpace(string(data)), err
}

// ReadPids parses a cgroup.procs file.
func ReadPids(dir string) ([]int, error) {
	s, err := ReadFile(dir, "cgroup.procs")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(s) {
		if p, err := strconv.Atoi(f); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// RmdirAll removes a cgroup directory and the cgroups under it (made by the
// container or an engine, they belong to it), deepest first.
func RmdirAll(dir string, timeout time.Duration) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := RmdirAll(filepath.Join(dir, e.Name()), timeout); err != nil {
				return err
			}
		}
	}
	return Rmdir(dir, timeout)
}

// RmdirIfEmpty removes a cgroup directory that has no processes and no
// sub-cgroups, and reports whether it is gone.
func RmdirIfEmpty(dir string) bool {
	err := unix.Rmdir(dir)
	return err == nil || errors.Is(err, unix.ENOENT)
}

// Rmdir removes a cgroup directory, retrying (bounded) while the kernel
// still counts exiting tasks in it (EBUSY). A missing one is fine.
func Rmdir(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != unix.EBUSY || time.Now().After(deadline) {
			return fmt.Errorf("remove cgroup %s: %w", dir, err)
		}
		time.Sleep(delay)
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// WaitUnpopulated waits until a cgroup2 directory has no process left, from
// the "populated" key of cgroup.events, which the kernel signals with
// POLLPRI on change: no polling loop.
func WaitUnpopulated(dir string, timeout time.Duration) error {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 256)
	for {
		n, err := unix.Pread(int(f.Fd()), buf, 0)
		if err != nil {
			return err
		}
		if strings.Contains(string(buf[:n]), "populated 0") {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("cgroup %s still has processes after %s", dir, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return err
		}
	}
}

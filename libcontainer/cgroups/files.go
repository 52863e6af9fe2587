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

// WaitUnpopulated waits until a cgroup2 directory has no process left; a
// directory that is gone has none, whether it was gone before the open
// (ENOENT) or was removed while we read its events (ENODEV: systemd removes
// a stopped scope's cgroup on its own).
func WaitUnpopulated(dir string, timeout time.Duration) error {
	err := WaitEvent(dir, "populated 0", timeout)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV) {
		return nil
	}
	return err
}

// WaitEvent waits until a cgroup2 directory's cgroup.events holds line
// ("populated 0", "frozen 1"), woken by the POLLPRI the kernel signals on
// every change of the file: no polling loop.
func WaitEvent(dir, line string, timeout time.Duration) error {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return err
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 256)
	for {
		n, err := unix.Pread(int(f.Fd()), buf, 0)
		if err != nil {
			return fmt.Errorf("read %s/cgroup.events: %w", dir, err)
		}
		for _, l := range strings.Split(string(buf[:n]), "\n") {
			if l == line {
				return nil
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%s: no %q in cgroup.events after %s", dir, line, timeout)
		}
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return err
		}
	}
}

// DirExists reports whether a cgroup directory is there.
func DirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// Freezer is what SignalEach needs of a manager.
type Freezer interface {
	Paused() bool
	Freeze() error
	Thaw() error
}

// KillAll SIGKILLs every process of a cgroup2 directory through cgroup.kill
// (Linux 5.14+): one write, atomic against forks. done is false when the
// kernel has no cgroup.kill, and the caller must signal each process.
func KillAll(dir string) (done bool, err error) {
	err = WriteFile(dir, "cgroup.kill", "1")
	switch {
	case err == nil:
		return true, nil
	case !errors.Is(err, os.ErrNotExist):
		return true, err
	case !DirExists(dir):
		return true, nil // no cgroup, no process
	}
	return false, nil
}

// SignalEach sends sig to each process pids lists, with the cgroup frozen
// meanwhile so that no new process slips between listing and signalling,
// as runc does.
func SignalEach(f Freezer, pids func() ([]int, error), sig unix.Signal) error {
	frozen := false
	if !f.Paused() {
		frozen = f.Freeze() == nil
	}
	list, err := pids()
	for _, p := range list {
		unix.Kill(p, sig)
	}
	if frozen {
		if terr := f.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// Package proc identifies a process by pid and start time and acts on it
// through a pidfd, so that a recycled pid is never taken for the container.
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ErrGone means the process exited (or is a zombie), or its pid now belongs
// to another process.
var ErrGone = errors.New("process has exited")

// StartTime returns the start time (clock ticks since boot, field 22 of
// /proc/<pid>/stat) of a live process. A zombie counts as gone: it will never
// run again, and its parent may reap it at any moment.
func StartTime(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, ErrGone
		}
		return 0, err
	}
	return parseStat(data)
}

func parseStat(data []byte) (uint64, error) {
	// comm (field 2) may hold spaces and parentheses: split after the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	fields := bytes.Fields(data[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("malformed /proc stat line")
	}
	if fields[0][0] == 'Z' || fields[0][0] == 'X' {
		return 0, ErrGone
	}
	return strconv.ParseUint(string(fields[19]), 10, 64)
}

// Handle is a pidfd on a process known to be the one recorded.
type Handle struct {
	fd  int
	Pid int
}

// Open returns a pidfd for pid if it is still the process that started at
// start. Opening the pidfd first and checking the start time afterwards closes
// the window in which the pid could be recycled.
func Open(pid int, start uint64) (*Handle, error) {
	if pid <= 0 {
		return nil, ErrGone
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if err == unix.ESRCH {
			return nil, ErrGone
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	got, err := StartTime(pid)
	if err != nil || got != start {
		unix.Close(fd)
		if err == nil || errors.Is(err, ErrGone) {
			return nil, ErrGone
		}
		return nil, err
	}
	return &Handle{fd: fd, Pid: pid}, nil
}

// Alive reports whether pid is still the process that started at start.
func Alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	got, err := StartTime(pid)
	return err == nil && got == start
}

// Signal sends sig to the process.
func (h *Handle) Signal(sig unix.Signal) error {
	if err := unix.PidfdSendSignal(h.fd, sig, nil, 0); err != nil {
		if err == unix.ESRCH {
			return ErrGone
		}
		return err
	}
	return nil
}

// Wait blocks until the process exits or timeoutMs passes (-1: no bound).
// It returns true if the process exited. It works for processes that are not
// our children, unlike wait4.
func (h *Handle) Wait(timeoutMs int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, err
		}
		return n > 0, nil
	}
}

// Fd is the pidfd, for callers that poll it together with other fds.
func (h *Handle) Fd() int { return h.fd }

// Close releases the pidfd.
func (h *Handle) Close() error { return unix.Close(h.fd) }

// InPidNamespaceOf lists the processes that share pid's pid namespace, or
// nothing when that is the caller's own pid namespace.
func InPidNamespaceOf(pid int) ([]int, error) {
	want, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid")
	if err != nil {
		return nil, fmt.Errorf("pid namespace of %d: %w", pid, err)
	}
	if self, err := os.Readlink("/proc/self/ns/pid"); err != nil || self == want {
		return nil, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == want {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

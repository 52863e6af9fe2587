package proc

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Child is a process this hull spawned and may reap. It is started with
// syscall.ForkExec rather than os/exec: os/exec probes pidfd support on its
// first use by forking a throwaway child, a cost on every create and exec.
type Child struct {
	Pid int

	once   sync.Once
	reaped atomic.Bool
	status syscall.WaitStatus
	err    error
}

// Spawn starts path with args and env; files become the child's fds 0, 1,
// 2, 3... in order.
func Spawn(path string, args, env []string, files []*os.File, attr *syscall.SysProcAttr) (*Child, error) {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	pid, err := syscall.ForkExec(path, args, &syscall.ProcAttr{Env: env, Files: fds, Sys: attr})
	if err != nil {
		return nil, err
	}
	return &Child{Pid: pid}, nil
}

// Wait reaps the child once; later calls return the same status.
func (c *Child) Wait() (syscall.WaitStatus, error) {
	c.once.Do(func() {
		for {
			_, err := syscall.Wait4(c.Pid, &c.status, 0, nil)
			if err != syscall.EINTR {
				c.err = err
				c.reaped.Store(true)
				return
			}
		}
	})
	return c.status, c.err
}

// Kill sends SIGKILL unless the child was reaped (its pid may be another
// process's by now); the child is still to be reaped.
func (c *Child) Kill() {
	if !c.reaped.Load() {
		unix.Kill(c.Pid, unix.SIGKILL)
	}
}

// ExitCode is a wait status as a shell reports it: the exit code, or
// 128+signal.
func ExitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

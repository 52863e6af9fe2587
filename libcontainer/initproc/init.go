// Package initproc is the container's init: a re-executed hull that turns a
// freshly cloned process into the container, step by step, and finally execs
// process.args. The same steps, minus the filesystem, serve exec.
package initproc

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cinit"
	"github.com/hull-oci/hull/libcontainer/hooks"
	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/syncpipe"
	"github.com/hull-oci/hull/libcontainer/trace"
)

// SyncEnv names the fd of the sync socket in the init's environment; it is
// the only thing the init learns from its environment.
const SyncEnv = "_HULL_SYNCFD"

// Main is the whole life of the init. It never returns: it execs the payload
// or exits 1 after reporting the failure to the parent.
func Main() {
	// Capabilities, the user, no_new_privs and seccomp are per thread: all of
	// them are set on this thread, and the payload is exec'd from it.
	runtime.LockOSThread()

	fd, err := strconv.Atoi(os.Getenv(SyncEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "hull init: must be started by hull, not by hand")
		os.Exit(1)
	}
	t := &trace.Trace{}
	t.Mark("init: runtime started")
	conn := syncpipe.New(os.NewFile(uintptr(fd), "sync"))
	m, err := conn.Recv()
	if err != nil || m.Type != syncpipe.TypePlan || m.Plan == nil || m.Init == nil {
		// The parent is gone or confused: nothing to report to.
		os.Exit(1)
	}
	t.Mark("init: plan received")
	if m, err := conn.Recv(); err != nil || m.Type != syncpipe.TypePlaced {
		os.Exit(1)
	}
	t.Mark("init: placed")
	err = run(conn, m, t)
	// run returns only on failure.
	conn.Send(&syncpipe.Msg{Type: syncpipe.TypeError, Msg: err.Error()})
	os.Exit(1)
}

func run(conn *syncpipe.Conn, m *syncpipe.Msg, t *trace.Trace) error {
	p, c := m.Plan, m.Init
	// The process's own steps are the C code's, shared with exec's init.
	cp, err := cinit.Decode(cinit.Encode(&p.Process, c.ConsoleFD, 3+c.PreserveFDs))
	if err != nil {
		return err
	}
	s := &steps{plan: p, cfg: c, conn: conn, trace: t, proc: cp}
	if err := s.buildContainer(); err != nil {
		return err
	}
	if err := cp.Confine(); err != nil {
		return err
	}
	keepNofile(p.Process.Rlimits)
	t.Mark("init: process confined")
	path, err := cp.LookPath()
	if err != nil {
		return err
	}
	// No fd of hull's may reach the payload (CVE-2024-21626): everything from
	// the first of ours up is close-on-exec; the preserved fds stay.
	if err := unix.CloseRange(uint(3+c.PreserveFDs), ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	if err := conn.Send(&syncpipe.Msg{Type: syncpipe.TypeReady, Marks: t.Marks}); err != nil {
		return err
	}
	if c.FifoFD >= 0 {
		if err := waitForStart(c.FifoFD); err != nil {
			return err
		}
		if p.Hooks != nil {
			// After start nobody reads the sync socket: the container's
			// stderr is where a failure can still be seen.
			if err := hooks.Run("hooks.startContainer", p.Hooks.StartContainer, s.hookState(specs.StateRunning)); err != nil {
				fmt.Fprintln(os.Stderr, "hull init:", err)
				os.Exit(1)
			}
		}
	}
	conn.Close()
	err = cp.Exec(path)
	// The parent may be gone (after start): stderr is the container's.
	fmt.Fprintln(os.Stderr, "hull init:", err)
	os.Exit(127)
	return nil
}

// keepNofile tells the Go runtime about a configured open-files limit, which
// the C code set: otherwise it would hand the hooks it starts the limit it
// found at its own start.
func keepNofile(rls []spec.Rlimit) {
	for _, rl := range rls {
		if rl.Type == unix.RLIMIT_NOFILE {
			syscall.Setrlimit(rl.Type, &syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard})
		}
	}
}

// waitForStart blocks until `hull start` writes a byte to the exec fifo.
func waitForStart(fd int) error {
	buf := make([]byte, 1)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for start on the exec fifo: %w", err)
		}
		if n == 1 {
			return nil
		}
	}
}

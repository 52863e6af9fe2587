package initproc

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/caps"
	"github.com/hull-oci/hull/libcontainer/console"
	"github.com/hull-oci/hull/libcontainer/hooks"
	"github.com/hull-oci/hull/libcontainer/rootfs"
	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/syncpipe"
	"github.com/hull-oci/hull/libcontainer/trace"
)

type steps struct {
	plan  *spec.Plan
	cfg   *syncpipe.InitConfig
	conn  *syncpipe.Conn
	trace *trace.Trace
}

// buildContainer does the filesystem and the namespaced kernel settings, in
// the order the spec's lifecycle implies: mounts and pivot_root, the
// terminal, names, sysctls, then read-only and masked paths last so that
// nothing above writes through a path the config wants protected.
func (s *steps) buildContainer() error {
	p := s.plan
	if s.cfg.UnshareCgroupNS {
		// Per thread: this locked thread builds the container and execs
		// the payload.
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("linux.namespaces: new cgroup namespace: %w", err)
		}
	}
	if s.cfg.Keyring != "" {
		// A keyring of its own keeps the container from reading the host's
		// session keys. Kernels or user namespaces without keyrings are fine.
		if _, err := unix.KeyctlJoinSessionKeyring(s.cfg.Keyring); err != nil && err != unix.ENOSYS && err != unix.EACCES && err != unix.EDQUOT {
			return fmt.Errorf("new session keyring (use --no-new-keyring to skip): %w", err)
		}
	}
	if err := rootfs.Prepare(p, rootfs.Options{
		NoPivot:     s.cfg.NoPivot,
		UserNS:      s.cfg.UserNS,
		Console:     p.Process.Terminal,
		BeforePivot: s.createHooks,
	}); err != nil {
		return err
	}
	s.trace.Mark("init: mounts and root switched")
	if p.Process.Terminal {
		if err := s.setupTerminal(true); err != nil {
			return err
		}
	}
	if p.Hostname != "" {
		if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
			return fmt.Errorf("hostname %q: %w", p.Hostname, err)
		}
	}
	if p.Domainname != "" {
		if err := unix.Setdomainname([]byte(p.Domainname)); err != nil {
			return fmt.Errorf("domainname %q: %w", p.Domainname, err)
		}
	}
	if err := rootfs.WriteSysctls(p.Sysctl); err != nil {
		return err
	}
	if err := rootfs.Finish(p); err != nil {
		return err
	}
	s.trace.Mark("init: masked and read-only paths")
	return nil
}

// createHooks runs where the spec puts them, with the mounts made and the
// root not yet switched: the parent's prestart and createRuntime hooks
// (the init waits for them), then createContainer hooks here, in the
// container's namespaces, with paths resolved in the runtime's filesystem.
func (s *steps) createHooks() error {
	h := s.plan.Hooks
	if h == nil {
		return nil
	}
	if len(h.Prestart) > 0 || len(h.CreateRuntime) > 0 {
		if err := s.conn.Send(&syncpipe.Msg{Type: syncpipe.TypeHooks}); err != nil {
			return err
		}
		m, err := s.conn.Recv()
		if err != nil {
			return err
		}
		if m.Type != syncpipe.TypeResume {
			return fmt.Errorf("unexpected message %q from the parent", m.Type)
		}
	}
	return hooks.Run("hooks.createContainer", h.CreateContainer, s.hookState(specs.StateCreating))
}

func (s *steps) hookState(status specs.ContainerState) specs.State {
	p := s.plan
	return specs.State{Version: p.OCIVersion, ID: s.cfg.ID, Status: status,
		Pid: s.cfg.Pid, Bundle: p.Bundle, Annotations: p.Annotations}
}

// setupTerminal makes the pty, hands the master to the engine and makes the
// peer the process's terminal; the container's /dev/console is the peer too.
func (s *steps) setupTerminal(mountConsole bool) error {
	if s.cfg.ConsoleFD < 0 {
		return fmt.Errorf("process.terminal: no console socket to send the pty to")
	}
	sock := os.NewFile(uintptr(s.cfg.ConsoleFD), "console-socket")
	defer sock.Close()
	master, peer, err := console.Open()
	if err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	defer master.Close()
	defer peer.Close()
	if sz := s.plan.Process.ConsoleSize; sz != nil {
		if err := console.SetSize(master, sz.Height, sz.Width); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if mountConsole {
		if err := rootfs.MountConsole(peer); err != nil {
			return err
		}
	}
	if err := console.SendFd(sock, "/dev/ptmx", master); err != nil {
		return err
	}
	return console.MakeControlling(peer)
}

// confineProcess applies process.* in the order privileges allow: rlimits
// and the bounding set while still privileged, then the user, then the
// capability sets, no_new_privs, umask, cwd.
func (s *steps) confineProcess() error {
	pr := &s.plan.Process
	if s.cfg.Exec && pr.Terminal {
		if err := s.setupTerminal(false); err != nil {
			return err
		}
	}
	for i, rl := range pr.Rlimits {
		// syscall.Setrlimit, not unix.Prlimit: it also stops the Go runtime
		// from restoring its own saved RLIMIT_NOFILE at exec.
		if err := syscall.Setrlimit(rl.Type, &syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}); err != nil {
			return fmt.Errorf("process.rlimits[%d]: %w", i, err)
		}
	}
	if err := caps.DropBounding(pr.Caps.Bounding); err != nil {
		return err
	}
	if err := setUser(pr); err != nil {
		return err
	}
	if err := caps.Apply(pr.Caps); err != nil {
		return err
	}
	if pr.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("process.noNewPrivileges: %w", err)
		}
	}
	if pr.Umask != nil {
		unix.Umask(int(*pr.Umask))
	}
	return chdir(pr.Cwd)
}

// setUser changes groups and ids of this thread only (raw syscalls): the
// payload is exec'd from this thread, and exec takes its credentials.
// PR_SET_KEEPCAPS keeps the permitted set across the uid change so that
// caps.Apply can then set exactly the configured sets.
func setUser(pr *spec.Process) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("process.user: keep capabilities: %w", err)
	}
	gids := pr.AdditionalGids
	if len(gids) == 0 {
		gids = []uint32{0} // a valid pointer; the length below is still 0
	}
	n := len(pr.AdditionalGids)
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(n), uintptr(unsafe.Pointer(&gids[0])), 0); e != 0 {
		// Without CAP_SETGID in the user namespace, or with setgroups
		// denied, only an empty list matching the current one is an error.
		if n > 0 || e != unix.EPERM {
			return fmt.Errorf("process.user.additionalGids %v: setgroups: %w", pr.AdditionalGids, e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(pr.GID), uintptr(pr.GID), uintptr(pr.GID)); e != 0 {
		return fmt.Errorf("process.user.gid %d: %w (is it mapped in the user namespace?)", pr.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(pr.UID), uintptr(pr.UID), uintptr(pr.UID)); e != 0 {
		return fmt.Errorf("process.user.uid %d: %w (is it mapped in the user namespace?)", pr.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("process.user: %w", err)
	}
	return nil
}

// chdir enters process.cwd and proves the result is inside the container's
// root: a cwd through a leaked fd (/proc/self/fd/N) would land outside, and
// getcwd then reports it unreachable (CVE-2024-21626).
func chdir(cwd string) error {
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("process.cwd %q: %w", cwd, err)
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Getcwd(buf)
	if err != nil {
		return fmt.Errorf("process.cwd %q: outside the container's root filesystem (%v)", cwd, err)
	}
	if got := string(buf[:n]); !strings.HasPrefix(got, "/") {
		return fmt.Errorf("process.cwd %q: resolves outside the container's root filesystem", cwd)
	}
	return nil
}

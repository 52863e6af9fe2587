package initproc

import (
	"fmt"

	"golang.org/x/sys/unix"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cinit"
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
	proc  *cinit.Plan
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
		if err := s.setupTerminal(); err != nil {
			return err
		}
	}
	if err := NamesAndSysctls(p); err != nil {
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
// peer the process's terminal and the container's /dev/console.
func (s *steps) setupTerminal() error {
	peer, err := s.proc.Terminal()
	if err != nil {
		return err
	}
	defer peer.Close()
	if err := rootfs.MountConsole(peer); err != nil {
		return err
	}
	return cinit.Controlling(peer)
}

// NamesAndSysctls sets hostname and domainname and writes linux.sysctl,
// from a thread in the container's UTS, network and IPC namespaces (the
// kernel picks the namespace by the writer's): the Go init's, or the
// parent's building thread.
func NamesAndSysctls(p *spec.Plan) error {
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
	return rootfs.WriteSysctls(p.Sysctl)
}

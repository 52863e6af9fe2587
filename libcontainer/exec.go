package libcontainer

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/proc"
	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/state"
	"github.com/hull-oci/hull/libcontainer/syncpipe"
	"github.com/hull-oci/hull/libcontainer/trace"
)

// ExecOpts are the inputs of exec besides the process.
type ExecOpts struct {
	ConsoleSocket string
	PreserveFDs   int
	IgnorePaused  bool
	// SubCgroups (exec --cgroup) maps a controller, or "" for all, to an
	// existing sub-cgroup of the container's to run the process in.
	SubCgroups map[string]string
	// Trace, if set, gets the end of each phase (--debug).
	Trace *trace.Trace
	// Gate, if set, is waited on before the process may run: it exists
	// by then, but waits for the parent's "placed" message, and exits if
	// the parent dies first (see CreateOpts.Gate).
	Gate <-chan struct{}
}

// Process is a process started by Exec in a container.
type Process struct {
	cmd *proc.Child
	Pid int
}

// Exec starts pr inside the running container: in all of its namespaces,
// with the confinement pr describes. It returns once pr runs (or failed to
// start, with the reason).
func (c *Container) Exec(pr *spec.Process, o ExecOpts) (*Process, error) {
	switch st := c.Status(); st {
	case state.Running, state.Created:
	case state.Paused:
		if !o.IgnorePaused {
			return nil, fmt.Errorf("cannot exec in a paused container %s: resume it first, or pass --ignore-paused", c.State.ID)
		}
	default:
		return nil, fmt.Errorf("cannot exec in a %s container %s", st, c.State.ID)
	}
	// The namespaces are opened through the init's /proc entry, then the
	// init is checked to still be the recorded process: a recycled pid
	// would otherwise lead exec into a stranger's namespaces.
	h, err := proc.Open(c.State.Pid, c.State.PidStart)
	if err != nil {
		return nil, fmt.Errorf("cannot exec in container %s: its init is gone", c.State.ID)
	}
	defer h.Close()
	plan := &spec.Plan{OCIVersion: c.State.OCIVersion, Bundle: c.State.Bundle, Process: *pr}
	for _, ns := range c.State.Namespaces {
		plan.Namespaces = append(plan.Namespaces, spec.Namespace{
			Type: ns.Type,
			Flag: ns.Flag,
			Path: "/proc/" + strconv.Itoa(c.State.Pid) + "/ns/" + nsFile(ns.Type),
		})
	}
	s := &initSpawn{plan: plan, cfg: syncpipe.InitConfig{
		ID:          c.State.ID,
		PreserveFDs: o.PreserveFDs,
		ConsoleFD:   -1,
	}, trace: o.Trace, cinit: true}
	if len(o.SubCgroups) > 0 && c.cgroup() == nil {
		return nil, fmt.Errorf("--cgroup: container %s has no cgroup", c.State.ID)
	}
	if pr.Terminal {
		if o.ConsoleSocket == "" {
			return nil, fmt.Errorf("process.terminal is true but no --console-socket was given")
		}
		sock, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		defer sock.Close()
		s.console = sock
	}
	s.beforeClone = func() error {
		if !proc.Alive(c.State.Pid, c.State.PidStart) {
			return fmt.Errorf("container %s stopped while exec was joining it", c.State.ID)
		}
		return nil
	}
	join := func(int) error { return nil }
	if cg := c.cgroup(); cg != nil {
		if join, err = placeProcess(cg, s, o.SubCgroups); err != nil {
			return nil, err
		}
	}
	cmd, conn, err := s.start()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	o.Trace.Mark("process spawned")
	if err := s.sendPlan(conn, cmd); err != nil {
		killAndReap(cmd)
		return nil, err
	}
	if err := join(cmd.Pid); err != nil {
		killAndReap(cmd)
		return nil, err
	}
	if o.Gate != nil {
		<-o.Gate
	}
	if err := sendPlaced(conn); err != nil {
		killAndReap(cmd)
		return nil, err
	}
	o.Trace.Mark("process placed")
	if err := s.handshake(conn, cmd); err != nil {
		killAndReap(cmd)
		return nil, err
	}
	o.Trace.Mark("ready")
	return &Process{cmd: cmd, Pid: cmd.Pid}, nil
}

// Wait waits for the process and returns its exit status in the shell
// convention (128+signal when killed).
func (p *Process) Wait() (int, error) {
	ws, err := p.cmd.Wait()
	if err != nil {
		return -1, fmt.Errorf("wait for the exec'd process: %w", err)
	}
	return proc.ExitCode(ws), nil
}

// nsFile is the /proc/<pid>/ns entry of a namespace type.
func nsFile(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

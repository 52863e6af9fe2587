package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	"github.com/hull-oci/hull/libcontainer/hooks"
	"github.com/hull-oci/hull/libcontainer/proc"
	"github.com/hull-oci/hull/libcontainer/state"
)

// Load opens an existing container. With lock, the state directory stays
// locked until Close, serialising commands that change the container.
func Load(root, id string, lock bool) (*Container, error) {
	open := state.Peek
	if lock {
		open = state.Open
	}
	d, err := open(root, id)
	if err != nil {
		return nil, err
	}
	st, err := d.Load()
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Container{dir: d, State: st}, nil
}

// LoadForDelete is Load for `delete --force`: when state.json is damaged it
// falls back to recovery.json, which names the init and the cgroup, so that
// the container can still be undone.
func LoadForDelete(root, id string) (*Container, error) {
	d, err := state.Open(root, id)
	if err != nil {
		return nil, err
	}
	st, err := d.Load()
	if err != nil {
		if st, err = d.LoadRecovery(); err != nil {
			d.Close()
			return nil, err
		}
	}
	return &Container{dir: d, State: st}, nil
}

// Close releases the state directory.
func (c *Container) Close() { c.dir.Close() }

// Status is derived from the kernel at the moment of the call.
func (c *Container) Status() state.Status {
	st := c.dir.Status(c.State)
	if st == state.Running {
		if cg := c.cgroup(); cg != nil && cg.Paused() {
			return state.Paused
		}
	}
	return st
}

// Pause freezes every process of a running container.
func (c *Container) Pause() error {
	if st := c.Status(); st != state.Running {
		return c.wrongState("pause", st)
	}
	cg := c.cgroup()
	if cg == nil {
		return fmt.Errorf("cannot pause container %s: it has no cgroup", c.State.ID)
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if st := c.Status(); st != state.Paused {
		return c.wrongState("resume", st)
	}
	return c.cgroup().Thaw()
}

// Pids lists the container's processes (host pids).
func (c *Container) Pids() ([]int, error) {
	if cg := c.cgroup(); cg != nil {
		return cg.Pids()
	}
	return proc.InPidNamespaceOf(c.State.Pid)
}

// OCIState is the runtime-spec state document `hull state` prints.
func (c *Container) OCIState() specs.State {
	st := c.Status()
	pid := c.State.Pid
	if st == state.Stopped {
		pid = 0
	}
	return specs.State{
		Version:     c.State.OCIVersion,
		ID:          c.State.ID,
		Status:      specs.ContainerState(st),
		Pid:         pid,
		Bundle:      c.State.Bundle,
		Annotations: c.State.Annotations,
	}
}

func (c *Container) wrongState(verb string, st state.Status) error {
	return fmt.Errorf("cannot %s container %s: it is %s", verb, c.State.ID, st)
}

// Start releases the init waiting on the exec fifo.
func (c *Container) Start() error {
	if st := c.Status(); st != state.Created {
		return c.wrongState("start", st)
	}
	// O_NONBLOCK: if the init died, open fails with ENXIO instead of
	// waiting forever for a reader.
	f, err := os.OpenFile(c.dir.FifoPath(), os.O_WRONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENXIO) {
			return fmt.Errorf("cannot start container %s: its init process is gone", c.State.ID)
		}
		return fmt.Errorf("exec fifo: %w", err)
	}
	defer f.Close()
	if _, err := f.Write([]byte{0}); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	// The fifo's absence is what says "running" from now on.
	if err := os.Remove(c.dir.FifoPath()); err != nil {
		return err
	}
	if c.State.Hooks != nil {
		// The spec: a failing poststart hook is a warning; the container runs.
		if err := hooks.RunAll("hooks.poststart", c.State.Hooks.Poststart, c.OCIState()); err != nil {
			c.warn(err.Error())
		}
	}
	return nil
}

func (c *Container) warn(msg string) {
	if c.Warn != nil {
		c.Warn(msg)
	}
}

// Signal sends sig to the init, or with all to every process of the
// container.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	// With --all the cgroup is the list, even after the init exited: a
	// container in the host's pid namespace can outlive its init, and
	// containerd's shim then kills the rest with kill --all.
	if cg := c.cgroup(); all && cg != nil {
		return cg.Signal(sig)
	}
	st := c.Status()
	if st == state.Stopped {
		return fmt.Errorf("cannot kill container %s: it is stopped", c.State.ID)
	}
	if all {
		return c.signalAll(sig)
	}
	h, err := proc.Open(c.State.Pid, c.State.PidStart)
	if err != nil {
		return fmt.Errorf("cannot kill container %s: %w", c.State.ID, err)
	}
	defer h.Close()
	return h.Signal(sig)
}

// signalAll signals every process in the init's pid namespace, for a
// container recorded without a cgroup; one sharing the host's pid namespace
// gets only its init signalled.
func (c *Container) signalAll(sig unix.Signal) error {
	h, err := proc.Open(c.State.Pid, c.State.PidStart)
	if err != nil {
		return fmt.Errorf("cannot kill container %s: %w", c.State.ID, err)
	}
	defer h.Close()
	pids, err := proc.InPidNamespaceOf(c.State.Pid)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		// The init shares our pid namespace: "every process in it" would
		// be the whole host.
		return h.Signal(sig)
	}
	for _, pid := range pids {
		if pid == c.State.Pid {
			continue
		}
		unix.Kill(pid, sig)
	}
	return h.Signal(sig)
}

// killTimeout bounds the wait for a SIGKILLed init: a process stuck in the
// kernel (D state) must not hang delete forever.
const killTimeout = 10 * time.Second

// Delete removes a created or stopped container; with force it first kills
// a running one.
func (c *Container) Delete(force bool) error {
	st := c.Status()
	switch {
	case st == state.Stopped:
	case st == state.Created && c.State.Ready:
	case force:
	default:
		return fmt.Errorf("cannot delete container %s that is not stopped: %s (use --force)", c.State.ID, st)
	}
	if st != state.Stopped {
		if err := c.kill(); err != nil {
			return err
		}
	}
	// The init's death killed its pid namespace, but not processes that
	// share the host's or joined the cgroup otherwise: the cgroup is the
	// complete list.
	if cg := c.cgroup(); cg != nil {
		if err := cg.Destroy(); err != nil {
			return fmt.Errorf("delete %s: %w", c.State.ID, err)
		}
	}
	hookState := c.OCIState()
	if err := c.dir.Remove(); err != nil {
		return err
	}
	if c.State.Hooks != nil && c.State.Ready {
		if err := hooks.RunAll("hooks.poststop", c.State.Hooks.Poststop, hookState); err != nil {
			c.warn(err.Error())
		}
	}
	return nil
}

// kill SIGKILLs the init and waits, bounded, for it to exit. The other
// processes of its pid namespace die with it.
func (c *Container) kill() error {
	h, err := proc.Open(c.State.Pid, c.State.PidStart)
	if errors.Is(err, proc.ErrGone) {
		return nil
	}
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.Signal(unix.SIGKILL); err != nil && !errors.Is(err, proc.ErrGone) {
		return fmt.Errorf("kill the init of %s: %w", c.State.ID, err)
	}
	// Under the v1 freezer a frozen process cannot act on SIGKILL (the v2
	// one lets it die): a paused container is thawed once the signal is
	// pending, as runc does, or delete --force would wait for nothing.
	if cg := c.cgroup(); cg != nil && cg.Paused() {
		if err := cg.Thaw(); err != nil {
			return fmt.Errorf("thaw the paused %s so that its init can die: %w", c.State.ID, err)
		}
	}
	if c.init != nil {
		c.init.Wait()
		return nil
	}
	exited, err := h.Wait(int(killTimeout / time.Millisecond))
	if err != nil {
		return err
	}
	if !exited {
		return fmt.Errorf("the init of %s (pid %d) did not exit %s after SIGKILL: it may be stuck in the kernel; see /proc/%d/stack",
			c.State.ID, c.State.Pid, killTimeout, c.State.Pid)
	}
	return nil
}

// Wait waits for the init this process spawned (run) and returns its exit
// status as a shell reports it: the code, or 128+signal.
func (c *Container) Wait() (int, error) {
	if c.init == nil {
		return -1, errors.New("not the parent of this container's init")
	}
	ws, err := c.init.Wait()
	if err != nil {
		return -1, err
	}
	return proc.ExitCode(ws), nil
}

// InitPid is the pid of the init, for signal forwarding.
func (c *Container) InitPid() int { return c.State.Pid }

// Stats reads the container's cgroup accounting.
func (c *Container) Stats() (*cgroups.Stats, error) {
	cg := c.cgroup()
	if cg == nil {
		return nil, fmt.Errorf("container %s has no cgroup", c.State.ID)
	}
	return cg.Stats()
}

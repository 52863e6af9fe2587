// Package libcontainer is the container lifecycle seen from outside: create
// spawns and drives the init, the other verbs act on the recorded state.
package libcontainer

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cinit"
	"github.com/hull-oci/hull/libcontainer/fileutil"
	"github.com/hull-oci/hull/libcontainer/hooks"
	"github.com/hull-oci/hull/libcontainer/initproc"
	"github.com/hull-oci/hull/libcontainer/proc"
	"github.com/hull-oci/hull/libcontainer/rootfs"
	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/state"
	"github.com/hull-oci/hull/libcontainer/syncpipe"
	"github.com/hull-oci/hull/libcontainer/trace"
)

// CreateOpts are the inputs of create besides the plan.
type CreateOpts struct {
	// Warn receives what is accepted but not enforced.
	Warn func(string)
	// Trace, if set, gets the end of each phase (--debug).
	Trace         *trace.Trace
	Root          string
	ID            string
	PidFile       string
	ConsoleSocket string
	NoPivot       bool
	NoNewKeyring  bool
	PreserveFDs   int
	// SystemdCgroup (--systemd-cgroup): the cgroup is a systemd scope,
	// linux.cgroupsPath "slice:prefix:name".
	SystemdCgroup bool
	// Gate, if set, is waited on before anything is made (the state
	// directory first): the caller closes it once it may be (run's
	// signals are caught), which lets that work overlap with reading
	// the config.
	Gate <-chan struct{}
}

// Container is a container whose state directory is open (and locked when it
// was loaded for a change).
type Container struct {
	dir   *state.Dir
	State *state.State
	// init is set when this process spawned the init (create, run): only the
	// parent can reap it and learn its exit status.
	init *proc.Child
	// Warn receives what goes wrong without failing the command (a failing
	// poststart or poststop hook, as the spec asks).
	Warn func(string)
}

// Create builds the container and leaves its init waiting for start. On any
// failure everything made so far is undone, in reverse order.
func Create(p *spec.Plan, o CreateOpts) (c *Container, err error) {
	if o.Gate != nil {
		<-o.Gate
	}
	var tb *threadBuild
	if buildsOnThread(p, o.NoPivot) {
		// Its namespaces and the start of the rootfs overlap with the
		// state and the cgroups below.
		if tb, err = newThreadBuild(p, rootfs.Options{Console: p.Process.Terminal}, threadNamespaces(p)); err != nil {
			return nil, err
		}
		defer tb.close()
	}
	d, err := state.Create(o.Root, o.ID)
	if err != nil {
		return nil, err
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			d.Remove()
		}
	}()

	st := &state.State{
		OCIVersion:  p.OCIVersion,
		ID:          o.ID,
		Bundle:      p.Bundle,
		Rootfs:      p.Rootfs,
		Owner:       owner(),
		Annotations: p.Annotations,
		Hooks:       p.Hooks,
		Namespaces:  p.Namespaces,
		UIDMappings: p.UIDMappings,
		GIDMappings: p.GIDMappings,
	}
	if st.Process, err = json.Marshal(&p.Process); err != nil {
		return nil, err
	}
	devices := cgroupDevices(p)
	if err := st.SetCgroupSettings(p.Resources, devices); err != nil {
		return nil, err
	}
	// Where the cgroup goes is decided, and recorded with the rest, before
	// any side effect, so that delete --force can always find what to
	// undo, even after a SIGKILL of this process.
	if st.Cgroup, err = placeCgroup(p, o.ID, o.SystemdCgroup); err != nil {
		return nil, err
	}
	if err := d.Save(st); err != nil {
		return nil, err
	}
	o.Trace.Mark("state recorded")

	cg, warnings, err := createCgroup(st.Cgroup, p.Resources, devices, p.Annotations)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { cg.Destroy() })
	o.Trace.Mark("cgroup made and set")
	for _, w := range warnings {
		o.warn(w)
	}

	if err := unix.Mkfifo(d.FifoPath(), 0o600); err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	// O_RDWR never blocks on a fifo; the init reads from it until `start`
	// writes, and `start` gets ENXIO if the init is gone.
	fifo, err := os.OpenFile(d.FifoPath(), os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	defer fifo.Close()

	init := &initSpawn{plan: p, cfg: syncpipe.InitConfig{
		NoPivot:     o.NoPivot,
		PreserveFDs: o.PreserveFDs,
		UserNS:      p.HasNamespace(specs.UserNamespace),
		ConsoleFD:   -1,
		// The cgroup namespace's root is the cgroup its creator is in: the
		// init creates it itself once the parent has moved it into the
		// container's cgroup.
		UnshareCgroupNS: newNamespace(p, specs.CgroupNamespace),
	}}
	init.cfg.ID = o.ID
	if !o.NoNewKeyring {
		init.cfg.Keyring = o.ID
	}
	init.fifo = fifo
	init.trace = o.Trace
	if p.Process.Terminal {
		if o.ConsoleSocket == "" {
			return nil, errors.New("process.terminal is true but no --console-socket was given: pass one, or set terminal to false")
		}
		sock, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		defer sock.Close()
		init.console = sock
	}
	join, err := placeInit(cg, init, o.warn)
	if err != nil {
		return nil, err
	}
	if tb != nil {
		tb.console = init.console
		init.build = tb
	}
	cmd, conn, err := init.start()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	undo = append(undo, func() { killAndReap(cmd) })
	o.Trace.Mark("init spawned")
	if err := init.sendPlan(conn, cmd); err != nil {
		return nil, err
	}

	start, err := proc.StartTime(cmd.Pid)
	if err != nil {
		return nil, fmt.Errorf("init process: %w", err)
	}
	st.Pid, st.PidStart = cmd.Pid, start
	if err := d.Save(st); err != nil {
		return nil, err
	}
	if err := join(st.Pid); err != nil {
		return nil, err
	}
	o.Trace.Mark("init placed")
	if p.Process.OOMScoreAdj != nil {
		path := "/proc/" + strconv.Itoa(st.Pid) + "/oom_score_adj"
		if err := os.WriteFile(path, []byte(strconv.Itoa(*p.Process.OOMScoreAdj)), 0); err != nil {
			return nil, fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	if err := sendPlaced(conn); err != nil {
		return nil, err
	}
	if init.build != nil {
		err := init.build.wait(init.runtimeHooks)
		if errors.Is(err, errInitGone) {
			// The init failed and said why on the sync socket.
			err = init.handshake(conn, cmd)
		}
		if err != nil {
			return nil, err
		}
		o.Trace.Mark("filesystem built")
	}
	if err := init.handshake(conn, cmd); err != nil {
		return nil, err
	}
	c = &Container{dir: d, State: st, init: cmd}

	st.Ready = true
	st.Created = time.Now().UTC()
	if err := d.Save(st); err != nil {
		return nil, err
	}
	o.Trace.Mark("ready recorded")
	if o.PidFile != "" {
		if err := WritePidFile(o.PidFile, st.Pid); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (o *CreateOpts) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
	}
}

func newNamespace(p *spec.Plan, t specs.LinuxNamespaceType) bool {
	for _, ns := range p.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// WritePidFile writes the pid as bare digits with no newline, atomically:
// engines read it as soon as create returns.
func WritePidFile(path string, pid int) error {
	if err := fileutil.WriteAtomic(path, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("--pid-file: %w", err)
	}
	return nil
}

func dialConsole(path string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("--console-socket %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

func owner() string {
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		return u.Username
	}
	return strconv.Itoa(os.Getuid())
}

func killAndReap(cmd *proc.Child) {
	cmd.Kill()
	cmd.Wait()
}

// initSpawn starts the init and drives the handshake with it.
type initSpawn struct {
	plan    *spec.Plan
	cfg     syncpipe.InitConfig
	fifo    *os.File
	console *os.File
	// threadJoins are existing namespaces the parent joins on a dedicated
	// thread just before the clone, so the init inherits them. The kernel
	// allows these kinds in a multi-threaded process, and joining them
	// before the clone is what lets a new user namespace coexist with a
	// joined host-owned one (the init could not join it from inside its
	// new user namespace). The pid namespace must be joined this way:
	// setns(CLONE_NEWPID) only moves children, and the init must be one.
	threadJoins []threadJoin
	trace       *trace.Trace
	// cloneInto is a cgroup2 directory the init is cloned into.
	cloneInto string
	// beforeClone, if set, runs once the namespaces to join are open and
	// may veto the clone (exec checks that they belong to the container).
	beforeClone func() error
	// build, if set, builds the filesystem on a parent thread, and the
	// init is the C code alone (create), which gets buildPlan.
	build     *threadBuild
	buildPlan *cinit.Build
	// cinit: the whole init is the C constructor (exec), which gets
	// the process as cinit's encoded plan rather than the JSON one.
	cinit bool
}

type threadJoin struct {
	f     *os.File
	flag  int
	field string
}

// joinOnThread are the namespace kinds setns accepts in a multi-threaded
// process; mount, user and time need a single-threaded one.
const joinOnThread = unix.CLONE_NEWNET | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP | unix.CLONE_NEWPID

// start spawns the init, which waits for sendPlan. New namespaces come from clone flags; existing
// ones are joined before the clone on a parent thread (threadJoins) or, for
// mount, user and time, by the cinit constructor in the init before its
// Go runtime starts.
func (s *initSpawn) start() (*proc.Child, *syncpipe.Conn, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("sync socket: %w", err)
	}
	parent := os.NewFile(uintptr(pair[0]), "sync-parent")
	child := os.NewFile(uintptr(pair[1]), "sync-child")
	defer child.Close()

	var extra []*os.File
	for fd := 3; fd < 3+s.cfg.PreserveFDs; fd++ {
		extra = append(extra, os.NewFile(uintptr(fd), "preserved"))
	}
	add := func(f *os.File) int {
		extra = append(extra, f)
		return 2 + len(extra)
	}
	syncFD := add(child)
	s.cfg.FifoFD = -1
	if s.fifo != nil {
		s.cfg.FifoFD = add(s.fifo)
	}
	var buildFD, rootFD int
	if s.build != nil {
		// The building thread puts the rootfs handle in its place.
		buildFD, rootFD = add(s.build.child), add(nil)
		s.build.rootIndex = rootFD
	} else if s.console != nil {
		s.cfg.ConsoleFD = add(s.console)
	}

	attr := &syscall.SysProcAttr{}
	var setns []string
	for i, ns := range s.plan.Namespaces {
		if ns.Path == "" {
			attr.Cloneflags |= ns.Flag
			continue
		}
		f, err := os.Open(ns.Path)
		if err != nil {
			parent.Close()
			return nil, nil, fmt.Errorf("linux.namespaces[%d].path: %w", i, err)
		}
		defer f.Close()
		if ns.Flag&joinOnThread != 0 {
			s.threadJoins = append(s.threadJoins, threadJoin{f, int(ns.Flag), fmt.Sprintf("linux.namespaces[%d] (%s %s)", i, ns.Type, ns.Path)})
			continue
		}
		setns = append(setns, fmt.Sprintf("%d:%s", add(f), ns.Type))
	}
	if s.beforeClone != nil {
		if err := s.beforeClone(); err != nil {
			parent.Close()
			return nil, nil, err
		}
	}
	if attr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		attr.UidMappings = idMap(s.plan.UIDMappings)
		attr.GidMappings = idMap(s.plan.GIDMappings)
		attr.GidMappingsEnableSetgroups = true
		// The clone leaves the init with the parent's uid, which is not
		// root in the new namespace: exec would drop every capability.
		// Becoming the namespace's root after the maps are written keeps
		// them.
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	// The init runs one goroutine on one locked thread and allocates
	// little: one P and no collector spare it thread starts and GC work.
	env := []string{initproc.SyncEnv + "=" + strconv.Itoa(syncFD), "GOMAXPROCS=1", "GOGC=off"}
	if len(setns) > 0 {
		env = append(env, cinit.Env+"="+strings.Join(setns, ","))
	}
	if s.cinit {
		env = append(env, cinit.ModeEnv+"="+cinit.ModeExec)
	}
	if s.cfg.UnshareCgroupNS {
		attr.Cloneflags &^= unix.CLONE_NEWCGROUP
	}
	if s.build != nil {
		env = append(env, cinit.ModeEnv+"="+cinit.ModeCreate)
		attr.Cloneflags &^= s.build.unshare
		after, name := rootfs.AfterPropagation(s.plan.RootPropagation)
		s.buildPlan = &cinit.Build{
			FdSock: buildFD, Root: rootFD, Fifo: s.cfg.FifoFD, Rootfs: s.plan.Rootfs,
			UnshareCgroupNS: s.cfg.UnshareCgroupNS, Keyring: s.cfg.Keyring,
			AfterPropagation: after, AfterName: name, Terminal: s.plan.Process.Terminal,
		}
	}
	if s.cloneInto != "" {
		fd, err := unix.Open(s.cloneInto, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			parent.Close()
			return nil, nil, fmt.Errorf("cgroup %s: %w", s.cloneInto, err)
		}
		defer unix.Close(fd)
		attr.UseCgroupFD, attr.CgroupFD = true, fd
	}
	files := append([]*os.File{os.Stdin, os.Stdout, os.Stderr}, extra...)
	cmd, err := s.spawn(env, files, attr)
	if err != nil {
		parent.Close()
		return nil, nil, fmt.Errorf("start the init process: %w", err)
	}
	return cmd, syncpipe.New(parent), nil
}

// sendPlan gives the init its orders as soon as it exists, so that it
// decodes them while the parent places it (cgroups, oom_score_adj, the
// state record); sendPlaced then lets it go on.
func (s *initSpawn) sendPlan(conn *syncpipe.Conn, cmd *proc.Child) error {
	s.cfg.Pid = cmd.Pid
	if s.cinit || s.buildPlan != nil {
		var b []byte
		if s.buildPlan != nil {
			b = cinit.EncodeBuild(&s.plan.Process, s.buildPlan, 3+s.cfg.PreserveFDs)
		} else {
			b = cinit.Encode(&s.plan.Process, s.cfg.ConsoleFD, 3+s.cfg.PreserveFDs)
		}
		msg := append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
		if _, err := conn.File().Write(msg); err != nil {
			return fmt.Errorf("send the plan to the init: %w", err)
		}
		return nil
	}
	// The cgroup is the parent's business: the init neither reads the
	// resources nor should pay for decoding them.
	p := *s.plan
	p.Resources, p.CgroupsPath = nil, ""
	if err := conn.Send(&syncpipe.Msg{Type: syncpipe.TypePlan, Plan: &p, Init: &s.cfg}); err != nil {
		return fmt.Errorf("send the plan to the init: %w", err)
	}
	return nil
}

func sendPlaced(conn *syncpipe.Conn) error {
	if err := conn.Send(&syncpipe.Msg{Type: syncpipe.TypePlaced}); err != nil {
		return fmt.Errorf("tell the init it is placed: %w", err)
	}
	return nil
}

// spawn re-executes hull as the init: /proc/self/exe, so no path can have
// been swapped for another binary meanwhile.
func (s *initSpawn) spawn(env []string, files []*os.File, attr *syscall.SysProcAttr) (*proc.Child, error) {
	start := func(files []*os.File, attr *syscall.SysProcAttr) (*proc.Child, error) {
		return proc.Spawn("/proc/self/exe", []string{"hull", "init"}, env, files, attr)
	}
	if s.build != nil {
		return s.build.spawn(spawnRequest{s.threadJoins, start, files, attr})
	}
	if len(s.threadJoins) == 0 {
		return start(files, attr)
	}
	type result struct {
		c   *proc.Child
		err error
	}
	res := make(chan result, 1)
	go func() {
		// The thread is left locked, so the Go runtime discards it when
		// this goroutine ends instead of reusing a thread that sits in
		// the container's namespaces.
		runtime.LockOSThread()
		for _, j := range s.threadJoins {
			if err := unix.Setns(int(j.f.Fd()), j.flag); err != nil {
				res <- result{err: fmt.Errorf("%s: setns: %w", j.field, err)}
				return
			}
		}
		c, err := start(files, attr)
		res <- result{c, err}
	}()
	r := <-res
	return r.c, r.err
}

// handshake waits for the init to report ready or an error. EOF means the
// init died: its exit status is the best we can report.
func (s *initSpawn) handshake(conn *syncpipe.Conn, cmd *proc.Child) error {
	for {
		m, err := conn.Recv()
		if err != nil {
			if errors.Is(err, syncpipe.ErrClosed) {
				return fmt.Errorf("the container's init exited during setup (%s); its output above may say why", describeExit(cmd))
			}
			return err
		}
		switch m.Type {
		case syncpipe.TypeReady:
			s.trace.Add(m.Marks)
			return nil
		case syncpipe.TypeError:
			return errors.New(m.Msg)
		case syncpipe.TypeHooks:
			if err := s.runtimeHooks(); err != nil {
				return err
			}
			if err := conn.Send(&syncpipe.Msg{Type: syncpipe.TypeResume}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unexpected message %q from the init", m.Type)
		}
	}
}

// runtimeHooks runs, in the runtime's namespaces, the hooks the spec puts
// after the container's mounts and before pivot_root: prestart
// (deprecated) then createRuntime, in runc's order.
func (s *initSpawn) runtimeHooks() error {
	h := s.plan.Hooks
	if h == nil {
		return nil
	}
	st := specs.State{Version: s.plan.OCIVersion, ID: s.cfg.ID, Status: specs.StateCreating,
		Pid: s.cfg.Pid, Bundle: s.plan.Bundle, Annotations: s.plan.Annotations}
	if err := hooks.Run("hooks.prestart", h.Prestart, st); err != nil {
		return err
	}
	return hooks.Run("hooks.createRuntime", h.CreateRuntime, st)
}

// describeExit reaps a child that died and words its end as os/exec does.
func describeExit(c *proc.Child) string {
	ws, err := c.Wait()
	switch {
	case err != nil:
		return err.Error()
	case ws.Signaled():
		return "signal: " + ws.Signal().String()
	}
	return "exit status " + strconv.Itoa(ws.ExitStatus())
}

func idMap(m []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(m))
	for i, e := range m {
		out[i] = syscall.SysProcIDMap{ContainerID: int(e.ContainerID), HostID: int(e.HostID), Size: int(e.Size)}
	}
	return out
}

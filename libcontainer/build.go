package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cinit"
	"github.com/hull-oci/hull/libcontainer/initproc"
	"github.com/hull-oci/hull/libcontainer/proc"
	"github.com/hull-oci/hull/libcontainer/rootfs"
	"github.com/hull-oci/hull/libcontainer/spec"
)

// threadBuild builds the container's root filesystem in the parent, on a
// thread of its own, so that the init can be the C code alone and no second
// Go runtime starts (design section 4, option 4). A thread of a
// multi-threaded process may unshare the mount, UTS, IPC and network
// namespaces (not the user one), and a child cloned from it inherits them:
// the thread makes the container's namespaces, builds the filesystem in
// them with the same rootfs code the Go init uses, and clones the init. What
// needs the init's own pid and cgroup namespaces (a procfs, a cgroupfs in a
// new cgroup namespace) the init makes as a filesystem context and hands
// over by fd (libcontainer/cinit/create.c); the init then pivots into the
// finished root, confines itself and execs.
//
// The thread stays locked until its goroutine ends, so the Go runtime
// discards it rather than run anything else in the container's namespaces.
// One difference with an init that mounts for itself: the kernel memory of
// the mounts (superblocks, the root inodes of tmpfs and the like) is
// charged to hull's own cgroup rather than the container's; what the
// container then writes is its own.
type threadBuild struct {
	p       *spec.Plan
	opts    rootfs.Options
	console *os.File // the --console-socket, for process.terminal, set before spawn

	sock  *os.File // the parent's end of the SOCK_SEQPACKET socketpair
	child *os.File // the init's end
	// unshare are the namespaces the thread makes; the init inherits them.
	unshare uintptr
	// rootIndex is the place of the rootfs handle among the init's files.
	rootIndex int
	pid       int // the init's

	request chan spawnRequest
	spawned chan spawnResult
	placed  chan struct{}
	mounted chan error
	hooked  chan struct{}
	built   chan error
	abort   chan struct{}
}

type spawnResult struct {
	child *proc.Child
	err   error
}

// errInitGone means the init closed its end: it failed, and said why on the
// sync socket.
var errInitGone = errors.New("the init exited")

// buildsOnThread says whether the parent can build p's filesystem: not
// with a user namespace (the mounts must then belong to it, and a thread
// cannot enter one), a time namespace, a mount namespace to join, or hooks
// that run in the container (createContainer, startContainer), which stay
// the Go init's; nor with --no-pivot.
func buildsOnThread(p *spec.Plan, noPivot bool) bool {
	if noPivot || (p.Hooks != nil && (len(p.Hooks.CreateContainer) > 0 || len(p.Hooks.StartContainer) > 0)) {
		return false
	}
	newMount := false
	for _, ns := range p.Namespaces {
		switch ns.Type {
		case specs.UserNamespace, specs.TimeNamespace:
			return false
		case specs.MountNamespace:
			if ns.Path != "" {
				return false
			}
			newMount = true
		}
	}
	return newMount
}

// threadNamespaces are the new namespaces of p the building thread makes.
func threadNamespaces(p *spec.Plan) uintptr {
	var flags uintptr
	for _, ns := range p.Namespaces {
		if ns.Path == "" && ns.Flag&(unix.CLONE_NEWNS|unix.CLONE_NEWUTS|unix.CLONE_NEWIPC|unix.CLONE_NEWNET) != 0 {
			flags |= ns.Flag
		}
	}
	return flags
}

// newThreadBuild starts the building thread at once: it makes the
// namespaces and begins the rootfs while the caller records the state and
// makes the cgroups, then waits for spawn. Nothing it makes outlives it.
func newThreadBuild(p *spec.Plan, opts rootfs.Options, unshare uintptr) (*threadBuild, error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("build socket: %w", err)
	}
	b := &threadBuild{
		p: p, opts: opts, unshare: unshare,
		sock:    os.NewFile(uintptr(pair[0]), "build-parent"),
		child:   os.NewFile(uintptr(pair[1]), "build-child"),
		request: make(chan spawnRequest),
		spawned: make(chan spawnResult, 1),
		placed:  make(chan struct{}),
		mounted: make(chan error, 1),
		hooked:  make(chan struct{}),
		built:   make(chan error, 1),
		abort:   make(chan struct{}),
	}
	b.opts.Context, b.opts.Placed = b.context, b.waitPlaced
	go b.run()
	return b, nil
}

// spawnRequest is how to clone the init: the namespaces to join first,
// the files (the rootfs handle goes at rootIndex) and attributes.
type spawnRequest struct {
	joins []threadJoin
	start func(files []*os.File, attr *syscall.SysProcAttr) (*proc.Child, error)
	files []*os.File
	attr  *syscall.SysProcAttr
}

// spawn has the building thread clone the init; it returns once the init
// exists.
func (b *threadBuild) spawn(r spawnRequest) (*proc.Child, error) {
	b.request <- r
	res := <-b.spawned
	b.child.Close()
	return res.child, res.err
}

func (b *threadBuild) run() {
	runtime.LockOSThread()
	var rt *rootfs.Root
	err := unix.Unshare(int(b.unshare))
	if err != nil {
		err = fmt.Errorf("linux.namespaces: make the container's namespaces: %w", err)
	} else {
		rt, err = rootfs.Begin(b.p, b.opts)
	}
	var r spawnRequest
	select {
	case r = <-b.request:
	case <-b.abort:
		if rt != nil {
			rt.Close()
		}
		return
	}
	var child *proc.Child
	if err == nil {
		defer rt.Close()
		child, err = b.clone(rt, r)
	}
	b.spawned <- spawnResult{child, err}
	if err != nil {
		return
	}
	b.pid = child.Pid
	// The mounts go on while the parent places the init; only a cgroup
	// mount waits for that (Options.Placed, context).
	b.mounted <- rt.Mounts()
	select {
	case <-b.hooked:
	case <-b.abort:
		return
	}
	b.built <- b.finish(rt)
}

func (b *threadBuild) clone(rt *rootfs.Root, r spawnRequest) (*proc.Child, error) {
	for _, j := range r.joins {
		if err := unix.Setns(int(j.f.Fd()), j.flag); err != nil {
			return nil, fmt.Errorf("%s: setns: %w", j.field, err)
		}
	}
	r.files[b.rootIndex] = rt.Handle()
	return r.start(r.files, r.attr)
}

// finish is the rest of the container's filesystem and namespaced
// settings, in the Go init's order: the terminal, the names, the sysctls,
// then the read-only and masked paths; then the init may pivot.
func (b *threadBuild) finish(rt *rootfs.Root) error {
	p := b.p
	if p.Process.Terminal {
		if err := b.terminal(rt); err != nil {
			return err
		}
	}
	if err := initproc.NamesAndSysctls(p); err != nil {
		return err
	}
	if err := rootfs.FinishAt(p, rt.Handle()); err != nil {
		return err
	}
	return b.send("built", nil)
}

// terminal makes the pty in the container's devpts, sends its master to
// the console socket, mounts the peer on /dev/console and hands it to the
// init for its controlling terminal.
func (b *threadBuild) terminal(rt *rootfs.Root) error {
	ptmx, err := rt.OpenPtmx()
	if err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	defer ptmx.Close()
	var rows, cols uint32
	if sz := b.p.Process.ConsoleSize; sz != nil {
		rows, cols = uint32(sz.Height), uint32(sz.Width)
	}
	peer, err := cinit.Pty(ptmx, b.console, rows, cols)
	if err != nil {
		return err
	}
	defer peer.Close()
	if err := rootfs.MountConsoleAt(rt.Handle(), peer); err != nil {
		return err
	}
	return b.send("peer", peer)
}

// waitPlaced blocks until the parent has put the init in its cgroups and
// returns the init's pid.
func (b *threadBuild) waitPlaced() (int, error) {
	select {
	case <-b.placed:
		return b.pid, nil
	case <-b.abort:
		return 0, errors.New("create was abandoned")
	}
}

// context asks the init for a filesystem context of fsType, made in its
// pid and cgroup namespaces: a cgroupfs only once the init is in its
// cgroups (the init makes its cgroup namespace then).
func (b *threadBuild) context(fsType string) (*os.File, error) {
	if strings.HasPrefix(fsType, "cgroup") {
		if _, err := b.waitPlaced(); err != nil {
			return nil, err
		}
	}
	if err := b.send("ctx "+fsType, nil); err != nil {
		return nil, err
	}
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(b.sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n == 0 {
		return nil, errInitGone
	}
	if buf[0] != 'F' {
		return nil, errors.New(string(buf[1:n]))
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
			return os.NewFile(uintptr(fds[0]), fsType+"-context"), nil
		}
	}
	return nil, fmt.Errorf("no %s context in the init's answer", fsType)
}

func (b *threadBuild) send(msg string, f *os.File) error {
	var rights []byte
	if f != nil {
		rights = unix.UnixRights(int(f.Fd()))
	}
	if err := unix.Sendmsg(int(b.sock.Fd()), []byte(msg), rights, nil, unix.MSG_NOSIGNAL); err != nil {
		return errInitGone
	}
	return nil
}

// wait runs the parent's side of the build once the init is placed: the
// thread mounts, the parent runs the hooks that belong between the mounts
// and pivot_root (hooks, in the runtime's namespaces), the thread
// finishes.
func (b *threadBuild) wait(hooks func() error) error {
	close(b.placed)
	if err := <-b.mounted; err != nil {
		return err
	}
	if err := hooks(); err != nil {
		return err
	}
	close(b.hooked)
	return <-b.built
}

// close ends the thread if it still waits, and closes the socket.
func (b *threadBuild) close() {
	close(b.abort)
	b.sock.Close()
	b.child.Close() // already closed once the init exists
}

// Package rootfs is everything the container's init does to the filesystem:
// mounts, device nodes, /dev symlinks, pivot_root, sysctls, read-only and
// masked paths, and the console mount.
//
// The init runs as root in the container's new mount namespace. Every path
// that comes from the config or the image is resolved inside the rootfs by
// file descriptor and mounted by descriptor, so no symlink in the image can
// point a mount outside it (CVE-2021-30465, CVE-2024-45310), and no file of
// the image is trusted as /dev/null, /proc or a console target
// (CVE-2025-31133, CVE-2019-16884, CVE-2025-52881, CVE-2025-52565).
//
// The calls come in this order: Prepare, then (after the init's own steps
// such as the hostname) MountConsole when process.terminal is set,
// WriteSysctls, and Finish.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// Options are the facts about the container that change how its rootfs is
// built but are not in the plan.
type Options struct {
	// NoPivot moves the rootfs onto "/" and chroots instead of pivot_root
	// (--no-pivot, for rootfs on ramfs where pivot_root is impossible).
	NoPivot bool
	// UserNS means the init is in a new user namespace, where mknod of a
	// device is refused: devices are bind-mounted from the host instead.
	UserNS bool
	// Console means process.terminal: /dev/console must exist as the
	// mount point MountConsole later puts the pty on.
	Console bool
	// BeforePivot, when set, runs after every mount and device is in place
	// and just before the root is switched, with the working directory at
	// the rootfs: where the prestart/createRuntime hooks must have run and
	// the createContainer hooks run.
	BeforePivot func() error
	// Context, when set, makes the filesystem context of a procfs, or of a
	// cgroupfs in a new cgroup namespace, in the namespaces of the process
	// that becomes the container: the caller is then a thread of the
	// parent (Begin), which shares the container's mount, network, IPC and
	// UTS namespaces but not its pid and cgroup ones. The mount is made
	// from the context.
	Context func(fsType string) (*os.File, error)
	// Placed, when set, waits until the container's process is in its
	// cgroups and returns its pid: the v1 view of /sys/fs/cgroup binds that
	// process's cgroups (by default the caller's).
	Placed func() (int, error)
}

// preparer carries what every step of Prepare needs.
type preparer struct {
	p      *spec.Plan
	o      Options
	rootfs string   // host path of the rootfs, clean
	root   *os.File // O_PATH handle to the rootfs's own bind mount
	cg     *cgroupHost
}

// Root is a root filesystem being built: root.path bind-mounted onto itself
// in the caller's mount namespace, and an O_PATH handle to it.
type Root struct {
	r     *preparer
	after uintptr
}

// Begin makes "/" recursively slave (or per linux.rootfsPropagation) so
// nothing leaks to the host, gives the mount holding the rootfs a
// non-shared propagation, and bind-mounts the rootfs onto itself.
func Begin(p *spec.Plan, o Options) (*Root, error) {
	if p.Rootfs == "" || !path.IsAbs(p.Rootfs) {
		return nil, fmt.Errorf("root.path %q: must be an absolute path", p.Rootfs)
	}
	r := &preparer{p: p, o: o, rootfs: path.Clean(p.Rootfs)}
	// Until pivot_root, open files are named to mount(2) and read back
	// through /proc/self/fd: it must be a real procfs.
	var sfs unix.Statfs_t
	if err := unix.Statfs("/proc/self/fd", &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		return nil, errors.New("/proc of the runtime's mount namespace is not a procfs: mount one there")
	}
	first, parent, after := rootPropagation(p.RootPropagation)
	if err := unix.Mount("", "/", "", first, ""); err != nil {
		return nil, fmt.Errorf("linux.rootfsPropagation: make / %s: %w", propName(first), sysErr("mount", err))
	}
	if err := makeParentMountPrivate(r.rootfs, parent); err != nil {
		return nil, fmt.Errorf("linux.rootfsPropagation: %w", err)
	}
	if err := unix.Mount(r.rootfs, r.rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return nil, fmt.Errorf("root.path %q: bind-mount onto itself: %w", r.rootfs, sysErr("mount", err))
	}
	root, err := os.OpenFile(r.rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("root.path: %w", err)
	}
	r.root = root
	return &Root{r: r, after: after}, nil
}

// Handle is the O_PATH handle to the rootfs.
func (rt *Root) Handle() *os.File { return rt.r.root }

// Close closes the handle.
func (rt *Root) Close() { rt.r.root.Close() }

// AfterPropagation is the propagation linux.rootfsPropagation (prop) asks
// of "/" once the root is switched (0: none), and its name for messages.
func AfterPropagation(prop uintptr) (uintptr, string) {
	_, _, after := rootPropagation(prop)
	return after, propName(after)
}

// Mounts performs every mounts[] entry in order, then populates /dev
// (unless /dev is a bind mount).
func (rt *Root) Mounts() error {
	r := rt.r
	for i := range r.p.Mounts {
		if err := r.mount(&r.p.Mounts[i]); err != nil {
			return mountError(i, &r.p.Mounts[i], err)
		}
	}
	if needsDevSetup(r.p) {
		return r.setupDev()
	}
	return nil
}

// Prepare builds the container's filesystem and switches the init's root to
// it: Begin, Mounts, Options.BeforePivot (run with the working directory at
// the rootfs), then pivot_root (or MS_MOVE and chroot with NoPivot). The
// working directory is "/" of the container afterwards.
func Prepare(p *spec.Plan, o Options) error {
	rt, err := Begin(p, o)
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.Mounts(); err != nil {
		return err
	}
	r := rt.r
	if err := unix.Fchdir(int(r.root.Fd())); err != nil {
		return fmt.Errorf("root.path %q: chdir: %w", r.rootfs, err)
	}
	if o.BeforePivot != nil {
		if err := o.BeforePivot(); err != nil {
			return err
		}
	}
	if o.NoPivot {
		err = moveRoot(r.rootfs)
	} else {
		err = pivotRoot(r.root)
	}
	if err != nil {
		return fmt.Errorf("root.path %q: switch root: %w", r.rootfs, err)
	}
	if rt.after != 0 {
		if err := unix.Mount("", "/", "", rt.after, ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation: make / %s: %w", propName(rt.after), sysErr("mount", err))
		}
	}
	return nil
}

// makeParentMountPrivate gives the mount that holds the rootfs a
// non-shared propagation: pivot_root refuses a shared parent, and a bind of
// the rootfs under a shared parent would show up on the host.
func makeParentMountPrivate(dir string, flag uintptr) error {
	for {
		err := unix.Mount("", dir, "", flag, "")
		if err == nil {
			return nil
		}
		// EINVAL: dir is not a mount point; its mount is further up.
		if err != unix.EINVAL || dir == "/" {
			return fmt.Errorf("make the mount holding the rootfs (%s) %s: %w", dir, propName(flag), sysErr("mount", err))
		}
		dir = path.Dir(dir)
	}
}

func propName(flag uintptr) string {
	name := "private"
	switch {
	case flag&unix.MS_SHARED != 0:
		name = "shared"
	case flag&unix.MS_SLAVE != 0:
		name = "slave"
	case flag&unix.MS_UNBINDABLE != 0:
		name = "unbindable"
	}
	if flag&unix.MS_REC != 0 {
		name = "r" + name
	}
	return name
}

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
}

// preparer carries what every step of Prepare needs.
type preparer struct {
	p      *spec.Plan
	o      Options
	rootfs string   // host path of the rootfs, clean
	root   *os.File // O_PATH handle to the rootfs's own bind mount
	cg     *cgroupHost
}

// Prepare builds the container's filesystem and switches the init's root to
// it. In order: "/" is made recursively slave (or per
// linux.rootfsPropagation) so nothing leaks to the host, the rootfs is
// bind-mounted onto itself, every mounts[] entry is mounted in order, /dev
// is populated (unless /dev is a bind mount), Options.BeforePivot runs, and
// the root is switched with pivot_root (or MS_MOVE and chroot with
// NoPivot). The working directory is "/" of the container afterwards.
func Prepare(p *spec.Plan, o Options) error {
	if p.Rootfs == "" || !path.IsAbs(p.Rootfs) {
		return fmt.Errorf("root.path %q: must be an absolute path", p.Rootfs)
	}
	r := &preparer{p: p, o: o, rootfs: path.Clean(p.Rootfs)}
	// Until pivot_root, open files are named to mount(2) and read back
	// through /proc/self/fd: it must be a real procfs.
	var sfs unix.Statfs_t
	if err := unix.Statfs("/proc/self/fd", &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		return errors.New("/proc of the runtime's mount namespace is not a procfs: mount one there")
	}
	first, parent, after := rootPropagation(p.RootPropagation)
	if err := unix.Mount("", "/", "", first, ""); err != nil {
		return fmt.Errorf("linux.rootfsPropagation: make / %s: %w", propName(first), sysErr("mount", err))
	}
	if err := makeParentMountPrivate(r.rootfs, parent); err != nil {
		return fmt.Errorf("linux.rootfsPropagation: %w", err)
	}
	if err := unix.Mount(r.rootfs, r.rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("root.path %q: bind-mount onto itself: %w", r.rootfs, sysErr("mount", err))
	}
	root, err := os.OpenFile(r.rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("root.path: %w", err)
	}
	defer root.Close()
	r.root = root

	for i := range p.Mounts {
		if err := r.mount(&p.Mounts[i]); err != nil {
			return mountError(i, &p.Mounts[i], err)
		}
	}
	if needsDevSetup(p) {
		if err := r.setupDev(); err != nil {
			return err
		}
	}
	if err := unix.Fchdir(int(root.Fd())); err != nil {
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
		err = pivotRoot(root)
	}
	if err != nil {
		return fmt.Errorf("root.path %q: switch root: %w", r.rootfs, err)
	}
	if after != 0 {
		if err := unix.Mount("", "/", "", after, ""); err != nil {
			return fmt.Errorf("linux.rootfsPropagation: make / %s: %w", propName(after), sysErr("mount", err))
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

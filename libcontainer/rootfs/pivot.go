package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// pivotRoot makes the rootfs (root, the cwd) the root and drops the old
// one. pivot_root(".", ".") stacks the old root on top of the new one, so
// no directory has to be made in the image for it; the old root is then
// reached through a handle and lazily unmounted.
func pivotRoot(root *os.File) error {
	oldRoot, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer oldRoot.Close()
	if err := unix.Fchdir(int(root.Fd())); err != nil {
		return sysErr("chdir", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return sysErr("pivot_root", err)
	}
	// The kernel leaves the cwd somewhere unspecified; stand on the old
	// root explicitly.
	if err := unix.Fchdir(int(oldRoot.Fd())); err != nil {
		return sysErr("chdir to the old root", err)
	}
	// rslave, not rprivate: the unmount must not reach the host, while the
	// host's unmounts still reach us (a private copy would keep host
	// mounts busy, e.g. devicemapper's).
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make the old root rslave: %w", sysErr("mount", err))
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", sysErr("umount", err))
	}
	return sysErr("chdir /", unix.Chdir("/"))
}

// moveRoot is --no-pivot: the rootfs mount is moved onto "/" and chrooted
// into. The old root stays in the mount namespace, under the chroot, so
// first every full procfs and sysfs of the host is removed from it: the
// kernel allows a new procfs or sysfs mount (which a process in the
// container could make) only when a full one is visible, and the host's
// would be.
func moveRoot(rootfs string) error {
	mounts, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) {
		inside := m.Mountpoint == rootfs || strings.HasPrefix(m.Mountpoint, rootfs+"/")
		full := m.Root == "/" && (m.FSType == "proc" || m.FSType == "sysfs")
		return !full || inside, false
	})
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := unix.Mount("", m.Mountpoint, "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // under a mount already removed
			}
			return fmt.Errorf("make %s rslave: %w", m.Mountpoint, sysErr("mount", err))
		}
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil {
			if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
				return fmt.Errorf("unmount the host's %s: %w", m.Mountpoint, sysErr("umount", err))
			}
			// A locked mount (user namespace) cannot go; cover it.
			if err := unix.Mount("tmpfs", m.Mountpoint, "tmpfs", unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("cover the host's %s: %w", m.Mountpoint, sysErr("mount", err))
			}
		}
	}
	// The cwd is the rootfs mount's root (Prepare put it there).
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move the rootfs onto /: %w", sysErr("mount", err))
	}
	if err := unix.Chroot("."); err != nil {
		return sysErr("chroot", err)
	}
	return sysErr("chdir /", unix.Chdir("/"))
}

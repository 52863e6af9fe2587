package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// After pivot_root there is no trustworthy path to name a mount target by:
// /proc is the container's and may be anything the image made it. So the
// steps that run then (Finish, MountConsole) use the fd-based mount API:
// the source and target are the very files that were checked, with no
// path in between. It needs Linux 5.12 (mount_setattr).

// kernelHint makes ENOSYS from the new mount API say what is missing.
func kernelHint(op string, err error) error {
	if errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("%w (needs Linux 5.12 or later)", sysErr(op, err))
	}
	return sysErr(op, err)
}

// cloneMount makes a detached copy of the mount at f (the bind-mount
// source), rooted at f's own dentry.
func cloneMount(f *os.File, recursive bool) (*os.File, error) {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(int(f.Fd()), "", uint(flags))
	if err != nil {
		return nil, kernelHint("open_tree", err)
	}
	return os.NewFile(uintptr(fd), "detached:"+f.Name()), nil
}

// setMountAttr adds MOUNT_ATTR_* flags to the mount at f, keeping the others.
func setMountAttr(f *os.File, set uint64, recursive bool) error {
	flags := unix.AT_EMPTY_PATH
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	err := unix.MountSetattr(int(f.Fd()), "", uint(flags), &unix.MountAttr{Attr_set: set})
	return kernelHint("mount_setattr", err)
}

// attachMount moves the detached mount m onto the target dst.
func attachMount(m, dst *os.File) error {
	err := unix.MoveMount(int(m.Fd()), "", int(dst.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	return kernelHint("move_mount", err)
}

// bindFd bind-mounts the file src onto dst, both by fd, optionally adding
// MOUNT_ATTR_* flags to the copy before it becomes visible.
func bindFd(src, dst *os.File, recursive bool, attrs uint64) error {
	tree, err := cloneMount(src, recursive)
	if err != nil {
		return err
	}
	defer tree.Close()
	if attrs != 0 {
		if err := setMountAttr(tree, attrs, recursive); err != nil {
			return err
		}
	}
	return attachMount(tree, dst)
}

// emptyReadonlyTmpfs returns a detached, read-only, empty tmpfs, as small
// as the kernel allows: what a masked directory shows.
func emptyReadonlyTmpfs() (*os.File, error) {
	ctx, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, kernelHint("fsopen tmpfs", err)
	}
	defer unix.Close(ctx)
	if err := unix.FsconfigSetString(ctx, "nr_blocks", "1"); err != nil {
		return nil, sysErr("fsconfig nr_blocks", err)
	}
	// Some distribution kernels refuse nr_inodes=1 (runc met this on Ubuntu
	// 5.4); 2 is as good for an empty directory.
	if err := unix.FsconfigSetString(ctx, "nr_inodes", "1"); err != nil {
		if err := unix.FsconfigSetString(ctx, "nr_inodes", "2"); err != nil {
			return nil, sysErr("fsconfig nr_inodes", err)
		}
	}
	if err := unix.FsconfigSetString(ctx, "mode", "0755"); err != nil {
		return nil, sysErr("fsconfig mode", err)
	}
	if err := unix.FsconfigCreate(ctx); err != nil {
		return nil, sysErr("fsconfig create", err)
	}
	fd, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC,
		unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return nil, kernelHint("fsmount", err)
	}
	return os.NewFile(uintptr(fd), "detached:tmpfs"), nil
}

// isMountRoot reports whether f is the root of a mount: flags set on a
// handle that is not would change the whole mount containing it (maybe "/").
func isMountRoot(f *os.File) (bool, error) {
	var stx unix.Statx_t
	if err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE, &stx); err != nil {
		return false, sysErr("statx", err)
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return false, errors.New("the kernel does not report mount roots (statx needs Linux 5.8 or later)")
	}
	return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}

package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MountConsole bind-mounts the pty slave onto the container's /dev/console,
// after pivot_root, by file descriptor at both ends. The slave must be a pty
// of a devpts; /dev/console must be a regular file (the mount point Prepare
// made) or a character device (a /dev bound from the host), never a symlink
// or anything else the image could use to send the mount elsewhere
// (CVE-2025-52565). A missing /dev/console is created.
func MountConsole(slave *os.File) error {
	return atRoot(func(root *os.File) error { return MountConsoleAt(root, slave) })
}

// MountConsoleAt is MountConsole for the container's root at the handle
// root, before the root is switched (the parent's building thread).
func MountConsoleAt(root, slave *os.File) error {
	if err := checkPtySlave(slave); err != nil {
		return fmt.Errorf("process.terminal: %w", err)
	}
	if err := mountConsole(root, slave); err != nil {
		return fmt.Errorf("process.terminal: mount the pty on /dev/console: %w", err)
	}
	return nil
}

func mountConsole(root, slave *os.File) error {
	dev, err := openInRoot(root, "dev")
	if err != nil {
		return err
	}
	defer dev.Close()
	target, err := openNoFollow(dev, "console", 0)
	if errors.Is(err, unix.ENOENT) {
		target, err = placeholder(dev, "console", false)
	}
	if err != nil {
		return err
	}
	defer target.Close()
	st, err := fstat(target)
	if err != nil {
		return err
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		return fmt.Errorf("/dev/console is a %s, not a file or character device", fileKind(st.Mode))
	}
	return bindFd(slave, target, false, 0)
}

// checkPtySlave makes sure the fd is a Unix98 pty slave on a devpts.
func checkPtySlave(f *os.File) error {
	const (
		ptySlaveMajorFirst = 136 // UNIX98_PTY_SLAVE_MAJOR
		ptySlaveMajorLast  = ptySlaveMajorFirst + 7
	)
	st, err := fstat(f)
	if err != nil {
		return fmt.Errorf("pty slave: %w", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil {
		return fmt.Errorf("pty slave: %w", sysErr("fstatfs", err))
	}
	major := unix.Major(st.Rdev)
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || sfs.Type != unix.DEVPTS_SUPER_MAGIC ||
		major < ptySlaveMajorFirst || major > ptySlaveMajorLast {
		return fmt.Errorf("pty slave is a %s %d:%d on a filesystem of type %#x, not a pty on a devpts",
			fileKind(st.Mode), major, unix.Minor(st.Rdev), sfs.Type)
	}
	return nil
}

// OpenPtmx opens the container's /dev/ptmx, for a new pty in its devpts,
// through the root handle: resolved inside the rootfs (it is a symlink to
// pts/ptmx) and checked to be the ptmx character device (5:2).
func (rt *Root) OpenPtmx() (*os.File, error) {
	h, err := openInRoot(rt.r.root, "dev/ptmx")
	if err != nil {
		return nil, err
	}
	defer h.Close()
	f, err := os.OpenFile(procFdPath(h), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	st, err := fstat(f)
	if err == nil && (st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2) {
		err = fmt.Errorf("/dev/ptmx is a %s %d:%d, not the pty multiplexer", fileKind(st.Mode), unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

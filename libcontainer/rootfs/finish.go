package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// Finish runs inside the container's root, after Prepare, MountConsole and
// WriteSysctls: it makes linux.readonlyPaths read-only, masks
// linux.maskedPaths, makes the read-only tmpfs and /dev mounts (mounted
// writable so far, for the device nodes and mount points made in them)
// read-only, and finally the root itself for root.readonly. Paths that do
// not exist in the container are skipped, as runc does.
func Finish(p *spec.Plan) error {
	return atRoot(func(root *os.File) error { return FinishAt(p, root) })
}

// atRoot runs f with a handle to "/": the steps that run after pivot_root
// resolve in the container's root from there.
func atRoot(f func(root *os.File) error) error {
	root, err := os.OpenFile("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	return f(root)
}

// FinishAt is Finish for the container's root at the handle root, before
// the root is switched (the parent's building thread).
func FinishAt(p *spec.Plan, root *os.File) error {
	for i, path := range p.ReadonlyPaths {
		if err := readonlyPath(root, path); err != nil {
			return fieldError("linux.readonlyPaths", i, path, err)
		}
	}
	mk := &masker{root: root}
	defer mk.close()
	for i, path := range p.MaskedPaths {
		if err := mk.mask(path); err != nil {
			return fieldError("linux.maskedPaths", i, path, err)
		}
	}
	for i := range p.Mounts {
		if err := finishReadonly(root, &p.Mounts[i]); err != nil {
			return mountError(i, &p.Mounts[i], err)
		}
	}
	if p.Readonly {
		if err := setMountAttr(root, unix.MOUNT_ATTR_RDONLY, false); err != nil {
			return fmt.Errorf("root.readonly: remount / read-only: %w", err)
		}
	}
	return nil
}

// finishReadonly makes read-only a mount that Prepare mounted writable
// (see deferReadonly), and the tmpfs holding the v1 cgroup hierarchies.
func finishReadonly(root *os.File, m *spec.Mount) error {
	if m.Flags&unix.MS_RDONLY == 0 || !(deferReadonly(m) || m.Type == "cgroup") {
		return nil
	}
	h, err := openInRoot(root, relPath(m.Destination))
	if err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	defer h.Close()
	if m.Type == "cgroup" {
		var sfs unix.Statfs_t
		if err := unix.Fstatfs(int(h.Fd()), &sfs); err != nil {
			return fmt.Errorf("make read-only: %w", sysErr("fstatfs", err))
		}
		if sfs.Type != unix.TMPFS_MAGIC {
			return nil // cgroup2, mounted read-only already
		}
	}
	ok, err := isMountRoot(h)
	if err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	if !ok {
		return fmt.Errorf("make read-only: %s is no longer a mount point", m.Destination)
	}
	if err := setMountAttr(h, unix.MOUNT_ATTR_RDONLY, false); err != nil {
		return fmt.Errorf("make read-only: %w", err)
	}
	return nil
}

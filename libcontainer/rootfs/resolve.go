package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// relPath turns a container path into one relative to a root handle; ""
// is the root itself. Cleaning first means ".." can never climb above the
// root lexically (resolution is scoped by the kernel anyway).
func relPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// procFdPath names an open file for syscalls that only take paths (mount(2),
// chmod). Only used before pivot_root, where /proc is the host's own procfs
// and not something the container image could have planted.
func procFdPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// openInRoot opens rel with every symlink resolved inside root, never
// outside it (openat2 RESOLVE_IN_ROOT or its emulation).
func openInRoot(root *os.File, rel string) (*os.File, error) {
	if rel == "" {
		rel = "."
	}
	return pathrs.OpenatInRoot(root, rel)
}

// mkdirInRoot is MkdirAll scoped to root, returning a handle to the directory.
func mkdirInRoot(root *os.File, rel string) (*os.File, error) {
	if rel == "" {
		return openInRoot(root, ".")
	}
	return pathrs.MkdirAllHandle(root, rel, 0o755)
}

// parentInRoot creates and opens the parent directory of rel inside root and
// returns it with the last path element, which callers then handle with
// *at(2) calls that do not follow a symlink there.
func parentInRoot(root *os.File, rel string) (*os.File, string, error) {
	dir, base := path.Split(rel)
	if base == "" {
		return nil, "", errors.New("path names the container's root")
	}
	parent, err := mkdirInRoot(root, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return nil, "", fmt.Errorf("create parent directory: %w", err)
	}
	return parent, base, nil
}

// createFileInRoot creates an empty regular file at rel (the mount point of
// a file bind mount). O_EXCL|O_NOFOLLOW means the kernel never follows a
// symlink at rel; a dangling one (an image's /etc/resolv.conf pointing to
// ../run/...) is followed here by hand, inside the root, the way
// RESOLVE_IN_ROOT would: an absolute target starts at the root and ".."
// stops there.
func createFileInRoot(root *os.File, rel string, mode uint32) (*os.File, error) {
	const maxSymlinks = 40 // the kernel's limit
	for range maxSymlinks {
		parent, base, err := parentInRoot(root, rel)
		if err != nil {
			return nil, err
		}
		fd, err := unix.Openat(int(parent.Fd()), base, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, mode)
		if err == nil {
			f := os.NewFile(uintptr(fd), path.Join(parent.Name(), base))
			parent.Close()
			return f, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			parent.Close()
			return nil, sysErr("create", err)
		}
		// Something is there now: a file that appeared meanwhile, or a
		// symlink whose target is missing.
		if f, err := openInRoot(root, rel); err == nil {
			parent.Close()
			return f, nil
		}
		next, err := symlinkTargetInRoot(root, parent, base)
		parent.Close()
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", rel, err)
		}
		rel = next
	}
	return nil, sysErr("create", unix.ELOOP)
}

// symlinkTargetInRoot reads the symlink base in parent and returns its
// target as a path relative to root.
func symlinkTargetInRoot(root, parent *os.File, base string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(parent.Fd()), base, buf)
	if err != nil {
		return "", fmt.Errorf("exists and is not a usable file: %w", sysErr("readlink", err))
	}
	target := string(buf[:n])
	if path.IsAbs(target) {
		return relPath(target), nil
	}
	rootReal, err := procfs.ProcSelfFdReadlink(root)
	if err != nil {
		return "", err
	}
	parentReal, err := procfs.ProcSelfFdReadlink(parent)
	if err != nil {
		return "", err
	}
	dir, ok := strings.CutPrefix(parentReal, rootReal)
	if !ok {
		return "", fmt.Errorf("%q is outside the root %q", parentReal, rootReal)
	}
	return relPath(path.Join("/", dir, target)), nil
}

// openNoFollow opens name in dir as an O_PATH handle without following a
// symlink in its place.
func openNoFollow(dir *os.File, name string, flags int) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return nil, sysErr("openat", err)
	}
	return os.NewFile(uintptr(fd), path.Join(dir.Name(), name)), nil
}

// containerPath checks that h really is below rootfs (a handle may have been
// renamed out of it since it was resolved) and not the rootfs itself, and
// returns its path as seen from inside the container.
func containerPath(rootfs string, h *os.File) (string, error) {
	real, err := procfs.ProcSelfFdReadlink(h)
	if err != nil {
		return "", fmt.Errorf("read back the resolved path: %w", err)
	}
	inner, ok := strings.CutPrefix(real, rootfs)
	if !ok || (inner != "" && !strings.HasPrefix(inner, "/")) {
		return "", fmt.Errorf("resolves to %q, outside the rootfs %q", real, rootfs)
	}
	if inner == "" || inner == "/" {
		return "", errors.New("resolves to the container's root itself; mounting over the rootfs is not supported")
	}
	return inner, nil
}

// fileKind names a file type for messages.
func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return fmt.Sprintf("file of type %#o", mode&unix.S_IFMT)
}

func fstat(f *os.File) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(int(f.Fd()), &st)
	return st, sysErr("fstat", err)
}

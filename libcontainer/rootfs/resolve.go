package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

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

// inRoot resolves a path the way the container will see it: symlinks are
// followed, but "/" and ".." stop at the root, and magic links
// (/proc/self/fd/N and the like) are refused.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// openat2 opens rel below dir with the given resolve flags; the handle is
// named by rel for messages. EAGAIN means a rename or mount raced a ".."
// lookup and the kernel could not vouch for the result: try again, a
// bounded number of times so that a hostile image cannot spin us forever.
func openat2(dir *os.File, rel string, flags, resolve uint64) (*os.File, error) {
	how := unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Resolve: resolve}
	for range 128 {
		fd, err := unix.Openat2(int(dir.Fd()), rel, &how)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), "/"+rel), nil
		case unix.EAGAIN, unix.EINTR:
			continue
		case unix.ENOSYS:
			return nil, fmt.Errorf("open %s: %w (openat2 needs Linux 5.6 or later)", rel, sysErr("openat2", err))
		}
		return nil, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
	return nil, &os.PathError{Op: "openat2", Path: rel, Err: unix.EAGAIN}
}

// openInRoot opens rel (an O_PATH handle) with every symlink resolved
// inside root, never outside it. The kernel's scoped lookup is one system
// call; a user-space walk with its per-step checks cost about ten.
func openInRoot(root *os.File, rel string) (*os.File, error) {
	if rel == "" {
		rel = "."
	}
	return openat2(root, rel, unix.O_PATH, inRoot)
}

// mkdirInRoot is MkdirAll scoped to root, returning a handle to the
// directory. The longest existing prefix is resolved inside the root (its
// symlinks followed there); each missing component is then made and
// opened with no symlink followed and no mount crossed, so a component
// swapped for a symlink meanwhile is refused rather than followed.
func mkdirInRoot(root *os.File, rel string) (*os.File, error) {
	if rel == "" {
		return openInRoot(root, ".")
	}
	h, err := openat2(root, rel, unix.O_PATH|unix.O_DIRECTORY, inRoot)
	if !errors.Is(err, unix.ENOENT) {
		return h, err
	}
	parts := strings.Split(rel, "/")
	have := len(parts) - 1
	var dir *os.File
	for {
		prefix := strings.Join(parts[:have], "/")
		if prefix == "" {
			prefix = "."
		}
		dir, err = openat2(root, prefix, unix.O_PATH|unix.O_DIRECTORY, inRoot)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.ENOENT) || have == 0 {
			return nil, err
		}
		have--
	}
	for i, name := range parts[have:] {
		if err := unix.Mkdirat(int(dir.Fd()), name, 0o755); err != nil && err != unix.EEXIST {
			dir.Close()
			return nil, &os.PathError{Op: "mkdirat", Path: strings.Join(parts[:have+i+1], "/"), Err: err}
		}
		next, err := openat2(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW,
			unix.RESOLVE_BENEATH|unix.RESOLVE_NO_SYMLINKS|unix.RESOLVE_NO_XDEV)
		dir.Close()
		if err != nil {
			return nil, err
		}
		dir = next
	}
	return dir, nil
}

// fdPath reads back where an open file is, through the host's /proc: only
// used before pivot_root (see procFdPath).
func fdPath(f *os.File) (string, error) {
	p, err := os.Readlink(procFdPath(f))
	if err != nil {
		return "", sysErr("readlink", err)
	}
	return p, nil
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
	rootReal, err := fdPath(root)
	if err != nil {
		return "", err
	}
	parentReal, err := fdPath(parent)
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
	real, err := fdPath(h)
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

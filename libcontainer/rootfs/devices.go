package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// needsDevSetup: /dev gets device nodes and symlinks unless it is a bind
// mount, which then is the host's /dev (or one prepared by the caller) and
// must not be written to.
func needsDevSetup(p *spec.Plan) bool {
	for i := range p.Mounts {
		if isBind(&p.Mounts[i]) && relPath(p.Mounts[i].Destination) == "dev" {
			return false
		}
	}
	return true
}

func hasMountAt(p *spec.Plan, dest string) bool {
	for i := range p.Mounts {
		if relPath(p.Mounts[i].Destination) == relPath(dest) {
			return true
		}
	}
	return false
}

// devEntry is a device to create and the config field it came from.
type devEntry struct {
	index int // in linux.devices; -1 for a default device
	dev   spec.Device
}

func (e devEntry) error(err error) error {
	if e.index < 0 {
		return fmt.Errorf("default device %q: %w", e.dev.Path, err)
	}
	return fieldError("linux.devices", e.index, e.dev.Path, err)
}

// deviceList is the defaults not overridden by linux.devices, then
// linux.devices. /dev/ptmx is left out when it becomes a symlink to the
// devpts instance's ptmx.
func deviceList(p *spec.Plan, ptmxLink bool) []devEntry {
	var out []devEntry
	for _, d := range spec.DefaultDevices() {
		overridden := false
		for _, u := range p.Devices {
			if relPath(u.Path) == relPath(d.Path) {
				overridden = true
				break
			}
		}
		if !overridden {
			out = append(out, devEntry{index: -1, dev: d})
		}
	}
	for i, d := range p.Devices {
		if ptmxLink && relPath(d.Path) == "dev/ptmx" {
			continue
		}
		out = append(out, devEntry{index: i, dev: d})
	}
	return out
}

// deviceMode is the st_mode of a device node: type and permission bits.
// A missing fileMode means 0666, as runc does.
func deviceMode(d spec.Device) (uint32, error) {
	perm := d.FileMode & 0o7777
	if perm == 0 {
		perm = 0o666
	}
	switch d.Type {
	case 'c', 'u':
		return unix.S_IFCHR | perm, nil
	case 'b':
		return unix.S_IFBLK | perm, nil
	case 'p':
		return unix.S_IFIFO | perm, nil
	}
	return 0, fmt.Errorf("type %q is not a device type (c, b, u or p)", d.Type)
}

// devSymlinks are the /dev entries every Linux userland expects, as
// name -> target.
func devSymlinks(kcore bool) [][2]string {
	links := [][2]string{
		{"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	}
	if kcore {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	return links
}

// setupDev creates the device nodes, the /dev symlinks, /dev/ptmx when
// /dev/pts is mounted, and the /dev/console mount point for a terminal.
func (r *preparer) setupDev() error {
	ptmx := hasMountAt(r.p, "/dev/pts")
	for _, e := range deviceList(r.p, ptmx) {
		if err := r.createDevice(e.dev); err != nil {
			return e.error(err)
		}
	}
	dev, err := mkdirInRoot(r.root, "dev")
	if err != nil {
		return fmt.Errorf("/dev: %w", err)
	}
	defer dev.Close()
	_, err = os.Stat("/proc/kcore") // the kernel may be built without it
	for _, l := range devSymlinks(err == nil) {
		if err := unix.Symlinkat(l[1], int(dev.Fd()), l[0]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("/dev/%s symlink: %w", l[0], sysErr("symlink", err))
		}
	}
	if ptmx {
		// The image's /dev/ptmx (often the host's device node) would open
		// the wrong devpts instance.
		if err := unix.Unlinkat(int(dev.Fd()), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("/dev/ptmx: %w", sysErr("unlink", err))
		}
		if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil {
			return fmt.Errorf("/dev/ptmx symlink: %w", sysErr("symlink", err))
		}
	}
	if r.o.Console {
		f, err := placeholder(dev, "console", false)
		if err != nil {
			return fmt.Errorf("process.terminal: /dev/console mount point: %w", err)
		}
		f.Close()
	}
	return nil
}

// createDevice makes one node: mknod, or, where that is refused (a user
// namespace), a bind mount of the host's node. Whatever the image had at
// that path, other than a directory, is replaced: it may be a symlink or a
// file standing in for /dev/null (CVE-2025-31133).
func (r *preparer) createDevice(d spec.Device) error {
	mode, err := deviceMode(d)
	if err != nil {
		return err
	}
	rdev := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if mode&unix.S_IFMT == unix.S_IFIFO {
		rdev = 0
	}
	parent, base, err := parentInRoot(r.root, relPath(d.Path))
	if err != nil {
		return err
	}
	defer parent.Close()
	fifo := mode&unix.S_IFMT == unix.S_IFIFO
	if r.o.UserNS && !fifo {
		return bindDevice(parent, base, d.Path, mode, rdev)
	}
	err = mknodReplacing(parent, base, mode, rdev)
	if errors.Is(err, unix.EPERM) && !fifo {
		return bindDevice(parent, base, d.Path, mode, rdev)
	}
	if err != nil {
		return err
	}
	node, err := openNoFollow(parent, base, 0)
	if err != nil {
		return err
	}
	defer node.Close()
	if err := checkNode(node, mode, rdev); err != nil {
		return err
	}
	// mknod applied the umask; set the asked mode exactly.
	if err := unix.Chmod(procFdPath(node), mode&0o7777); err != nil {
		return sysErr("chmod", err)
	}
	if err := unix.Fchownat(int(node.Fd()), "", int(d.UID), int(d.GID), unix.AT_EMPTY_PATH); err != nil {
		return sysErr("chown", err)
	}
	return nil
}

func mknodReplacing(dir *os.File, name string, mode uint32, rdev uint64) error {
	err := unix.Mknodat(int(dir.Fd()), name, mode, int(rdev))
	if !errors.Is(err, unix.EEXIST) {
		return sysErr("mknod", err)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return sysErr("stat", err)
	}
	if st.Mode&unix.S_IFMT == mode&unix.S_IFMT && st.Rdev == rdev {
		return nil
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return errors.New("a directory is in the way")
	}
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return fmt.Errorf("replace the image's %s: %w", fileKind(st.Mode), sysErr("unlink", err))
	}
	return sysErr("mknod", unix.Mknodat(int(dir.Fd()), name, mode, int(rdev)))
}

// checkNode verifies a node is the device it should be.
func checkNode(f *os.File, mode uint32, rdev uint64) error {
	st, err := fstat(f)
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != mode&unix.S_IFMT || st.Rdev != rdev {
		return fmt.Errorf("is a %s %d:%d, not a %s %d:%d", fileKind(st.Mode), unix.Major(st.Rdev), unix.Minor(st.Rdev),
			fileKind(mode), unix.Major(rdev), unix.Minor(rdev))
	}
	return nil
}

// bindDevice bind-mounts the host's node at hostPath onto a placeholder,
// after checking the host node is the device asked for.
func bindDevice(dir *os.File, name, hostPath string, mode uint32, rdev uint64) error {
	src, err := os.OpenFile(hostPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bind from the host (mknod is not permitted here): %w", err)
	}
	defer src.Close()
	if err := checkNode(src, mode, rdev); err != nil {
		return fmt.Errorf("bind from the host: host %s %w", hostPath, err)
	}
	dst, err := placeholder(dir, name, true)
	if err != nil {
		return fmt.Errorf("bind from the host: mount point: %w", err)
	}
	defer dst.Close()
	if err := unix.Mount(procFdPath(src), procFdPath(dst), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind from the host: %w", sysErr("mount", err))
	}
	return nil
}

// placeholder returns a handle to a file at name in dir to mount over: an
// existing regular file (or, with nodes, a device node) is kept; anything
// else but a directory is replaced by an empty regular file.
func placeholder(dir *os.File, name string, nodes bool) (*os.File, error) {
	var st unix.Stat_t
	err := unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
	case err != nil:
		return nil, sysErr("stat", err)
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return nil, errors.New("a directory is in the way")
	case st.Mode&unix.S_IFMT == unix.S_IFREG,
		nodes && (st.Mode&unix.S_IFMT == unix.S_IFCHR || st.Mode&unix.S_IFMT == unix.S_IFBLK):
		return openNoFollow(dir, name, 0)
	default:
		if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
			return nil, fmt.Errorf("replace the image's %s: %w", fileKind(st.Mode), sysErr("unlink", err))
		}
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, sysErr("create", err)
	}
	return os.NewFile(uintptr(fd), dir.Name()+"/"+name), nil
}

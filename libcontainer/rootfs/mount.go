package rootfs

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// mount performs one mounts[] entry inside the rootfs.
func (r *preparer) mount(m *spec.Mount) error {
	rel := relPath(m.Destination)
	if rel == "" {
		return errors.New("the destination is the container's root; use root.path for that")
	}
	switch {
	case isBind(m):
		return r.bind(rel, bindSpec{src: m.Source, flags: m.Flags, clear: m.ClearFlags, prop: m.Propagation})
	case m.Type == "proc":
		return r.mountOnPlainDir(rel, m)
	case m.Type == "sysfs":
		// A user namespace without its own network namespace may not mount
		// sysfs (the kernel ties it to the net ns owner); runc then binds
		// the host's /sys, and so do we, also when the mount is refused.
		if r.o.UserNS && !r.p.HasNamespace(specs.NetworkNamespace) {
			return r.bindHostSys(rel, m)
		}
		err := r.mountOnPlainDir(rel, m)
		if r.o.UserNS && errors.Is(err, unix.EPERM) {
			return r.bindHostSys(rel, m)
		}
		return err
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return r.mountCgroup(rel, m)
	}
	return r.mountNew(rel, m)
}

// bindSpec is a bind mount to make: from the host path src, with the MS_*
// flags asked for (MS_BIND and maybe MS_REC among them), the flags asked to
// be cleared, and the propagation to apply afterwards.
type bindSpec struct {
	src          string
	flags, clear uintptr
	prop         []uintptr
}

// bind bind-mounts b.src at rel inside the rootfs. The MS_BIND itself
// ignores per-mount flags, so they are applied by a bind remount of the new
// mount, keeping flags the kernel has locked on the source when needed.
func (r *preparer) bind(rel string, b bindSpec) error {
	st, err := os.Stat(b.src)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	dst, _, err := r.mountpoint(rel, !st.IsDir())
	if err != nil {
		return err
	}
	defer dst.Close()
	inner, err := containerPath(r.rootfs, dst)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if isProcPath(inner) {
		var sfs unix.Statfs_t
		if err := unix.Statfs(b.src, &sfs); err != nil {
			return fmt.Errorf("source: %w", sysErr("statfs", err))
		}
		if err := checkProcDest(inner, "bind", int64(sfs.Type)); err != nil {
			return err
		}
	}
	return r.bindAt(dst, rel, inner, b)
}

// bindAt does the mount part of bind once the destination is open.
func (r *preparer) bindAt(dst *os.File, rel, inner string, b bindSpec) error {
	if err := unix.Mount(b.src, procFdPath(dst), "", unix.MS_BIND|b.flags&unix.MS_REC, ""); err != nil {
		return sysErr("mount", err)
	}
	remount, need := bindRemountFlags(b.flags, b.clear)
	if !need && len(b.prop) == 0 {
		return nil
	}
	top, err := r.reopen(rel, inner)
	if err != nil {
		return err
	}
	defer top.Close()
	if need {
		if err := remountBind(top, b.src, remount, b.clear); err != nil {
			return err
		}
	}
	return applyPropagation(top, b.prop)
}

// remountBind sets the per-mount flags of the bind mount at top. If the
// kernel refuses, the source's locked flags are kept and it is tried once
// more, as runc does.
func remountBind(top *os.File, src string, flags, clear uintptr) error {
	err := unix.Mount("", procFdPath(top), "", flags, "")
	if err == nil {
		return nil
	}
	var sfs unix.Statfs_t
	if serr := unix.Statfs(src, &sfs); serr != nil {
		return fmt.Errorf("remount %s: %w", flagNames(flags), sysErr("mount", err))
	}
	retry, lerr := lockedRemountFlags(flags, clear, statfsToMountFlags(sfs.Flags))
	if lerr != nil {
		return fmt.Errorf("remount %s: %w: %v", flagNames(flags), sysErr("mount", err), lerr)
	}
	if err := unix.Mount("", procFdPath(top), "", retry, ""); err != nil {
		return fmt.Errorf("remount %s (keeping the source's locked flags): %w", flagNames(retry), sysErr("mount", err))
	}
	return nil
}

// mountOnPlainDir mounts proc or sysfs.
func (r *preparer) mountOnPlainDir(rel string, m *spec.Mount) error {
	dst, err := r.plainDir(rel, m.Type)
	if err != nil {
		return err
	}
	defer dst.Close()
	return r.mountNewAt(dst, rel, m, m.Flags, m.Data)
}

// bindHostSys stands in for a sysfs mount the kernel will not allow: the
// host's /sys, recursively, with the flags the sysfs mount asked for.
func (r *preparer) bindHostSys(rel string, m *spec.Mount) error {
	dst, err := r.plainDir(rel, m.Type)
	if err != nil {
		return err
	}
	defer dst.Close()
	inner, err := containerPath(r.rootfs, dst)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if err := checkProcDest(inner, m.Type, 0); err != nil {
		return err
	}
	return r.bindAt(dst, rel, inner, bindSpec{
		src:   "/sys",
		flags: unix.MS_BIND | unix.MS_REC | m.Flags,
		clear: m.ClearFlags,
		prop:  m.Propagation,
	})
}

// plainDir opens (making it if missing) the destination of proc or sysfs,
// which must be a real directory, never a symlink, even one that stays
// inside the rootfs: a procfs that ends up somewhere unexpected defeats
// every later check that relies on /proc.
func (r *preparer) plainDir(rel, fsType string) (*os.File, error) {
	parent, base, err := parentInRoot(r.root, rel)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	defer parent.Close()
	var st unix.Stat_t
	err = unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT):
		if err := unix.Mkdirat(int(parent.Fd()), base, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, fmt.Errorf("destination: %w", sysErr("mkdir", err))
		}
	case err != nil:
		return nil, fmt.Errorf("destination: %w", sysErr("stat", err))
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return nil, fmt.Errorf("destination is a %s; %s must be mounted on a directory", fileKind(st.Mode), fsType)
	}
	dst, err := openNoFollow(parent, base, unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	return dst, nil
}

// mountNew mounts a fresh filesystem (tmpfs, mqueue, devpts, overlay, ...).
func (r *preparer) mountNew(rel string, m *spec.Mount) error {
	dst, created, err := r.mountpoint(rel, false)
	if err != nil {
		return err
	}
	defer dst.Close()
	data := m.Data
	if m.Type == "tmpfs" && !created {
		// A tmpfs over an existing directory keeps that directory's mode
		// (a later mode= in the data still wins), as runc does.
		st, err := fstat(dst)
		if err != nil {
			return fmt.Errorf("destination: %w", err)
		}
		data = tmpfsData(st.Mode, m.Data)
	}
	return r.mountNewAt(dst, rel, m, m.Flags, data)
}

func (r *preparer) mountNewAt(dst *os.File, rel string, m *spec.Mount, flags uintptr, data string) error {
	inner, err := containerPath(r.rootfs, dst)
	if err != nil {
		return fmt.Errorf("destination: %w", err)
	}
	if err := checkProcDest(inner, m.Type, 0); err != nil {
		return err
	}
	if deferReadonly(m) {
		flags &^= unix.MS_RDONLY
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	if fc, err := r.context(m.Type); err != nil {
		return err
	} else if fc != nil {
		err := mountFromContext(fc, dst, src, flags&^propagationFlags, data)
		fc.Close()
		if err != nil {
			return err
		}
	} else if err := unix.Mount(src, procFdPath(dst), m.Type, flags&^propagationFlags, data); err != nil {
		return sysErr("mount", err)
	}
	if len(m.Propagation) == 0 {
		return nil
	}
	top, err := r.reopen(rel, inner)
	if err != nil {
		return err
	}
	defer top.Close()
	return applyPropagation(top, m.Propagation)
}

// deferReadonly says which read-only mounts are mounted read-write first and
// made read-only by Finish: /dev still gets device nodes, and a tmpfs may
// still get mount points for the mounts after it.
func deferReadonly(m *spec.Mount) bool {
	return !isBind(m) && (m.Type == "tmpfs" || relPath(m.Destination) == "dev")
}

// tmpfsData prepends the mode of the directory a tmpfs covers to its data.
func tmpfsData(mode uint32, data string) string {
	m := fmt.Sprintf("mode=%04o", mode&0o7777)
	if data == "" {
		return m
	}
	return m + "," + data
}

// mountpoint opens the destination rel inside the rootfs, creating it when
// missing: an empty file when the source is a file, else a directory.
func (r *preparer) mountpoint(rel string, file bool) (h *os.File, created bool, err error) {
	h, err = openInRoot(r.root, rel)
	if err == nil {
		return h, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("destination: %w", err)
	}
	if file {
		h, err = createFileInRoot(r.root, rel, 0o644)
	} else {
		h, err = mkdirInRoot(r.root, rel)
	}
	if err != nil {
		return nil, false, fmt.Errorf("destination: create: %w", err)
	}
	return h, true, nil
}

// reopen gets a handle to the mount just made at rel (the old handle still
// points under it) and checks it is at the same place as before.
func (r *preparer) reopen(rel, inner string) (*os.File, error) {
	top, err := openInRoot(r.root, rel)
	if err != nil {
		return nil, fmt.Errorf("reopen the new mount: %w", err)
	}
	got, err := containerPath(r.rootfs, top)
	if err == nil && got != inner {
		err = fmt.Errorf("moved from %s to %s while mounting", inner, got)
	}
	if err != nil {
		top.Close()
		return nil, fmt.Errorf("reopen the new mount: %w", err)
	}
	return top, nil
}

func applyPropagation(top *os.File, prop []uintptr) error {
	for _, f := range prop {
		if err := unix.Mount("", procFdPath(top), "", f, ""); err != nil {
			return fmt.Errorf("make %s: %w", propName(f), sysErr("mount", err))
		}
	}
	return nil
}

func isProcPath(inner string) bool {
	return inner == "/proc" || strings.HasPrefix(inner, "/proc/")
}

// checkProcDest keeps mounts off the container's /proc, which the later
// steps (sysctls, masked paths) and the container's own tools rely on:
// /proc itself takes only a procfs (new, or a bind of one: srcMagic), and
// below /proc only the lxcfs files.
func checkProcDest(inner, fsType string, srcMagic int64) error {
	if !isProcPath(inner) {
		return nil
	}
	if inner == "/proc" {
		if fsType == "proc" || srcMagic == unix.PROC_SUPER_MAGIC {
			return nil
		}
		return fmt.Errorf("only a procfs may be mounted on /proc, not a %s", fsType)
	}
	// The files lxcfs and similar tools emulate, as runc allows.
	lxcfs := []string{
		"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat",
		"/proc/swaps", "/proc/uptime", "/proc/loadavg", "/proc/slabinfo",
		"/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
	}
	if slices.Contains(lxcfs, inner) {
		return nil
	}
	return fmt.Errorf("%s is inside /proc, where only %s may be mounted over", inner, strings.Join(lxcfs, ", "))
}

// context gets the filesystem context of a mount that must be made in the
// container's own pid or cgroup namespace (Options.Context), or nil when
// mount(2) here makes the right one.
func (r *preparer) context(fsType string) (*os.File, error) {
	if r.o.Context == nil {
		return nil, nil
	}
	switch fsType {
	case "proc":
	case "cgroup", "cgroup2":
		if !newCgroupNS(r.p) {
			return nil, nil
		}
	default:
		return nil, nil
	}
	fc, err := r.o.Context(fsType)
	if err != nil {
		return nil, fmt.Errorf("a %s made in the container's namespaces: %w", fsType, err)
	}
	return fc, nil
}

func newCgroupNS(p *spec.Plan) bool {
	for _, ns := range p.Namespaces {
		if ns.Type == specs.CgroupNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

// mountFromContext configures the filesystem context fc with a mount's
// source (what mountinfo shows, as mount(2) would) and data
// (comma-separated key=value and flag options), creates the filesystem and
// attaches it at dst with the mount's flags.
func mountFromContext(fc, dst *os.File, src string, flags uintptr, data string) error {
	fd := int(fc.Fd())
	if err := unix.FsconfigSetString(fd, "source", src); err != nil {
		return fmt.Errorf("source %q: %w", src, sysErr("fsconfig", err))
	}
	for opt := range strings.SplitSeq(data, ",") {
		if opt == "" {
			continue
		}
		var err error
		if k, v, ok := strings.Cut(opt, "="); ok {
			err = unix.FsconfigSetString(fd, k, v)
		} else {
			err = unix.FsconfigSetFlag(fd, opt)
		}
		if err != nil {
			return fmt.Errorf("option %q: %w", opt, sysErr("fsconfig", err))
		}
	}
	sb := []struct {
		flag uintptr
		name string
	}{{unix.MS_SYNCHRONOUS, "sync"}, {unix.MS_DIRSYNC, "dirsync"}, {unix.MS_LAZYTIME, "lazytime"}, {unix.MS_MANDLOCK, "mand"}}
	for _, f := range sb {
		if flags&f.flag != 0 {
			if err := unix.FsconfigSetFlag(fd, f.name); err != nil {
				return fmt.Errorf("option %q: %w", f.name, sysErr("fsconfig", err))
			}
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return sysErr("fsconfig create", err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, int(mountAttrs(flags)))
	if err != nil {
		return kernelHint("fsmount", err)
	}
	m := os.NewFile(uintptr(mfd), "detached:"+fc.Name())
	defer m.Close()
	return attachMount(m, dst)
}

// mountAttrs turns the per-mount MS_* flags into MOUNT_ATTR_* ones.
func mountAttrs(flags uintptr) uint {
	var a uint
	for _, f := range []struct {
		ms   uintptr
		attr uint
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY}, {unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
		{unix.MS_NOATIME, unix.MOUNT_ATTR_NOATIME}, {unix.MS_STRICTATIME, unix.MOUNT_ATTR_STRICTATIME},
		{unix.MS_NODIRATIME, unix.MOUNT_ATTR_NODIRATIME},
	} {
		if flags&f.ms != 0 {
			a |= f.attr
		}
	}
	return a
}

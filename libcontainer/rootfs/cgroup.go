package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// cgroupHost is the host's cgroup layout, read once, before pivot_root,
// and only when a cgroup mount is asked for.
type cgroupHost struct {
	unified bool         // /sys/fs/cgroup is cgroup2
	v1      []cgroupBind // one per v1 hierarchy
	v2      string       // where cgroup2 is mounted, if anywhere
}

// cgroupBind is one v1 hierarchy as the container sees it: the directory
// name under the cgroup mount (the host's name, e.g. "cpu,cpuacct"), the
// host directory of the init's own cgroup in it, and the hierarchy's
// controllers as mount options ("cpu,cpuacct", "name=systemd").
type cgroupBind struct {
	name, src, ctrls string
}

func (r *preparer) cgroups() (*cgroupHost, error) {
	if r.cg != nil {
		return r.cg, nil
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &sfs); err != nil {
		return nil, fmt.Errorf("detect the cgroup layout: %w", sysErr("statfs /sys/fs/cgroup", err))
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("detect the cgroup layout: %w", err)
	}
	self := "self"
	if r.o.Placed != nil {
		pid, err := r.o.Placed()
		if err != nil {
			return nil, err
		}
		self = strconv.Itoa(pid)
	}
	own, err := os.ReadFile("/proc/" + self + "/cgroup")
	if err != nil {
		return nil, fmt.Errorf("detect the cgroup layout: %w", err)
	}
	cg := &cgroupHost{unified: sfs.Type == unix.CGROUP2_SUPER_MAGIC, v1: v1Binds(mounts, string(own))}
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			cg.v2 = m.Mountpoint
			break
		}
	}
	r.cg = cg
	return cg, nil
}

// mountCgroup mounts cgroup2 where the host is cgroup2 (or the config asks
// for cgroup2), else the v1 view runc gives: a tmpfs with a bind of the
// init's own cgroup of every host hierarchy beneath it.
func (r *preparer) mountCgroup(rel string, m *spec.Mount) error {
	cg, err := r.cgroups()
	if err != nil {
		return err
	}
	if m.Type == "cgroup2" || cg.unified {
		return r.mountCgroup2(rel, m, cg)
	}
	return r.mountCgroupV1(rel, m, cg)
}

func (r *preparer) mountCgroup2(rel string, m *spec.Mount, cg *cgroupHost) error {
	m2 := *m
	m2.Type = "cgroup2"
	err := r.mountNew(rel, &m2)
	// In a user namespace without a cgroup namespace the kernel refuses a
	// new cgroup2 mount; bind the host's hierarchy instead, as runc does.
	if err == nil || cg.v2 == "" || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) {
		return err
	}
	return r.bind(rel, bindSpec{src: cg.v2, flags: unix.MS_BIND | unix.MS_REC | m.Flags, clear: m.ClearFlags, prop: m.Propagation})
}

func (r *preparer) mountCgroupV1(rel string, m *spec.Mount, cg *cgroupHost) error {
	tmpfs := spec.Mount{
		Source:      "tmpfs",
		Destination: m.Destination,
		Type:        "tmpfs",
		Flags:       unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC,
		Data:        "mode=755",
		Propagation: m.Propagation,
	}
	if err := r.mountNew(rel, &tmpfs); err != nil {
		return fmt.Errorf("tmpfs for the cgroup hierarchies: %w", err)
	}
	dir, err := openInRoot(r.root, rel)
	if err != nil {
		return fmt.Errorf("reopen the cgroup tmpfs: %w", err)
	}
	defer dir.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(dir.Fd()), &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC {
		return fmt.Errorf("reopen the cgroup tmpfs: %s is not the tmpfs just mounted", m.Destination)
	}
	// In a cgroup namespace the init sees its own cgroup as "/", so the
	// host directory to bind is unknown; a new mount of each hierarchy is
	// rooted at the namespace's root, which is what the container should
	// see (runc does the same).
	cgroupNS := r.p.HasNamespace(specs.CgroupNamespace)
	for _, b := range cg.v1 {
		var err error
		if cgroupNS {
			err = r.mountCgroupV1FS(dir, rel, b, m)
		} else {
			err = r.bindCgroupV1(dir, rel, b, m)
		}
		if err != nil {
			return fmt.Errorf("hierarchy %s: %w", b.name, err)
		}
	}
	// Co-mounted controllers ("cpu,cpuacct") are also reachable by each
	// name, as on the host.
	for _, b := range cg.v1 {
		if !strings.Contains(b.name, ",") {
			continue
		}
		for ctrl := range strings.SplitSeq(b.name, ",") {
			if err := unix.Symlinkat(b.name, int(dir.Fd()), ctrl); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink %s -> %s: %w", ctrl, b.name, sysErr("symlink", err))
			}
		}
	}
	return nil
}

// hierarchyDir makes and opens the directory of one hierarchy in the
// cgroup tmpfs.
func (r *preparer) hierarchyDir(dir *os.File, b cgroupBind) (*os.File, string, error) {
	if err := unix.Mkdirat(int(dir.Fd()), b.name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, "", sysErr("mkdir", err)
	}
	dst, err := openNoFollow(dir, b.name, unix.O_DIRECTORY)
	if err != nil {
		return nil, "", err
	}
	inner, err := containerPath(r.rootfs, dst)
	if err != nil {
		dst.Close()
		return nil, "", err
	}
	return dst, inner, nil
}

func (r *preparer) mountCgroupV1FS(dir *os.File, rel string, b cgroupBind, m *spec.Mount) error {
	dst, _, err := r.hierarchyDir(dir, b)
	if err != nil {
		return err
	}
	defer dst.Close()
	sub := spec.Mount{
		Source:      "cgroup",
		Destination: path.Join(m.Destination, b.name),
		Type:        "cgroup",
		Flags:       m.Flags,
		Data:        b.ctrls,
		Propagation: m.Propagation,
	}
	return r.mountNewAt(dst, rel+"/"+b.name, &sub, sub.Flags, sub.Data)
}

func (r *preparer) bindCgroupV1(dir *os.File, rel string, b cgroupBind, m *spec.Mount) error {
	dst, inner, err := r.hierarchyDir(dir, b)
	if err != nil {
		return err
	}
	defer dst.Close()
	return r.bindAt(dst, rel+"/"+b.name, inner, bindSpec{
		src:   b.src,
		flags: unix.MS_BIND | unix.MS_REC | m.Flags,
		clear: m.ClearFlags,
		prop:  m.Propagation,
	})
}

// v1Binds pairs each v1 hierarchy the init belongs to (from
// /proc/self/cgroup) with a mount of it, and names the host directory of
// the init's cgroup there.
func v1Binds(mounts []*mountinfo.Info, procSelfCgroup string) []cgroupBind {
	var binds []cgroupBind
	used := map[string]bool{}
	for line := range strings.SplitSeq(procSelfCgroup, "\n") {
		// "ID:controllers:path"; the v2 line has no controllers.
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		for _, m := range mounts {
			if m.FSType != "cgroup" || used[m.Mountpoint] {
				continue
			}
			// VFSOptions are the superblock's: "rw,cpu,cpuacct".
			if !containsAll(strings.Split(m.VFSOptions, ","), ctrls) {
				continue
			}
			name := path.Base(m.Mountpoint)
			if used[name] {
				continue
			}
			used[m.Mountpoint], used[name] = true, true
			binds = append(binds, cgroupBind{name: name, src: ownCgroupDir(m, parts[2]), ctrls: parts[1]})
			break
		}
	}
	return binds
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ownCgroupDir is where the cgroup at cgPath (a path in the hierarchy) is
// under the mount m, which may show only a subtree (m.Root); a cgroup
// outside that subtree is shown as the whole mount.
func ownCgroupDir(m *mountinfo.Info, cgPath string) string {
	root := path.Clean(m.Root)
	cgPath = path.Clean(cgPath)
	switch {
	case root == "/":
		return path.Join(m.Mountpoint, cgPath)
	case cgPath == root:
		return m.Mountpoint
	case strings.HasPrefix(cgPath, root+"/"):
		return path.Join(m.Mountpoint, strings.TrimPrefix(cgPath, root))
	}
	return m.Mountpoint
}

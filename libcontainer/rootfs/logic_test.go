package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

func TestRelPath(t *testing.T) {
	for in, want := range map[string]string{
		"/": "", "": "", "/proc": "proc", "/dev/pts/": "dev/pts",
		"/../../etc": "etc", "a/b/../c": "a/c", "/x/./y": "x/y",
	} {
		if got := relPath(in); got != want {
			t.Errorf("relPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	proc := &spec.Mount{Source: "proc", Destination: "/proc", Type: "proc"}
	got := mountError(3, proc, sysErr("mount", unix.EACCES)).Error()
	if want := "mounts[3] (proc on /proc type proc): mount: permission denied"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	bind := &spec.Mount{Source: "/srv", Destination: "/data", Type: "none", Flags: unix.MS_BIND | unix.MS_REC}
	if got := describeMount(bind); got != "/srv on /data type rbind" {
		t.Errorf("got %q", got)
	}
	if got := describeMount(&spec.Mount{Destination: "/x"}); got != "none on /x type none" {
		t.Errorf("got %q", got)
	}
	err := fieldError("linux.maskedPaths", 2, "/proc/kcore", sysErr("open_tree", unix.EPERM))
	if want := `linux.maskedPaths[2] "/proc/kcore": open_tree: operation not permitted`; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if !errors.Is(err, unix.EPERM) {
		t.Error("the errno is lost")
	}
	dev := devEntry{index: 0, dev: spec.Device{Path: "/dev/fuse"}}
	if got := dev.error(sysErr("mknod", unix.EPERM)).Error(); got != `linux.devices[0] "/dev/fuse": mknod: operation not permitted` {
		t.Errorf("got %q", got)
	}
	def := devEntry{index: -1, dev: spec.Device{Path: "/dev/null"}}
	if got := def.error(errors.New("x")).Error(); got != `default device "/dev/null": x` {
		t.Errorf("got %q", got)
	}
	if got := kernelHint("open_tree", unix.ENOSYS).Error(); !strings.Contains(got, "Linux 5.12") {
		t.Errorf("got %q", got)
	}
}

func TestCheckProcDest(t *testing.T) {
	for _, tc := range []struct {
		inner, fsType string
		magic         int64
		ok            bool
	}{
		{"/etc", "tmpfs", 0, true},
		{"/procfoo", "tmpfs", 0, true},
		{"/proc", "proc", 0, true},
		{"/proc", "bind", unix.PROC_SUPER_MAGIC, true},
		{"/proc", "bind", unix.TMPFS_MAGIC, false},
		{"/proc", "tmpfs", 0, false},
		{"/proc/cpuinfo", "bind", unix.FUSE_SUPER_MAGIC, true},
		{"/proc/sys/kernel/ns_last_pid", "bind", 0, true},
		{"/proc/self", "tmpfs", 0, false},
		{"/proc/sys", "bind", 0, false},
	} {
		err := checkProcDest(tc.inner, tc.fsType, tc.magic)
		if (err == nil) != tc.ok {
			t.Errorf("checkProcDest(%s, %s): %v", tc.inner, tc.fsType, err)
		}
	}
}

func TestTmpfsDataAndDeferral(t *testing.T) {
	if got := tmpfsData(unix.S_IFDIR|0o1777, ""); got != "mode=1777" {
		t.Errorf("got %q", got)
	}
	if got := tmpfsData(unix.S_IFDIR|0o755, "size=1m,mode=700"); got != "mode=0755,size=1m,mode=700" {
		t.Errorf("got %q", got)
	}
	for _, tc := range []struct {
		m    spec.Mount
		want bool
	}{
		{spec.Mount{Type: "tmpfs", Destination: "/run"}, true},
		{spec.Mount{Type: "devtmpfs", Destination: "/dev/"}, true},
		{spec.Mount{Type: "bind", Destination: "/dev", Flags: unix.MS_BIND}, false},
		{spec.Mount{Type: "proc", Destination: "/proc"}, false},
	} {
		if got := deferReadonly(&tc.m); got != tc.want {
			t.Errorf("deferReadonly(%+v) = %v", tc.m, got)
		}
	}
}

func TestDevices(t *testing.T) {
	p := &spec.Plan{Devices: []spec.Device{
		{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: 0o600},
		{Path: "/dev/ptmx", Type: 'c', Major: 5, Minor: 2},
		{Path: "/dev/fuse", Type: 'c', Major: 10, Minor: 229},
	}}
	var paths []string
	for _, e := range deviceList(p, true) {
		paths = append(paths, e.dev.Path)
	}
	want := "/dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/null /dev/fuse"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("deviceList = %s\nwant        %s", got, want)
	}
	if l := deviceList(p, false); len(l) != 8 || l[6].dev.Path != "/dev/ptmx" || l[6].index != 1 {
		t.Errorf("without the ptmx symlink /dev/ptmx is a node: %+v", l)
	}
	for _, tc := range []struct {
		d    spec.Device
		want uint32
	}{
		{spec.Device{Type: 'c', FileMode: 0o620}, unix.S_IFCHR | 0o620},
		{spec.Device{Type: 'u'}, unix.S_IFCHR | 0o666},
		{spec.Device{Type: 'b', FileMode: 0o100660}, unix.S_IFBLK | 0o660},
		{spec.Device{Type: 'p', FileMode: 0o644}, unix.S_IFIFO | 0o644},
	} {
		if got, err := deviceMode(tc.d); err != nil || got != tc.want {
			t.Errorf("deviceMode(%c %o) = %o, %v", tc.d.Type, tc.d.FileMode, got, err)
		}
	}
	if _, err := deviceMode(spec.Device{Type: 'x'}); err == nil {
		t.Error("type x accepted")
	}
	links := devSymlinks(true)
	if links[0] != [2]string{"fd", "/proc/self/fd"} || links[3] != [2]string{"stderr", "/proc/self/fd/2"} ||
		links[4] != [2]string{"core", "/proc/kcore"} || len(devSymlinks(false)) != 4 {
		t.Errorf("devSymlinks = %v", links)
	}
	bindDev := &spec.Plan{Mounts: []spec.Mount{{Destination: "/dev/", Type: "bind", Flags: unix.MS_BIND}}}
	tmpfsDev := &spec.Plan{Mounts: []spec.Mount{{Destination: "/dev", Type: "tmpfs"}}}
	if needsDevSetup(bindDev) || !needsDevSetup(tmpfsDev) || !needsDevSetup(&spec.Plan{}) {
		t.Error("needsDevSetup")
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":          "sys/net/ipv4/ip_forward",
		"kernel.shmmax":                "sys/kernel/shmmax",
		"net/ipv4/conf/all/forwarding": "sys/net/ipv4/conf/all/forwarding",
	} {
		if got, err := sysctlPath(key); err != nil || got != want {
			t.Errorf("sysctlPath(%q) = %q, %v", key, got, err)
		}
	}
	// Anything that would walk out of /proc/sys (to /proc/self/attr, say)
	// is refused.
	for _, key := range []string{"", "..", "kernel..x", "../self/attr/exec", "net/../../self/attr", ".kernel", "kernel/"} {
		if got, err := sysctlPath(key); err == nil {
			t.Errorf("sysctlPath(%q) = %q, accepted", key, got)
		}
	}
}

func TestV1Binds(t *testing.T) {
	mounts := []*mountinfo.Info{
		{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", Root: "/", FSType: "cgroup", VFSOptions: "rw,cpu,cpuacct"},
		{Mountpoint: "/sys/fs/cgroup/memory", Root: "/", FSType: "cgroup", VFSOptions: "rw,memory"},
		{Mountpoint: "/elsewhere/memory", Root: "/", FSType: "cgroup", VFSOptions: "rw,memory"},
		{Mountpoint: "/sys/fs/cgroup/systemd", Root: "/", FSType: "cgroup", VFSOptions: "rw,xattr,name=systemd"},
		{Mountpoint: "/sys/fs/cgroup/pids", Root: "/outer", FSType: "cgroup", VFSOptions: "rw,pids"},
		{Mountpoint: "/sys/fs/cgroup/unified", Root: "/", FSType: "cgroup2", VFSOptions: "rw"},
	}
	self := "12:pids:/outer/c1\n11:memory:/process_api/x\n4:cpu,cpuacct:/\n1:name=systemd:/user.slice\n3:freezer:/nomount\n0::/\n"
	got := v1Binds(mounts, self)
	want := []cgroupBind{
		{name: "pids", src: "/sys/fs/cgroup/pids/c1", ctrls: "pids"},
		{name: "memory", src: "/sys/fs/cgroup/memory/process_api/x", ctrls: "memory"},
		{name: "cpu,cpuacct", src: "/sys/fs/cgroup/cpu,cpuacct", ctrls: "cpu,cpuacct"},
		{name: "systemd", src: "/sys/fs/cgroup/systemd/user.slice", ctrls: "name=systemd"},
	}
	if len(got) != len(want) {
		t.Fatalf("v1Binds = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("v1Binds[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	outside := &mountinfo.Info{Mountpoint: "/m", Root: "/a"}
	if got := ownCgroupDir(outside, "/b/c"); got != "/m" {
		t.Errorf("cgroup outside the mount's root: %q", got)
	}
	if got := ownCgroupDir(outside, "/a"); got != "/m" {
		t.Errorf("cgroup at the mount's root: %q", got)
	}
}

// TestCreateFileInRootStaysInside needs no privilege: creating a file
// mount point through symlinks that point out of the root (absolute,
// relative with "..", chained) lands inside the root every time.
func TestCreateFileInRootStaysInside(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "etc"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"etc/abs":     filepath.Join(outside, "abs"),
		"etc/rel":     "../../../../../../../../.." + filepath.Join(outside, "rel"),
		"etc/chain":   "abs2",
		"etc/abs2":    filepath.Join(outside, "chain"),
		"etc/resolv":  "../run/resolve/stub",
		"etc/dirlink": filepath.Join(outside, "nodir"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	rootFd, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rootFd.Close()
	for name, want := range map[string]string{
		"etc/abs":    filepath.Join(outside, "abs"),
		"etc/rel":    filepath.Join(outside, "rel"),
		"etc/chain":  filepath.Join(outside, "chain"),
		"etc/resolv": "/run/resolve/stub",
	} {
		f, err := createFileInRoot(rootFd, name, 0o644)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		inner, err := containerPath(root, f)
		f.Close()
		if err != nil || inner != want {
			t.Errorf("%s: created at %q (%v), want %q inside the root", name, inner, err, want)
		}
	}
	// A dangling symlink in the middle of the path is not created through
	// (runc neither): an error, and nothing outside.
	if f, err := createFileInRoot(rootFd, "etc/dirlink/f", 0o644); err == nil {
		f.Close()
		t.Error("etc/dirlink/f: created through a dangling directory symlink")
	}
	entries, _ := os.ReadDir(outside)
	for _, e := range entries {
		t.Errorf("a file was created outside the root: %s", e.Name())
	}
	// The root itself is refused as a mount point.
	f, err := openInRoot(rootFd, "etc/..")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := containerPath(root, f); err == nil {
		t.Error("containerPath accepted the root itself")
	}
}

package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// The tests here mount, in a child in a private mount namespace; they skip
// without root.

const containerNS = syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS

func namespaces(types ...specs.LinuxNamespaceType) []spec.Namespace {
	var out []spec.Namespace
	for _, t := range types {
		out = append(out, spec.Namespace{Type: t})
	}
	return out
}

// defaultMounts are the mounts of `runc spec` with a cgroup mount and
// /dev/shm, as engines send them.
func defaultMounts() []spec.Mount {
	const hardened = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	return []spec.Mount{
		{Source: "proc", Destination: "/proc", Type: "proc", Flags: hardened},
		{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "devpts", Destination: "/dev/pts", Type: "devpts", Flags: unix.MS_NOSUID | unix.MS_NOEXEC, Data: "newinstance,ptmxmode=0666,mode=0620"},
		{Source: "shm", Destination: "/dev/shm", Type: "tmpfs", Flags: hardened, Data: "mode=1777,size=65536k"},
		{Source: "mqueue", Destination: "/dev/mqueue", Type: "mqueue", Flags: hardened},
		{Source: "sysfs", Destination: "/sys", Type: "sysfs", Flags: hardened | unix.MS_RDONLY},
		{Source: "cgroup", Destination: "/sys/fs/cgroup", Type: "cgroup", Flags: hardened | unix.MS_RELATIME | unix.MS_RDONLY},
	}
}

func TestPrepareFull(t *testing.T) {
	needRoot(t)
	rootfs := testRootfs(t)
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "data", "hello"), "world")
	writeFile(t, filepath.Join(host, "file.txt"), "bound-file")
	mounts := defaultMounts()
	// A read-only /dev still gets its nodes and mount points: it is made
	// read-only only by Finish.
	mounts[1].Flags |= unix.MS_RDONLY
	mounts = append(mounts,
		spec.Mount{Source: filepath.Join(host, "data"), Destination: "/data", Type: "bind", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY},
		spec.Mount{Source: filepath.Join(host, "file.txt"), Destination: "/etc/bound.txt", Type: "bind", Flags: unix.MS_BIND},
		// A read-only tmpfs with a mount point made in it afterwards.
		spec.Mount{Source: "tmpfs", Destination: "/run", Type: "tmpfs", Flags: unix.MS_RDONLY | unix.MS_NOSUID},
		spec.Mount{Source: filepath.Join(host, "data"), Destination: "/run/sub", Type: "bind", Flags: unix.MS_BIND,
			Propagation: []uintptr{unix.MS_PRIVATE}},
	)
	c := childConfig{
		Scenario: "full",
		Console:  true,
		Plan: spec.Plan{
			Rootfs:     rootfs,
			Readonly:   true,
			Namespaces: namespaces(specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.MountNamespace),
			Mounts:     mounts,
			Devices: []spec.Device{
				{Path: "/dev/myfull", Type: 'c', Major: 1, Minor: 7, FileMode: 0o600, UID: 1, GID: 2},
				{Path: "/dev/fifo", Type: 'p', FileMode: 0o644},
			},
			MaskedPaths:   []string{"/proc/kcore", "/proc/timer_list", "/sys/firmware", "/does/not/exist", "/proc/timer_list"},
			ReadonlyPaths: []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/keys", "/proc/irq", "/missing"},
			Sysctl:        map[string]string{"kernel.msgmax": "12345", "net.ipv4.ip_forward": "1"},
		},
	}
	msgmax, _ := os.ReadFile("/proc/sys/kernel/msgmax")
	runChildScenario(t, c, nsFlags{clone: containerNS})
	if after, _ := os.ReadFile("/proc/sys/kernel/msgmax"); string(after) != string(msgmax) {
		t.Errorf("the host's kernel.msgmax changed from %q to %q", msgmax, after)
	}
	// Device nodes went into the container's /dev tmpfs, not the image.
	if entries, _ := os.ReadDir(filepath.Join(rootfs, "dev")); len(entries) != 0 {
		t.Errorf("the image's /dev was written to: %v", entries)
	}
}

// TestCVE2021_30465SymlinkDestinations: mount destinations that are
// symlinks to host paths, absolute and relative, resolve inside the rootfs.
func TestCVE2021_30465SymlinkDestinations(t *testing.T) {
	needRoot(t)
	rootfs := testRootfs(t)
	outside, err := os.MkdirTemp("", "hull-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	writeFile(t, filepath.Join(outside, "marker"), "outside")
	outsideFile := filepath.Join(outside, "file")
	writeFile(t, outsideFile, "outside-file")
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "src"), "bound")
	// The symlinks' targets exist inside the rootfs, so the mounts succeed
	// there; a resolver that followed them on the host would hit outside.
	if err := os.MkdirAll(filepath.Join(rootfs, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"mnt/abs":  outside,
		"mnt/rel":  "../../../../../../../../../../.." + outside,
		"mnt/file": outsideFile,
	} {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	c := childConfig{
		Scenario: "escape",
		Extra:    map[string]string{"outside": outside, "outsideFile": outsideFile},
		Plan: spec.Plan{Rootfs: rootfs, Mounts: []spec.Mount{
			{Source: "tmpfs", Destination: "/mnt/abs", Type: "tmpfs"},
			{Source: "tmpfs", Destination: "/mnt/rel/sub", Type: "tmpfs"},
			{Source: filepath.Join(host, "src"), Destination: "/mnt/file", Type: "bind", Flags: unix.MS_BIND},
		}},
	}
	runChildScenario(t, c, nsFlags{clone: containerNS})
	entries, _ := os.ReadDir(outside)
	if len(entries) != 2 {
		t.Errorf("the outside directory changed: %v", entries)
	}
	if b, _ := os.ReadFile(outsideFile); string(b) != "outside-file" {
		t.Errorf("the outside file changed: %q", b)
	}
}

// TestPrepareErrors checks that a refused config fails with an error that
// names the entry, and leaves nothing on the host.
func TestPrepareErrors(t *testing.T) {
	needRoot(t)
	outside, err := os.MkdirTemp("", "hull-outside-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(outside) })
	for _, tc := range []struct {
		name    string
		setup   func(rootfs string) error
		mounts  []spec.Mount
		devices []spec.Device
		want    string
	}{
		{
			name:   "unknown filesystem",
			mounts: []spec.Mount{{Destination: "/x", Type: "nosuchfs"}},
			want:   "mounts[0] (none on /x type nosuchfs): mount: no such device",
		},
		{
			name:   "symlink to the root",
			setup:  func(r string) error { return os.Symlink("/", filepath.Join(r, "mnt/root")) },
			mounts: []spec.Mount{{Source: "tmpfs", Destination: "/mnt/root", Type: "tmpfs"}},
			want:   "mounts[0] (tmpfs on /mnt/root type tmpfs): destination: resolves to the container's root",
		},
		{
			name:   "dotdot symlink to the root",
			setup:  func(r string) error { return os.Symlink("../../../..", filepath.Join(r, "mnt/up")) },
			mounts: []spec.Mount{{Source: "tmpfs", Destination: "/mnt/up", Type: "tmpfs"}},
			want:   "resolves to the container's root",
		},
		{
			name:   "dangling symlink to a host directory",
			setup:  func(r string) error { return os.Symlink(outside, filepath.Join(r, "mnt/dangling")) },
			mounts: []spec.Mount{{Source: "tmpfs", Destination: "/mnt/dangling", Type: "tmpfs"}},
			want:   "mounts[0] (tmpfs on /mnt/dangling type tmpfs): destination",
		},
		{
			name: "proc on a symlink",
			setup: func(r string) error {
				if err := os.Remove(filepath.Join(r, "proc")); err != nil {
					return err
				}
				return os.Symlink("/etc", filepath.Join(r, "proc"))
			},
			mounts: []spec.Mount{{Source: "proc", Destination: "/proc", Type: "proc"}},
			want:   "mounts[0] (proc on /proc type proc): destination is a symlink; proc must be mounted on a directory",
		},
		{
			name:   "tmpfs on /proc",
			mounts: []spec.Mount{{Source: "tmpfs", Destination: "/proc", Type: "tmpfs"}},
			want:   "only a procfs may be mounted on /proc",
		},
		{
			name: "bind under /proc",
			mounts: []spec.Mount{
				{Source: "proc", Destination: "/proc", Type: "proc"},
				{Source: "/etc/hostname", Destination: "/proc/self/environ", Type: "bind", Flags: unix.MS_BIND},
			},
			want: "mounts[1] (/etc/hostname on /proc/self/environ type bind)",
		},
		{
			name:   "missing bind source",
			mounts: []spec.Mount{{Source: "/nonexistent/src", Destination: "/x", Type: "bind", Flags: unix.MS_BIND}},
			want:   "mounts[0] (/nonexistent/src on /x type bind): source: stat /nonexistent/src: no such file or directory",
		},
		{
			name:    "bad device type",
			devices: []spec.Device{{Path: "/dev/bad", Type: 'x'}},
			want:    `linux.devices[0] "/dev/bad": type 'x' is not a device type`,
		},
		{
			name:  "directory in the way of a device",
			setup: func(r string) error { return os.MkdirAll(filepath.Join(r, "dev/zero"), 0o755) },
			want:  `default device "/dev/zero": a directory is in the way`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			if tc.setup != nil {
				if err := tc.setup(rootfs); err != nil {
					t.Fatal(err)
				}
			}
			c := childConfig{
				Scenario: "prepare-error",
				Extra:    map[string]string{"want": tc.want},
				Plan:     spec.Plan{Rootfs: rootfs, Mounts: tc.mounts, Devices: tc.devices},
			}
			out := runChildScenario(t, c, nsFlags{clone: containerNS})
			t.Log(strings.TrimSpace(out))
			if entries, _ := os.ReadDir(outside); len(entries) != 0 {
				t.Errorf("something was created outside the rootfs: %v", entries)
			}
		})
	}
}

// TestCVE2025_31133MaskWithFakeDevNull: the image's /dev/null is a regular
// file or a symlink to another file. A masked file must end up under a
// real null device, never under the image's file, and no file of the image
// may be exposed or changed.
func TestCVE2025_31133MaskWithFakeDevNull(t *testing.T) {
	needRoot(t)
	for _, kind := range []string{"file", "symlink"} {
		t.Run("image /dev/null is a "+kind, func(t *testing.T) {
			rootfs := testRootfs(t)
			writeFile(t, filepath.Join(rootfs, "secret"), "topsecret")
			writeFile(t, filepath.Join(rootfs, "secret2"), "other-secret")
			plantFakeNull(t, filepath.Join(rootfs, "dev"), kind)
			c := childConfig{Scenario: "devnull", Plan: spec.Plan{
				Rootfs:      rootfs,
				Mounts:      []spec.Mount{{Source: "proc", Destination: "/proc", Type: "proc"}},
				MaskedPaths: []string{"/secret"},
			}}
			runChildScenario(t, c, nsFlags{clone: containerNS})
			if b, _ := os.ReadFile(filepath.Join(rootfs, "secret2")); string(b) != "other-secret" {
				t.Errorf("secret2 changed: %q", b)
			}
		})
		t.Run("bound /dev with a null "+kind, func(t *testing.T) {
			rootfs := testRootfs(t)
			writeFile(t, filepath.Join(rootfs, "secret"), "topsecret")
			writeFile(t, filepath.Join(rootfs, "secret2"), "other-secret")
			fakeDev := filepath.Join(t.TempDir(), "dev")
			if err := os.MkdirAll(fakeDev, 0o755); err != nil {
				t.Fatal(err)
			}
			plantFakeNull(t, fakeDev, kind)
			c := childConfig{Scenario: "devnull-fake", Plan: spec.Plan{
				Rootfs:      rootfs,
				Mounts:      []spec.Mount{{Source: fakeDev, Destination: "/dev", Type: "bind", Flags: unix.MS_BIND}},
				MaskedPaths: []string{"/secret"},
			}}
			runChildScenario(t, c, nsFlags{clone: containerNS})
		})
	}
}

func plantFakeNull(t *testing.T, dev, kind string) {
	t.Helper()
	null := filepath.Join(dev, "null")
	switch kind {
	case "file":
		writeFile(t, null, "FAKE NULL")
	case "symlink":
		if err := os.Symlink("/secret2", null); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPrepareNoPivot(t *testing.T) {
	needRoot(t)
	c := childConfig{Scenario: "nopivot", NoPivot: true, Plan: spec.Plan{
		Rootfs:      testRootfs(t),
		Mounts:      []spec.Mount{{Source: "proc", Destination: "/proc", Type: "proc"}},
		MaskedPaths: []string{"/proc/kcore", "/proc/timer_list"},
	}}
	runChildScenario(t, c, nsFlags{clone: containerNS})
}

func TestPrepareUserNS(t *testing.T) {
	needRoot(t)
	rootfs := testRootfs(t)
	host := t.TempDir()
	writeFile(t, filepath.Join(host, "data", "hello"), "world")
	mounts := append(defaultMounts(),
		spec.Mount{Source: filepath.Join(host, "data"), Destination: "/data", Type: "bind", Flags: unix.MS_BIND | unix.MS_RDONLY})
	c := childConfig{Scenario: "userns", UserNS: true, Plan: spec.Plan{
		Rootfs:        rootfs,
		Readonly:      true,
		Namespaces:    namespaces(specs.UserNamespace, specs.PIDNamespace, specs.IPCNamespace, specs.MountNamespace),
		Mounts:        mounts,
		MaskedPaths:   []string{"/proc/kcore", "/proc/timer_list", "/sys/firmware"},
		ReadonlyPaths: []string{"/proc/sys"},
	}}
	runChildScenario(t, c, nsFlags{clone: syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS, userNS: true})
}

// TestCVE2019_16884SysctlThroughFakeProc: with no procfs mounted, the
// image's /proc/sys file is not what gets written.
func TestCVE2019_16884SysctlThroughFakeProc(t *testing.T) {
	needRoot(t)
	rootfs := testRootfs(t)
	writeFile(t, filepath.Join(rootfs, "proc/sys/kernel/msgmax"), "fake")
	c := childConfig{Scenario: "sysctl-fake", Plan: spec.Plan{
		Rootfs: rootfs,
		Sysctl: map[string]string{"kernel.msgmax": "4242"},
	}}
	runChildScenario(t, c, nsFlags{clone: containerNS})
	if b, _ := os.ReadFile(filepath.Join(rootfs, "proc/sys/kernel/msgmax")); string(b) != "fake" {
		t.Errorf("the image's fake sysctl file was written: %q", b)
	}
}

// TestCVE2025_52565ConsoleTarget: MountConsole refuses a /dev/console that
// is a symlink and an fd that is not a pty slave.
func TestCVE2025_52565ConsoleTarget(t *testing.T) {
	needRoot(t)
	rootfs := testRootfs(t)
	writeFile(t, filepath.Join(rootfs, "etc/target"), "target")
	mounts := defaultMounts()[:3] // proc, /dev tmpfs, devpts
	c := childConfig{Scenario: "console-target", Console: true, Plan: spec.Plan{Rootfs: rootfs, Mounts: mounts}}
	runChildScenario(t, c, nsFlags{clone: containerNS})
}

// TestPrepareCgroupNS: the init is in a new cgroup namespace, as initproc
// puts it; the host's cgroup tree above it must not show.
func TestPrepareCgroupNS(t *testing.T) {
	needRoot(t)
	var sfs unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &sfs); err != nil || sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("needs a v1 or hybrid cgroup host (this one is cgroup2 only)")
	}
	top := ""
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(self), "\n") {
		if parts := strings.SplitN(line, ":", 3); len(parts) == 3 && parts[1] == "memory" {
			top = strings.Split(strings.TrimPrefix(parts[2], "/"), "/")[0]
		}
	}
	c := childConfig{Scenario: "cgroupns", Extra: map[string]string{"hostMemoryTop": top}, Plan: spec.Plan{
		Rootfs:     testRootfs(t),
		Namespaces: namespaces(specs.CgroupNamespace, specs.PIDNamespace, specs.MountNamespace),
		Mounts:     defaultMounts(),
	}}
	runChildScenario(t, c, nsFlags{clone: containerNS | syscall.CLONE_NEWCGROUP})
}

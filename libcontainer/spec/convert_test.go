package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestDefaultPlan(t *testing.T) {
	bundle := newBundle(t)
	p, err := FromSpec(Default(false), bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p.Bundle != bundle || p.Rootfs != filepath.Join(bundle, "rootfs") || !p.Readonly {
		t.Errorf("bundle %q rootfs %q readonly %v", p.Bundle, p.Rootfs, p.Readonly)
	}
	if p.OCIVersion != specs.Version || p.Hostname != "hull" {
		t.Errorf("version %q hostname %q", p.OCIVersion, p.Hostname)
	}
	wantNS := []Namespace{
		{specs.PIDNamespace, unix.CLONE_NEWPID, ""},
		{specs.NetworkNamespace, unix.CLONE_NEWNET, ""},
		{specs.IPCNamespace, unix.CLONE_NEWIPC, ""},
		{specs.UTSNamespace, unix.CLONE_NEWUTS, ""},
		{specs.MountNamespace, unix.CLONE_NEWNS, ""},
		{specs.CgroupNamespace, unix.CLONE_NEWCGROUP, ""},
	}
	if !reflect.DeepEqual(p.Namespaces, wantNS) {
		t.Errorf("namespaces = %+v", p.Namespaces)
	}
	caps := []uint{unix.CAP_AUDIT_WRITE, unix.CAP_KILL, unix.CAP_NET_BIND_SERVICE}
	want := Capabilities{Bounding: caps, Effective: caps, Permitted: caps}
	if !reflect.DeepEqual(p.Process.Caps, want) {
		t.Errorf("caps = %+v", p.Process.Caps)
	}
	if p.Process.Caps.Inheritable != nil {
		t.Error("inheritable capabilities must stay empty unless configured (CVE-2022-29162)")
	}
	if !reflect.DeepEqual(p.Process.Rlimits, []Rlimit{{Type: unix.RLIMIT_NOFILE, Hard: 1024, Soft: 1024}}) {
		t.Errorf("rlimits = %+v", p.Process.Rlimits)
	}
	if !p.Process.NoNewPrivs || !p.Process.Terminal || p.Process.Cwd != "/" || p.Process.Args[0] != "sh" {
		t.Errorf("process = %+v", p.Process)
	}
	if p.RootPropagation != unix.MS_SLAVE|unix.MS_REC {
		t.Errorf("root propagation = %#x, want rslave", p.RootPropagation)
	}
	if len(p.Mounts) != 7 {
		t.Fatalf("mounts = %d", len(p.Mounts))
	}
	sys := p.Mounts[5]
	if sys.Destination != "/sys" || sys.Type != "sysfs" || sys.Flags != unix.MS_NOSUID|unix.MS_NOEXEC|unix.MS_NODEV|unix.MS_RDONLY || sys.Data != "" {
		t.Errorf("/sys mount = %+v", sys)
	}
	if dev := p.Mounts[1]; dev.Data != "mode=755,size=65536k" || dev.Flags != unix.MS_NOSUID|unix.MS_STRICTATIME {
		t.Errorf("/dev mount = %+v", dev)
	}
	if len(p.MaskedPaths) != 10 || len(p.ReadonlyPaths) != 5 {
		t.Errorf("masked %v readonly %v", p.MaskedPaths, p.ReadonlyPaths)
	}
	if p.Resources == nil || len(p.Resources.Devices) != 1 {
		t.Errorf("resources = %+v", p.Resources)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("default config has warnings: %q", p.Warnings)
	}
}

func TestRootlessDefaultPlan(t *testing.T) {
	s := Default(true)
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if p.HasNamespace(specs.NetworkNamespace) || !p.HasNamespace(specs.UserNamespace) {
		t.Errorf("namespaces = %+v", p.Namespaces)
	}
	if len(p.UIDMappings) != 1 || p.UIDMappings[0].HostID != uint32(os.Geteuid()) || p.UIDMappings[0].Size != 1 {
		t.Errorf("uid mappings = %+v", p.UIDMappings)
	}
	if len(p.GIDMappings) != 1 || p.GIDMappings[0].HostID != uint32(os.Getegid()) {
		t.Errorf("gid mappings = %+v", p.GIDMappings)
	}
	for _, m := range p.Mounts {
		switch m.Destination {
		case "/sys":
			if m.Type != "bind" || m.Flags&(unix.MS_BIND|unix.MS_REC) != unix.MS_BIND|unix.MS_REC || m.Source != "/sys" {
				t.Errorf("rootless /sys = %+v", m)
			}
		case "/sys/fs/cgroup":
			t.Errorf("rootless config has a cgroup mount")
		case "/dev/pts":
			if m.Data != "newinstance,ptmxmode=0666,mode=0620" {
				t.Errorf("rootless /dev/pts data = %q (gid=5 should be gone)", m.Data)
			}
		}
	}
	if p.Resources != nil {
		t.Errorf("rootless resources = %+v", p.Resources)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a := Default(false)
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	a.Mounts[0].Destination = "/x"
	b := Default(false)
	if b.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" || b.Process.Capabilities.Effective[0] != "CAP_AUDIT_WRITE" || b.Mounts[0].Destination != "/proc" {
		t.Error("Default shares state between calls or between capability sets")
	}
}

func TestRootfsSymlinkResolved(t *testing.T) {
	bundle := newBundle(t)
	if err := os.Symlink("rootfs", filepath.Join(bundle, "link")); err != nil {
		t.Fatal(err)
	}
	s := Default(false)
	s.Root.Path = "link"
	p, err := FromSpec(s, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if p.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("rootfs = %q, want the symlink resolved", p.Rootfs)
	}
	s.Root.Path = filepath.Join(bundle, "rootfs")
	if p, err = FromSpec(s, bundle); err != nil || p.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("absolute root.path: %v %q", err, p.Rootfs)
	}
}

func TestMountConversion(t *testing.T) {
	bundle := newBundle(t)
	s := Default(false)
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "data/../x/", Type: "none", Source: "vol", Options: []string{"rbind", "ro", "rprivate"}},
		specs.Mount{Destination: "/y", Type: "bind", Source: "/src"},
		specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "nosuid", "size=1m"}},
	)
	p, err := FromSpec(s, bundle)
	if err != nil {
		t.Fatal(err)
	}
	x := p.Mounts[7]
	want := Mount{Source: filepath.Join(bundle, "vol"), Destination: "/x", Type: "bind",
		Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, Propagation: []uintptr{unix.MS_PRIVATE | unix.MS_REC}}
	if !reflect.DeepEqual(x, want) {
		t.Errorf("relative bind:\n got %+v\nwant %+v", x, want)
	}
	if !hasWarning(p, "mounts[7].destination") {
		t.Errorf("no warning for a relative destination: %q", p.Warnings)
	}
	if y := p.Mounts[8]; y.Flags != unix.MS_BIND || y.Type != "bind" || y.Source != "/src" {
		t.Errorf(`type "bind" mount = %+v`, y)
	}
	if tm := p.Mounts[9]; !tm.CopyUp || tm.Data != "size=1m" || tm.Flags != unix.MS_NOSUID {
		t.Errorf("tmpcopyup mount = %+v", tm)
	}
}

func TestProcessConversion(t *testing.T) {
	s := Default(false)
	s.Process.Env = []string{"A=1", "B=2", "A=3", "C="}
	s.Process.Cwd = "/work/./dir/"
	s.Process.Terminal = false
	s.Process.ConsoleSize = &specs.Box{Height: 10, Width: 20}
	s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 6}, Umask: ptr(uint32(0o27))}
	s.Process.OOMScoreAdj = ptr(500)
	s.Process.Capabilities.Inheritable = []string{"CAP_CHOWN"}
	s.Process.Capabilities.Ambient = []string{"CAP_CHOWN", "CAP_CHOWN"}
	s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_CORE", Hard: 10, Soft: 5})
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	pr := p.Process
	if !reflect.DeepEqual(pr.Env, []string{"B=2", "A=3", "C="}) {
		t.Errorf("env = %q, want the last A to win", pr.Env)
	}
	if pr.Cwd != "/work/dir" {
		t.Errorf("cwd = %q", pr.Cwd)
	}
	if pr.ConsoleSize != nil {
		t.Error("consoleSize must be ignored without a terminal")
	}
	if pr.UID != 1000 || pr.GID != 1000 || !reflect.DeepEqual(pr.AdditionalGids, []uint32{5, 6}) || *pr.Umask != 0o27 {
		t.Errorf("user = %d:%d %v %v", pr.UID, pr.GID, pr.AdditionalGids, pr.Umask)
	}
	if *pr.OOMScoreAdj != 500 {
		t.Errorf("oomScoreAdj = %d", *pr.OOMScoreAdj)
	}
	if !reflect.DeepEqual(pr.Caps.Inheritable, []uint{unix.CAP_CHOWN}) || !reflect.DeepEqual(pr.Caps.Ambient, []uint{unix.CAP_CHOWN}) {
		t.Errorf("caps = %+v", pr.Caps)
	}
	if pr.Rlimits[1] != (Rlimit{Type: unix.RLIMIT_CORE, Hard: 10, Soft: 5}) {
		t.Errorf("rlimits = %+v", pr.Rlimits)
	}

	s.Process.Terminal = true
	if p, err = FromSpec(s, newBundle(t)); err != nil || p.Process.ConsoleSize == nil || p.Process.ConsoleSize.Width != 20 {
		t.Errorf("consoleSize with a terminal: %v %+v", err, p.Process.ConsoleSize)
	}
}

func TestUnknownCapabilityWarns(t *testing.T) {
	s := Default(false)
	s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_FUTURE", "sys_admin")
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatalf("unknown capabilities must not fail (runtime-spec: log a warning): %v", err)
	}
	if !hasWarning(p, `process.capabilities.bounding[3]: unknown capability "CAP_FUTURE"`) {
		t.Errorf("no warning naming bounding[3]: %q", p.Warnings)
	}
	if !hasWarning(p, `process.capabilities.bounding[4]: unknown capability "sys_admin" ignored (did you mean "CAP_SYS_ADMIN"?)`) {
		t.Errorf("no hint for sys_admin: %q", p.Warnings)
	}
	if len(p.Process.Caps.Bounding) != 3 {
		t.Errorf("bounding = %v", p.Process.Caps.Bounding)
	}
}

func TestCapabilityNames(t *testing.T) {
	for c := uint(0); c <= unix.CAP_LAST_CAP; c++ {
		name := CapabilityName(c)
		got, ok := CapabilityByName(name)
		if !ok || got != c {
			t.Errorf("capability %d: name %q maps back to %d, %v", c, name, got, ok)
		}
	}
	if n, ok := CapabilityByName("CAP_SYS_ADMIN"); !ok || n != unix.CAP_SYS_ADMIN {
		t.Errorf("CAP_SYS_ADMIN = %d", n)
	}
	if CapabilityName(99) != "CAP_99" {
		t.Errorf("CapabilityName(99) = %q", CapabilityName(99))
	}
}

func TestRlimitNames(t *testing.T) {
	for name, want := range map[string]int{
		"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
		"RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_AS": unix.RLIMIT_AS,
	} {
		if got, ok := RlimitByName(name); !ok || got != want {
			t.Errorf("%s = %d, %v", name, got, ok)
		}
	}
	if _, ok := RlimitByName("NOFILE"); ok {
		t.Error("names without the RLIMIT_ prefix must not be accepted")
	}
}

func TestDevicesConversion(t *testing.T) {
	s := Default(false)
	s.Linux.Devices = []specs.LinuxDevice{
		{Path: "/dev/fuse", Type: "u", Major: 10, Minor: 229},
		{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0, FileMode: ptr(os.FileMode(unix.S_IFBLK | 0o660)), UID: ptr(uint32(1)), GID: ptr(uint32(6))},
		{Path: "/run/fifo", Type: "p"},
	}
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{
		{Path: "/dev/fuse", Type: 'c', Major: 10, Minor: 229, FileMode: 0o666},
		{Path: "/dev/sda", Type: 'b', Major: 8, Minor: 0, FileMode: 0o660, UID: 1, GID: 6},
		{Path: "/run/fifo", Type: 'p', FileMode: 0o666},
	}
	if !reflect.DeepEqual(p.Devices, want) {
		t.Errorf("devices:\n got %+v\nwant %+v", p.Devices, want)
	}
}

func TestDefaultDevices(t *testing.T) {
	d := DefaultDevices()
	want := map[string][2]int64{
		"/dev/null": {1, 3}, "/dev/zero": {1, 5}, "/dev/full": {1, 7},
		"/dev/random": {1, 8}, "/dev/urandom": {1, 9}, "/dev/tty": {5, 0},
	}
	if len(d) != len(want) {
		t.Fatalf("got %d devices", len(d))
	}
	for _, dev := range d {
		w, ok := want[dev.Path]
		if !ok || dev.Type != 'c' || dev.Major != w[0] || dev.Minor != w[1] || dev.FileMode != 0o666 || dev.UID != 0 || dev.GID != 0 {
			t.Errorf("default device %+v", dev)
		}
	}
	d[0].Path = "/changed"
	if DefaultDevices()[0].Path != "/dev/null" {
		t.Error("DefaultDevices returns shared state")
	}
}

func TestUnenforcedWarnings(t *testing.T) {
	s := Default(false)
	s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}
	s.Process.ApparmorProfile = "docker-default"
	s.Process.SelinuxLabel = "x"
	s.Linux.MountLabel = "x"
	s.Linux.IntelRdt = &specs.LinuxIntelRdt{}
	s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux}
	s.Process.IOPriority = &specs.LinuxIOPriority{}
	s.Process.Scheduler = &specs.Scheduler{}
	s.Process.ExecCPUAffinity = &specs.CPUAffinity{}
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatalf("unenforced fields must not fail: %v", err)
	}
	for _, f := range []string{"linux.seccomp", "process.apparmorProfile", "process.selinuxLabel", "linux.mountLabel",
		"linux.intelRdt", "linux.personality", "process.ioPriority", "process.scheduler", "process.execCPUAffinity"} {
		if !hasWarning(p, f+": accepted but not enforced yet") {
			t.Errorf("no warning for %s: %q", f, p.Warnings)
		}
	}
}

func TestJoinedUserNSMappingsWarn(t *testing.T) {
	s := Default(false)
	withUserNS(s)
	setNSPath(s, specs.UserNamespace, "/proc/self/ns/user")
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(p, "linux.uidMappings/gidMappings") {
		t.Errorf("no warning: %q", p.Warnings)
	}
}

func TestTimeOffsets(t *testing.T) {
	s := Default(false)
	addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
	s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 86400}, "boottime": {Secs: -5, Nanosecs: 7}}
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.TimeOffsets, s.Linux.TimeOffsets) {
		t.Errorf("time offsets = %+v", p.TimeOffsets)
	}
	if f, _ := NamespaceFlag(specs.TimeNamespace); f != unix.CLONE_NEWTIME {
		t.Errorf("time flag = %#x", f)
	}
}

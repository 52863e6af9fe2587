package spec

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func addNS(s *specs.Spec, ns ...specs.LinuxNamespace) {
	s.Linux.Namespaces = append(s.Linux.Namespaces, ns...)
}

func dropNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	var out []specs.LinuxNamespace
	for _, ns := range s.Linux.Namespaces {
		if ns.Type != t {
			out = append(out, ns)
		}
	}
	s.Linux.Namespaces = out
}

func setNSPath(s *specs.Spec, t specs.LinuxNamespaceType, path string) {
	for i := range s.Linux.Namespaces {
		if s.Linux.Namespaces[i].Type == t {
			s.Linux.Namespaces[i].Path = path
		}
	}
}

func withUserNS(s *specs.Spec) {
	addNS(s, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
}

func TestRootErrors(t *testing.T) {
	runFieldCases(t, []fieldCase{
		{"nil root", func(s *specs.Spec) { s.Root = nil }, "root", "must be set"},
		{"empty path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path", "must be set"},
		{"missing", func(s *specs.Spec) { s.Root.Path = "nope" }, "root.path", "no such file or directory"},
		{"not a dir", func(s *specs.Spec) { s.Root.Path = "/dev/null" }, "root.path", "not a directory"},
		{"nul", func(s *specs.Spec) { s.Root.Path = "root\x00fs" }, "root.path", "NUL"},
	})
}

func TestProcessErrors(t *testing.T) {
	runFieldCases(t, []fieldCase{
		{"no process", func(s *specs.Spec) { s.Process = nil }, "process", "must be set"},
		{"no args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args", "must not be empty"},
		{"empty args0", func(s *specs.Spec) { s.Process.Args = []string{"", "x"} }, "process.args[0]", "must not be empty"},
		{"nul in arg", func(s *specs.Spec) { s.Process.Args = []string{"sh", "a\x00b"} }, "process.args[1]", "NUL"},
		{"no cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd", "must be set"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "process.cwd", "absolute"},
		{"env without =", func(s *specs.Spec) { s.Process.Env = []string{"A=1", "FOO"} }, "process.env[1]", "NAME=VALUE"},
		{"env empty name", func(s *specs.Spec) { s.Process.Env = []string{"=x"} }, "process.env[0]", "empty name"},
		{"env nul", func(s *specs.Spec) { s.Process.Env = []string{"A=1", "B=\x00"} }, "process.env[1]", "NUL"},
		{"umask", func(s *specs.Spec) { s.Process.User.Umask = ptr(uint32(0o1000)) }, "process.user.umask", "not a umask"},
		{"umask ok", func(s *specs.Spec) { s.Process.User.Umask = ptr(uint32(0o22)) }, "", ""},
		{"rlimit unknown", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_FOO", Hard: 1, Soft: 1})
		}, "process.rlimits[1].type", `unknown rlimit "RLIMIT_FOO"`},
		{"rlimit duplicate", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: 1, Soft: 1})
		}, "process.rlimits[1].type", "duplicate"},
		{"rlimit soft>hard", func(s *specs.Spec) {
			s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_CORE", Hard: 1, Soft: 2}}
		}, "process.rlimits[0]", "soft limit 2 is above hard limit 1"},
		{"oom too big", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1001) }, "process.oomScoreAdj", "out of range"},
		{"oom too small", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1001) }, "process.oomScoreAdj", "out of range"},
		{"oom edge", func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1000) }, "", ""},
	})
}

func TestNamespaceErrors(t *testing.T) {
	runFieldCases(t, []fieldCase{
		{"unknown", func(s *specs.Spec) { s.Linux.Namespaces[2].Type = "foo" }, "linux.namespaces[2].type", `unknown namespace "foo"`},
		{"duplicate", func(s *specs.Spec) { addNS(s, specs.LinuxNamespace{Type: specs.PIDNamespace}) }, "linux.namespaces[6].type", "duplicate namespace \"pid\" (already in linux.namespaces[0])"},
		{"relative path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "proc/1/ns/net" }, "linux.namespaces[1].path", "absolute"},
		{"missing path", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/nonexistent/ns/net" }, "linux.namespaces[1].path", "no such file or directory: the namespace to join must exist"},
		{"not an ns file", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/dev/null" }, "linux.namespaces[1].path", "not a namespace file"},
		{"wrong ns type", func(s *specs.Spec) { s.Linux.Namespaces[1].Path = "/proc/self/ns/ipc" }, "linux.namespaces[1].path", `is a namespace of type "ipc", not "network"`},
		{"join ok", func(s *specs.Spec) { setNSPath(s, specs.NetworkNamespace, "/proc/self/ns/net") }, "", ""},
		{"join time ok", func(s *specs.Spec) {
			addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/self/ns/time"})
		}, "", ""},
		{"userns without uid maps", func(s *specs.Spec) { addNS(s, specs.LinuxNamespace{Type: specs.UserNamespace}) }, "linux.uidMappings", "must be set"},
		{"userns without gid maps", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.GIDMappings = nil
		}, "linux.gidMappings", "must be set"},
		{"maps without userns", func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, "linux.uidMappings", "no user namespace"},
		{"gid maps without userns", func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{Size: 1}}
		}, "linux.gidMappings", "no user namespace"},
		{"map size 0", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.GIDMappings = append(s.Linux.GIDMappings, specs.LinuxIDMapping{ContainerID: 70000})
		}, "linux.gidMappings[1].size", "greater than 0"},
		{"map overflow", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.UIDMappings[0].HostID = 4294967295
		}, "linux.uidMappings[0]", "past the largest id"},
		{"uid not mapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Process.User.UID = 70000
		}, "process.user.uid", "70000 is not mapped"},
		{"gid not mapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Process.User.GID = 70000
		}, "process.user.gid", "70000 is not mapped"},
		{"additional gid not mapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Process.User.AdditionalGids = []uint32{5, 70000}
		}, "process.user.additionalGids[1]", "70000 is not mapped"},
		{"userns ok", withUserNS, "", ""},
		{"offsets without timens", func(s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, "linux.timeOffsets", "no time namespace"},
		{"offsets with joined timens", func(s *specs.Spec) {
			addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/self/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 1}}
		}, "linux.timeOffsets", "either a path or offsets"},
		{"offsets unknown clock", func(s *specs.Spec) {
			addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 1}}
		}, "linux.timeOffsets.realtime", "unknown clock"},
		{"offsets nanosecs", func(s *specs.Spec) {
			addNS(s, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Nanosecs: 1e9}}
		}, "linux.timeOffsets.boottime.nanosecs", "less than"},
		{"hostname without uts", func(s *specs.Spec) { dropNS(s, specs.UTSNamespace) }, "hostname", "private UTS namespace"},
		{"domainname without uts", func(s *specs.Spec) {
			dropNS(s, specs.UTSNamespace)
			s.Hostname = ""
			s.Domainname = "example.org"
		}, "domainname", "private UTS namespace"},
		{"hostname with joined uts", func(s *specs.Spec) { setNSPath(s, specs.UTSNamespace, "/proc/self/ns/uts") }, "", ""},
		{"hostname too long", func(s *specs.Spec) { s.Hostname = string(make([]byte, 65)) }, "hostname", "at most 64"},
	})
}

func TestSysctlErrors(t *testing.T) {
	sysctl := func(k, v string) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{k: v} }
	}
	and := func(fs ...func(*specs.Spec)) func(*specs.Spec) {
		return func(s *specs.Spec) {
			for _, f := range fs {
				f(s)
			}
		}
	}
	runFieldCases(t, []fieldCase{
		{"net with netns", sysctl("net.ipv4.ip_forward", "1"), "", ""},
		{"net without netns", and(sysctl("net.ipv4.ip_forward", "1"), func(s *specs.Spec) { dropNS(s, specs.NetworkNamespace) }),
			"linux.sysctl.net.ipv4.ip_forward", "host's network namespace"},
		{"net in joined host netns", and(sysctl("net.ipv4.ip_forward", "1"), func(s *specs.Spec) { setNSPath(s, specs.NetworkNamespace, "/proc/self/ns/net") }),
			"linux.sysctl.net.ipv4.ip_forward", "is the host's"},
		{"ipc with ipcns", sysctl("kernel.shmmax", "1"), "", ""},
		{"ipc without ipcns", and(sysctl("kernel.shmmax", "1"), func(s *specs.Spec) { dropNS(s, specs.IPCNamespace) }),
			"linux.sysctl.kernel.shmmax", "IPC namespace"},
		{"mqueue without ipcns", and(sysctl("fs.mqueue.msg_max", "1"), func(s *specs.Spec) { dropNS(s, specs.IPCNamespace) }),
			"linux.sysctl.fs.mqueue.msg_max", "IPC namespace"},
		{"domainname with uts", sysctl("kernel.domainname", "x"), "", ""},
		{"domainname without uts", and(sysctl("kernel.domainname", "x"), func(s *specs.Spec) {
			dropNS(s, specs.UTSNamespace)
			s.Hostname = ""
		}), "linux.sysctl.kernel.domainname", "UTS namespace"},
		{"kernel.hostname", sysctl("kernel.hostname", "x"), "linux.sysctl.kernel.hostname", `"hostname" field`},
		{"not namespaced", sysctl("vm.swappiness", "1"), "linux.sysctl.vm.swappiness", "not in a separate kernel namespace"},
		{"user without userns", sysctl("user.max_user_namespaces", "1"), "linux.sysctl.user.max_user_namespaces", "user namespace"},
		{"user with userns", and(sysctl("user.max_user_namespaces", "1"), withUserNS), "", ""},
		{"slash form", sysctl("net/ipv4/ip_forward", "1"), "", ""},
		{"dotdot", sysctl("net/../../kernel/x", "1"), "linux.sysctl.net/../../kernel/x", "not a valid sysctl name"},
		{"empty component", sysctl("net..ipv4", "1"), "linux.sysctl.net..ipv4", "not a valid sysctl name"},
	})
}

func TestSysctlSlashFormIsNormalised(t *testing.T) {
	s := Default(false)
	s.Linux.Sysctl = map[string]string{"net/ipv4/conf/eth0.100/rp_filter": "1", "net.ipv4.ip_forward": "0"}
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Sysctl["net.ipv4.conf.eth0/100.rp_filter"]; got != "1" {
		t.Errorf("slash-form key not converted: %v", p.Sysctl)
	}
	if got := p.Sysctl["net.ipv4.ip_forward"]; got != "0" {
		t.Errorf("dotted key changed: %v", p.Sysctl)
	}
}

func TestMountErrors(t *testing.T) {
	add := func(m specs.Mount) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Mounts = append(s.Mounts, m) }
	}
	runFieldCases(t, []fieldCase{
		{"empty destination", add(specs.Mount{Type: "tmpfs", Source: "tmpfs"}), "mounts[7].destination", "must be set"},
		{"root destination", func(s *specs.Spec) { s.Mounts[3].Destination = "/" }, "mounts[3].destination", "cannot be /"},
		{"root destination unclean", func(s *specs.Spec) { s.Mounts[3].Destination = "/x/.." }, "mounts[3].destination", "cannot be /"},
		{"relative destination ok", add(specs.Mount{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"}), "", ""},
		{"bind without source", add(specs.Mount{Destination: "/x", Type: "bind", Options: []string{"rbind"}}), "mounts[7].source", "must be set for a bind mount"},
		{"type bind without source", add(specs.Mount{Destination: "/x", Type: "bind"}), "mounts[7].source", "must be set for a bind mount"},
		{"bind with data", add(specs.Mount{Destination: "/x", Source: "/tmp", Type: "none", Options: []string{"rbind", "size=1k"}}), "mounts[7].options", `"size=1k" cannot apply to a bind mount`},
		{"no type", add(specs.Mount{Destination: "/x", Source: "tmpfs"}), "mounts[7].type", "must be set"},
		{"idmap", add(specs.Mount{Destination: "/x", Source: "/tmp", Type: "bind", Options: []string{"rbind", "idmap"}}), "mounts[7].options[1]", "not supported yet"},
		{"ridmap", add(specs.Mount{Destination: "/x", Source: "/tmp", Type: "bind", Options: []string{"ridmap"}}), "mounts[7].options[0]", "not supported yet"},
		{"mount mappings", add(specs.Mount{Destination: "/x", Source: "/tmp", Type: "bind", GIDMappings: []specs.LinuxIDMapping{{Size: 1}}}), "mounts[7].gidMappings", "not supported yet"},
		{"rro", add(specs.Mount{Destination: "/x", Source: "/tmp", Type: "bind", Options: []string{"rbind", "nosuid", "rro"}}), "mounts[7].options[2]", `"rro" (a recursive mount attribute) is not supported yet by hull: use "ro"`},
		{"tmpcopyup on proc", add(specs.Mount{Destination: "/x", Source: "proc", Type: "proc", Options: []string{"tmpcopyup"}}), "mounts[7].options", `only applies to mounts of type "tmpfs"`},
		{"tmpcopyup on tmpfs", add(specs.Mount{Destination: "/x", Source: "tmpfs", Type: "tmpfs", Options: []string{"tmpcopyup"}}), "", ""},
		{"nul in option", add(specs.Mount{Destination: "/x", Source: "tmpfs", Type: "tmpfs", Options: []string{"mode=1\x007"}}), "mounts[7].options[0]", "NUL"},
		{"nul in source", add(specs.Mount{Destination: "/x", Source: "tm\x00pfs", Type: "tmpfs"}), "mounts[7].source", "NUL"},
		{"no mount ns", func(s *specs.Spec) { dropNS(s, specs.MountNamespace) }, "mounts", "need a mount namespace"},
		{"masked relative", func(s *specs.Spec) { s.Linux.MaskedPaths[1] = "proc/kcore" }, "linux.maskedPaths[1]", "absolute"},
		{"readonly relative", func(s *specs.Spec) { s.Linux.ReadonlyPaths[0] = "proc/sys" }, "linux.readonlyPaths[0]", "absolute"},
		{"masked without mount ns", func(s *specs.Spec) {
			dropNS(s, specs.MountNamespace)
			s.Mounts = nil
		}, "linux.maskedPaths", "need a mount namespace"},
		{"propagation unknown", func(s *specs.Spec) { s.Linux.RootfsPropagation = "bogus" }, "linux.rootfsPropagation", `unknown propagation "bogus"`},
		{"propagation without mount ns", func(s *specs.Spec) {
			dropNS(s, specs.MountNamespace)
			s.Mounts = nil
			s.Linux.MaskedPaths = nil
			s.Linux.ReadonlyPaths = nil
			s.Linux.RootfsPropagation = "shared"
		}, "linux.rootfsPropagation", "need a mount namespace"},
	})
}

func TestDeviceErrors(t *testing.T) {
	dev := func(ds ...specs.LinuxDevice) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Linux.Devices = ds }
	}
	fuse := specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}
	runFieldCases(t, []fieldCase{
		{"ok", dev(fuse), "", ""},
		{"no path", dev(specs.LinuxDevice{Type: "c", Major: 1, Minor: 3}), "linux.devices[0].path", "must be set"},
		{"relative", dev(specs.LinuxDevice{Path: "dev/fuse", Type: "c", Major: 10, Minor: 229}), "linux.devices[0].path", "absolute"},
		{"dev itself", dev(specs.LinuxDevice{Path: "/dev/", Type: "c", Major: 10, Minor: 229}), "linux.devices[0].path", "cannot be a device node"},
		{"bad type", dev(fuse, specs.LinuxDevice{Path: "/dev/x", Type: "x", Major: 1, Minor: 1}), "linux.devices[1].type", `unknown device type "x"`},
		{"no numbers", dev(specs.LinuxDevice{Path: "/dev/x", Type: "b"}), "linux.devices[0]", "major and minor must be set"},
		{"fifo without numbers", dev(specs.LinuxDevice{Path: "/dev/fifo", Type: "p"}), "", ""},
		{"major range", dev(specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: 4096, Minor: 1}), "linux.devices[0].major", "out of range"},
		{"minor range", dev(specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: 1, Minor: -1}), "linux.devices[0].minor", "out of range"},
		{"duplicate", dev(fuse, fuse), "linux.devices[1].path", "already in linux.devices[0]"},
		{"duplicate unclean", dev(fuse, specs.LinuxDevice{Path: "/dev//fuse", Type: "c", Major: 10, Minor: 229}), "linux.devices[1].path", "already in linux.devices[0]"},
		{"bad mode", dev(specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: 1, Minor: 1, FileMode: ptr(os.FileMode(0o1000000))}), "linux.devices[0].fileMode", "not a file mode"},
	})
}

func TestHookAndCgroupErrors(t *testing.T) {
	runFieldCases(t, []fieldCase{
		{"hook relative", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "bin/true"}}}
		}, "hooks.prestart[0].path", "absolute"},
		{"hook empty", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true"}, {}}}
		}, "hooks.createRuntime[1].path", "must be set"},
		{"hook timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true", Timeout: ptr(0)}}}
		}, "hooks.poststop[0].timeout", "greater than zero"},
		{"hook env", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true", Env: []string{"X"}}}}
		}, "hooks.startContainer[0].env[0]", "NAME=VALUE"},
		{"hooks ok", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true", Timeout: ptr(5)}}}
		}, "", ""},
		{"cgroups dotdot", func(s *specs.Spec) { s.Linux.CgroupsPath = "/a/../../b" }, "linux.cgroupsPath", `must not contain ".."`},
		{"cgroups systemd dotdot", func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:..:x" }, "linux.cgroupsPath", `must not contain ".."`},
		{"cgroups ok", func(s *specs.Spec) { s.Linux.CgroupsPath = "/hull/a..b" }, "", ""},
		{"device rule access", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "" }, "linux.resources.devices[0].access", "must be set"},
		{"device rule access chars", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Access = "rwx" }, "linux.resources.devices[0].access", "r, w and m"},
		{"device rule type", func(s *specs.Spec) { s.Linux.Resources.Devices[0].Type = "p" }, "linux.resources.devices[0].type", `unknown device type "p"`},
		{"annotation key", func(s *specs.Spec) { s.Annotations = map[string]string{"": "x"} }, "annotations", "must not be empty"},
	})
}

func TestNilLinux(t *testing.T) {
	s := Default(false)
	s.Linux = nil
	s.Mounts = nil
	s.Hostname = ""
	p, err := FromSpec(s, newBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Namespaces) != 0 || p.RootPropagation == 0 {
		t.Errorf("plan without linux: namespaces %v, propagation %#x", p.Namespaces, p.RootPropagation)
	}
}

func TestFromSpecNil(t *testing.T) {
	_, err := FromSpec(nil, t.TempDir())
	wantFieldErr(t, err, "", "no configuration")
}

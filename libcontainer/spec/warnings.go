package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// unenforced lists the fields that are set but that hull accepts without
// acting on them yet. Refusing them would break every engine (docker always
// sends a seccomp profile); saying so keeps the gap visible.
func unenforced(s *specs.Spec) []string {
	var w []string
	add := func(set bool, field string) {
		if set {
			w = append(w, field+": accepted but not enforced yet by hull")
		}
	}
	if sp := s.Process; sp != nil {
		add(sp.ApparmorProfile != "", "process.apparmorProfile")
		add(sp.SelinuxLabel != "", "process.selinuxLabel")
		add(sp.IOPriority != nil, "process.ioPriority")
		add(sp.Scheduler != nil, "process.scheduler")
		add(sp.ExecCPUAffinity != nil, "process.execCPUAffinity")
	}
	if l := s.Linux; l != nil {
		add(l.Seccomp != nil, "linux.seccomp")
		add(l.MountLabel != "", "linux.mountLabel")
		add(l.IntelRdt != nil, "linux.intelRdt")
		add(l.Personality != nil, "linux.personality")
		add(l.MemoryPolicy != nil, "linux.memoryPolicy")
		add(len(l.NetDevices) > 0, "linux.netDevices")
	}
	return w
}

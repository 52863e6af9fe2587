package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var rlimitTypes = [...]struct {
	name string
	num  int
}{
	{"RLIMIT_AS", unix.RLIMIT_AS},
	{"RLIMIT_CORE", unix.RLIMIT_CORE},
	{"RLIMIT_CPU", unix.RLIMIT_CPU},
	{"RLIMIT_DATA", unix.RLIMIT_DATA},
	{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE},
	{"RLIMIT_LOCKS", unix.RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", unix.RLIMIT_MEMLOCK},
	{"RLIMIT_MSGQUEUE", unix.RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", unix.RLIMIT_NICE},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE},
	{"RLIMIT_NPROC", unix.RLIMIT_NPROC},
	{"RLIMIT_RSS", unix.RLIMIT_RSS},
	{"RLIMIT_RTPRIO", unix.RLIMIT_RTPRIO},
	{"RLIMIT_RTTIME", unix.RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", unix.RLIMIT_SIGPENDING},
	{"RLIMIT_STACK", unix.RLIMIT_STACK},
}

// RlimitByName returns the resource number of an RLIMIT_* name.
func RlimitByName(name string) (int, bool) {
	for _, r := range rlimitTypes[:] {
		if r.name == name {
			return r.num, true
		}
	}
	return 0, false
}

// convertRlimits rejects what setrlimit would refuse later, when the error
// could no longer name the entry (the spec requires an error for unknown
// types and for duplicates).
func convertRlimits(in []specs.POSIXRlimit) ([]Rlimit, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]Rlimit, 0, len(in))
	for i, r := range in {
		field := idx("process.rlimits", i)
		num, ok := RlimitByName(r.Type)
		if !ok {
			return nil, fieldErr(field+".type", "unknown rlimit %q: want one of RLIMIT_AS, CORE, CPU, DATA, FSIZE, LOCKS, MEMLOCK, MSGQUEUE, NICE, NOFILE, NPROC, RSS, RTPRIO, RTTIME, SIGPENDING, STACK", r.Type)
		}
		for j, prev := range out {
			if prev.Type == num {
				return nil, fieldErr(field+".type", "duplicate rlimit %q (already in process.rlimits[%d]): list each type once", r.Type, j)
			}
		}
		if r.Soft > r.Hard {
			return nil, fieldErr(field, "soft limit %d is above hard limit %d for %s: the soft limit must not exceed the hard one", r.Soft, r.Hard, r.Type)
		}
		out = append(out, Rlimit{Type: num, Hard: r.Hard, Soft: r.Soft})
	}
	return out, nil
}

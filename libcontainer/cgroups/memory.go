package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MemoryBytes are linux.resources.memory's byte counts: 0 is unset, -1 is
// unlimited.
type MemoryBytes struct {
	Limit, Reservation, Swap int64
}

// MemoryValues checks the byte counts both cgroup versions convert; other
// negatives than -1 are rejected here because the kernel would only say
// "invalid argument".
func MemoryValues(m *specs.LinuxMemory) (MemoryBytes, error) {
	var b MemoryBytes
	for _, v := range []struct {
		field string
		in    *int64
		out   *int64
	}{
		{"limit", m.Limit, &b.Limit},
		{"reservation", m.Reservation, &b.Reservation},
		{"swap", m.Swap, &b.Swap},
	} {
		if v.in == nil {
			continue
		}
		if *v.in < -1 {
			return b, fmt.Errorf("linux.resources.memory.%s: must be a byte count or -1 for unlimited, got %d", v.field, *v.in)
		}
		*v.out = *v.in
	}
	return b, nil
}

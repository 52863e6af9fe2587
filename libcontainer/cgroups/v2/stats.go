package v2

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Stats reads the accounting files into runc's v1-shaped stats, converting
// as runc's fs2 does: microseconds to nanoseconds, "max" to MaxUint64 for
// memory limits and to 0 for pids.max, swap reported as memory+swap. A
// controller that is not enabled leaves its part zero (cpu.stat's usage is
// there without the cpu controller).
func (m *Manager) Stats() (*cgroups.Stats, error) {
	if !cgroups.DirExists(m.dir) {
		return nil, fmt.Errorf("cgroup %s does not exist", m.dir)
	}
	s := &cgroups.Stats{}
	d := m.dir

	cpu := readKV(d, "cpu.stat")
	s.CPU.Usage.Total = cpu["usage_usec"] * 1000
	s.CPU.Usage.User = cpu["user_usec"] * 1000
	s.CPU.Usage.Kernel = cpu["system_usec"] * 1000
	s.CPU.Throttling = cgroups.Throttling{
		Periods:          cpu["nr_periods"],
		ThrottledPeriods: cpu["nr_throttled"],
		ThrottledTime:    cpu["throttled_usec"] * 1000,
	}

	if usage, ok := readUint(d, "memory.current"); ok {
		s.Memory.Raw = readKV(d, "memory.stat")
		s.Memory.Cache = s.Memory.Raw["file"]
		limit, _ := readUint(d, "memory.max")
		peak, _ := readUint(d, "memory.peak") // Linux 5.19+
		events := readKV(d, "memory.events")
		s.Memory.Usage = cgroups.MemoryEntry{Usage: usage, Limit: limit, Max: peak, Failcnt: events["max"]}
		s.Memory.OOM, s.Memory.OOMKill = events["oom"], events["oom_kill"]
		// v1 reports swap as memory+swap; runc keeps that shape on v2.
		swap := cgroups.MemoryEntry{Usage: usage, Limit: math.MaxUint64}
		if su, ok := readUint(d, "memory.swap.current"); ok {
			swap.Usage += su
			if sl, _ := readUint(d, "memory.swap.max"); sl != math.MaxUint64 && limit != math.MaxUint64 {
				swap.Limit = sl + limit
			}
		}
		s.Memory.Swap = swap
	}

	if cur, ok := readUint(d, "pids.current"); ok {
		s.Pids.Current = cur
		if max, _ := readUint(d, "pids.max"); max != math.MaxUint64 {
			s.Pids.Limit = max // "max" is reported as 0, runc's "no limit"
		}
	} else if pids, err := cgroups.ReadPids(d); err == nil {
		// Without the pids controller, count the processes.
		s.Pids.Current = uint64(len(pids))
	}

	s.Blkio = readIOStat(d)
	s.Hugetlb = readHugetlb(d)
	return s, nil
}

func readString(dir, file string) (string, bool) {
	s, err := cgroups.ReadFile(dir, file)
	return s, err == nil
}

// readUint reads a one-value file; "max" is MaxUint64.
func readUint(dir, file string) (uint64, bool) {
	s, ok := readString(dir, file)
	if !ok {
		return 0, false
	}
	if s == "max" {
		return math.MaxUint64, true
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// readKV parses a flat-keyed file ("key value" lines: memory.stat,
// cpu.stat, memory.events).
func readKV(dir, file string) map[string]uint64 {
	kv := map[string]uint64{}
	s, _ := readString(dir, file)
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv
}

// readIOStat maps io.stat ("8:0 rbytes=1 wbytes=2 rios=3 wios=4 ...") to
// v1's tables, as runc does: bytes to ioServiceBytesRecursive, operations to
// ioServicedRecursive, with v1's "Read"/"Write" op names.
func readIOStat(dir string) cgroups.Blkio {
	var b cgroups.Blkio
	s, _ := readString(dir, "io.stat")
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		major, err1 := strconv.ParseUint(maj, 10, 64)
		minor, err2 := strconv.ParseUint(min, 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				continue
			}
			e := cgroups.BlkioEntry{Major: major, Minor: minor, Value: n}
			switch k {
			case "rbytes":
				e.Op = "Read"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "wbytes":
				e.Op = "Write"
				b.IoServiceBytesRecursive = append(b.IoServiceBytesRecursive, e)
			case "rios":
				e.Op = "Read"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			case "wios":
				e.Op = "Write"
				b.IoServicedRecursive = append(b.IoServicedRecursive, e)
			}
		}
	}
	return b
}

// readHugetlb reads every page size the cgroup has files for: usage from
// hugetlb.<size>.rsvd.current where the kernel has it (runc's choice: it
// counts reservations too), else .current; failcnt from .events' max.
func readHugetlb(dir string) map[string]cgroups.Hugetlb {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out map[string]cgroups.Hugetlb
	for _, e := range entries {
		name := e.Name()
		size, ok := strings.CutPrefix(name, "hugetlb.")
		if !ok {
			continue
		}
		size, ok = strings.CutSuffix(size, ".current")
		if !ok || strings.Contains(size, ".") {
			continue // hugetlb.2MB.rsvd.current, hugetlb.2MB.max, ...
		}
		usage, ok := readUint(dir, "hugetlb."+size+".rsvd.current")
		if !ok {
			usage, _ = readUint(dir, name)
		}
		if out == nil {
			out = map[string]cgroups.Hugetlb{}
		}
		out[size] = cgroups.Hugetlb{Usage: usage, Failcnt: readKV(dir, "hugetlb."+size+".events")["max"]}
	}
	return out
}

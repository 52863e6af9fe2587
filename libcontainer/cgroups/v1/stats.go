package v1

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// clockTicks is USER_HZ, the unit of cpuacct.stat; 100 on every Linux
// architecture hull builds for.
const clockTicks = 100

// Stats reads the v1 accounting files. A controller that is not mounted
// leaves its part zero.
func (m *Manager) Stats() (*cgroups.Stats, error) {
	s := &cgroups.Stats{}
	if d := m.dir("cpuacct"); d != "" {
		s.CPU.Usage.Total = readUint(d, "cpuacct.usage")
		for _, f := range strings.Fields(readString(d, "cpuacct.usage_percpu")) {
			v, _ := strconv.ParseUint(f, 10, 64)
			s.CPU.Usage.Percpu = append(s.CPU.Usage.Percpu, v)
		}
		kv := readKV(d, "cpuacct.stat")
		s.CPU.Usage.User = kv["user"] * 1e9 / clockTicks
		s.CPU.Usage.Kernel = kv["system"] * 1e9 / clockTicks
	}
	if d := m.dir("cpu"); d != "" {
		kv := readKV(d, "cpu.stat")
		s.CPU.Throttling = cgroups.Throttling{Periods: kv["nr_periods"], ThrottledPeriods: kv["nr_throttled"], ThrottledTime: kv["throttled_time"]}
	}
	if d := m.dir("memory"); d != "" {
		entry := func(prefix string) cgroups.MemoryEntry {
			return cgroups.MemoryEntry{
				Limit:   readUint(d, prefix+".limit_in_bytes"),
				Usage:   readUint(d, prefix+".usage_in_bytes"),
				Max:     readUint(d, prefix+".max_usage_in_bytes"),
				Failcnt: readUint(d, prefix+".failcnt"),
			}
		}
		s.Memory.Usage = entry("memory")
		s.Memory.Swap = entry("memory.memsw")
		s.Memory.Kernel = entry("memory.kmem")
		s.Memory.KernelTCP = entry("memory.kmem.tcp")
		s.Memory.Raw = readKV(d, "memory.stat")
		s.Memory.OOMKill = readKV(d, "memory.oom_control")["oom_kill"]
		s.Memory.Cache = s.Memory.Raw["cache"]
	}
	if d := m.dir("pids"); d != "" {
		s.Pids.Current = readUint(d, "pids.current")
		s.Pids.Limit = readUint(d, "pids.max") // "max" reads as 0: no limit
	}
	if d := m.dir("blkio"); d != "" {
		s.Blkio.IoServiceBytesRecursive = readBlkio(d, "blkio.throttle.io_service_bytes_recursive")
		s.Blkio.IoServicedRecursive = readBlkio(d, "blkio.throttle.io_serviced_recursive")
	}
	return s, nil
}

func (m *Manager) dir(controller string) string {
	if k := m.rec.Key(controller); k != "" {
		return m.rec.Paths[k]
	}
	return ""
}

func readString(dir, file string) string {
	s, _ := cgroups.ReadFile(dir, file)
	return s
}

func readUint(dir, file string) uint64 {
	v, _ := strconv.ParseUint(readString(dir, file), 10, 64)
	return v
}

// readKV parses "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
func readKV(dir, file string) map[string]uint64 {
	kv := map[string]uint64{}
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		return kv
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			kv[k] = n
		}
	}
	return kv
}

// readBlkio parses "maj:min Op value" lines.
func readBlkio(dir, file string) []cgroups.BlkioEntry {
	var out []cgroups.BlkioEntry
	for _, line := range strings.Split(readString(dir, file), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		maj, min, ok := strings.Cut(f[0], ":")
		if !ok {
			continue
		}
		e := cgroups.BlkioEntry{Op: f[1]}
		e.Major, _ = strconv.ParseUint(maj, 10, 64)
		e.Minor, _ = strconv.ParseUint(min, 10, 64)
		e.Value, _ = strconv.ParseUint(f[2], 10, 64)
		out = append(out, e)
	}
	return out
}

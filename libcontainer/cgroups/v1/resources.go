package v1

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Write is one value to write into one file of one controller's cgroup
// directory. The list is computed without touching the host, so the
// decisions runc makes by looking at the cgroup (which file name exists,
// which of two coupled values goes first) are carried as flags for the
// applier to act on.
type Write struct {
	Controller string // "memory", "cpu", "cpuset", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "devices", "rdma"
	File       string // e.g. "memory.limit_in_bytes"
	Value      string
	Field      string // the config field it comes from, for error messages

	// Alternatives are other names for File, tried in order when File does
	// not exist (ENOENT). Kernels name some files differently: the BFQ
	// scheduler's blkio.bfq.weight[_device] instead of blkio.weight[_device],
	// and a cpuset hierarchy mounted with "noprefix" has plain "cpus" and
	// "mems". runc probes for the first name the same way.
	Alternatives []string

	// Optional: when neither File nor an alternative exists, skip the write
	// instead of failing, because runc does. It marks features a kernel may
	// lack where runc carries on: cpu.cfs_burst_us (Linux 5.14+),
	// hugetlb.<size>.rsvd.limit_in_bytes (5.7+), and the memory+swap limit
	// that limit -1 only implies (memory.memsw.* is absent without swap
	// accounting). Every other error of an optional write is still an error.
	Optional bool

	// Retry: an EINVAL from this write is not final yet. The kernel checks it
	// against a coupled value the cgroup holds now (cfs period against the
	// current quota, rt period against rt runtime, memory limit against the
	// current memory+swap limit), so whether it must go before or after its
	// partner depends on the old values, which only an update has. On EINVAL
	// the applier applies the rest of this controller's writes and then this
	// one again; a second failure is the error. runc retries the cpu writes
	// the same way and reads the old memory limit to choose the order; both
	// come to the same result.
	Retry bool
}

// Kernel bounds that runc learns only by writing and reading back (or from
// the kernel's EINVAL); checking them here gives the error a field name.
const (
	minCPUShares   = 2      // kernel/sched MIN_SHARES
	maxCPUShares   = 262144 // kernel/sched MAX_SHARES (1<<18)
	minCFSPeriodUs = 1000   // 1ms, min_cfs_quota_period
	maxCFSPeriodUs = 1000000
	minCFSQuotaUs  = 1000
	maxSwappiness  = 100
	// Docker sends swappiness -1 ("unset") through a uint64 field.
	unsetSwappiness = math.MaxUint64
)

// Writes returns the writes for r in the order they must be applied, or an
// error naming the field, as one line. Warnings list what is accepted but
// ignored, for the CLI to log. Device rules are not here: see DeviceWrites.
//
// Order: controllers in runc's fs order (cpuset, memory, cpu, pids, blkio,
// hugetlb, net_cls, net_prio, rdma; runc puts devices between cpuset and
// memory), and within a controller runc's order. Applying the list to a
// freshly created cgroup succeeds without any Retry; Retry only matters for
// an update.
//
// As in runc, 0 means "not set" for memory limit/reservation/swap, cpu
// shares/quota/period/realtime values, blkio weights and net_cls classid:
// nothing is written for them.
func Writes(r *specs.LinuxResources) (writes []Write, warnings []string, err error) {
	if r == nil {
		return nil, nil, nil
	}
	if len(r.Unified) > 0 {
		keys := make([]string, 0, len(r.Unified))
		for k := range r.Unified {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return nil, nil, fmt.Errorf("linux.resources.unified: needs cgroup v2; this host's controllers are v1 (keys: %s): remove it and use the v1 fields (memory, cpu, pids, blockIO, ...)", strings.Join(keys, ", "))
	}
	b := &builder{}
	for _, step := range []func(*specs.LinuxResources) error{
		b.cpuset, b.memory, b.cpu, b.pids, b.blockIO, b.hugetlb, b.netCls, b.netPrio, b.rdma,
	} {
		if err := step(r); err != nil {
			return nil, nil, err
		}
	}
	return b.writes, b.warnings, nil
}

type builder struct {
	writes   []Write
	warnings []string
}

func (b *builder) add(w Write) { b.writes = append(b.writes, w) }

func (b *builder) warn(format string, args ...any) {
	b.warnings = append(b.warnings, fmt.Sprintf(format, args...))
}

func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

func (b *builder) cpuset(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	// The list syntax is left to the kernel: it accepts more than ranges
	// (e.g. "0-7:2/4" strides) and its EINVAL is reported with the field.
	if c.Cpus != "" {
		b.add(Write{Controller: "cpuset", File: "cpuset.cpus", Value: c.Cpus, Field: "linux.resources.cpu.cpus", Alternatives: []string{"cpus"}})
	}
	if c.Mems != "" {
		b.add(Write{Controller: "cpuset", File: "cpuset.mems", Value: c.Mems, Field: "linux.resources.cpu.mems", Alternatives: []string{"mems"}})
	}
	return nil
}

func (b *builder) memory(r *specs.LinuxResources) error {
	m := r.Memory
	if m == nil {
		return nil
	}
	const f = "linux.resources.memory."
	mb, err := cgroups.MemoryValues(m)
	if err != nil {
		return err
	}
	limit, reservation, swap := mb.Limit, mb.Reservation, mb.Swap
	// The kernel keeps memsw >= limit at all times; a pair that breaks it can
	// never be applied, whatever the order.
	if swap > 0 && limit == -1 {
		return fmt.Errorf("%sswap: must be -1 or at least memory.limit (swap %d, limit -1 = unlimited): swap limits memory+swap, so set it to -1 or give memory.limit a value no larger than swap", f, swap)
	}
	if swap > 0 && limit > 0 && swap < limit {
		return fmt.Errorf("%sswap: must be -1 or at least memory.limit (swap %d < limit %d): swap limits memory+swap, so set it to the limit plus the swap you want, or -1", f, swap, limit)
	}

	limitW := Write{Controller: "memory", File: "memory.limit_in_bytes", Value: i64(limit), Field: f + "limit"}
	swapW := Write{Controller: "memory", File: "memory.memsw.limit_in_bytes", Value: i64(swap), Field: f + "swap"}
	if limit == -1 && swap == 0 {
		// runc lifts memsw with an unlimited limit, else the limit write
		// would fail against an old memsw; only where swap accounting exists.
		swapW.Value, swapW.Field, swapW.Optional = "-1", f+"limit", true
		swap = -1
	}
	switch {
	case limit != 0 && swap == -1:
		// Lifting memsw first can never break memsw >= limit.
		b.add(swapW)
		b.add(limitW)
	case limit != 0 && swap != 0:
		// A fresh cgroup has memsw unlimited, so limit first always fits;
		// an update that raises the limit past the old memsw retries it
		// after the new memsw (runc: swap first when the old limit < swap).
		limitW.Retry = true
		b.add(limitW)
		b.add(swapW)
	case limit != 0:
		b.add(limitW)
	case swap != 0:
		b.add(swapW)
	}

	if m.Kernel != nil { //nolint:staticcheck // read only to warn that it is ignored
		b.warn("%skernel: ignored, as runc 1.1+ does: kernel memory limits are obsolete since Linux 5.4 (and gone in 6.x); remove the field", f)
	}
	if m.KernelTCP != nil {
		b.warn("%skernelTCP: ignored, as runc 1.1+ does: kernel TCP memory limits are deprecated; remove the field", f)
	}
	if reservation != 0 {
		b.add(Write{Controller: "memory", File: "memory.soft_limit_in_bytes", Value: i64(reservation), Field: f + "reservation"})
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		b.add(Write{Controller: "memory", File: "memory.oom_control", Value: "1", Field: f + "disableOOMKiller"})
	}
	if s := m.Swappiness; s != nil && *s != unsetSwappiness {
		if *s > maxSwappiness {
			return fmt.Errorf("%sswappiness: must be 0-100, got %d: lower it (0 avoids swapping, 100 swaps most)", f, *s)
		}
		b.add(Write{Controller: "memory", File: "memory.swappiness", Value: u64(*s), Field: f + "swappiness"})
	}
	if h := m.UseHierarchy; h != nil {
		if *h {
			// A no-op on Linux 5.16+, which is always hierarchical; it
			// enables the mode on older kernels.
			b.add(Write{Controller: "memory", File: "memory.use_hierarchy", Value: "1", Field: f + "useHierarchy"})
		} else {
			b.warn("%suseHierarchy: false is ignored, as runc ignores the field: Linux 5.16+ is always hierarchical and refuses to turn it off; remove the field", f)
		}
	}
	// checkBeforeUpdate needs nothing on v1: the kernel itself refuses a
	// limit below the usage (EBUSY).
	return nil
}

func (b *builder) cpu(r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu."
	if c.Shares != nil && *c.Shares != 0 {
		s := *c.Shares
		// The kernel clamps out-of-range shares silently; runc reads the
		// value back and fails, so fail before writing.
		if s < minCPUShares || s > maxCPUShares {
			return fmt.Errorf("%sshares: must be %d-%d, got %d: the kernel would clamp it", f, minCPUShares, maxCPUShares, s)
		}
		b.add(Write{Controller: "cpu", File: "cpu.shares", Value: u64(s), Field: f + "shares"})
	}

	var quota int64
	if c.Quota != nil {
		quota = *c.Quota
	}
	if quota > 0 && quota < minCFSQuotaUs {
		return fmt.Errorf("%squota: must be at least %d (1ms), or -1 for no limit, got %d", f, minCFSQuotaUs, quota)
	}
	if c.Period != nil && *c.Period != 0 {
		p := *c.Period
		if p < minCFSPeriodUs || p > maxCFSPeriodUs {
			return fmt.Errorf("%speriod: must be %d-%d microseconds (1ms-1s), got %d", f, minCFSPeriodUs, maxCFSPeriodUs, p)
		}
		b.add(Write{Controller: "cpu", File: "cpu.cfs_period_us", Value: u64(p), Field: f + "period", Retry: quota != 0})
	}
	if c.Burst != nil {
		if quota > 0 && *c.Burst > uint64(quota) {
			return fmt.Errorf("%sburst: must not exceed quota (burst %d > quota %d): lower burst or raise quota", f, *c.Burst, quota)
		}
		b.add(Write{Controller: "cpu", File: "cpu.cfs_burst_us", Value: u64(*c.Burst), Field: f + "burst", Optional: true, Retry: quota != 0})
	}
	if quota != 0 {
		b.add(Write{Controller: "cpu", File: "cpu.cfs_quota_us", Value: i64(quota), Field: f + "quota"})
	}
	if c.Idle != nil {
		if *c.Idle != 0 && *c.Idle != 1 {
			return fmt.Errorf("%sidle: must be 0 (normal) or 1 (SCHED_IDLE), got %d", f, *c.Idle)
		}
		b.add(Write{Controller: "cpu", File: "cpu.idle", Value: i64(*c.Idle), Field: f + "idle"})
	}

	// runc also writes these two before the first process joins, because
	// the kernel refuses to move a realtime task into a group without rt
	// runtime; they come before any join when the list is applied at create.
	var rtRuntime int64
	if c.RealtimeRuntime != nil {
		rtRuntime = *c.RealtimeRuntime
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
		b.add(Write{Controller: "cpu", File: "cpu.rt_period_us", Value: u64(*c.RealtimePeriod), Field: f + "realtimePeriod", Retry: rtRuntime != 0})
	}
	if rtRuntime != 0 {
		b.add(Write{Controller: "cpu", File: "cpu.rt_runtime_us", Value: i64(rtRuntime), Field: f + "realtimeRuntime"})
	}
	return nil
}

func (b *builder) pids(r *specs.LinuxResources) error {
	p := r.Pids
	if p == nil || p.Limit == nil {
		return nil
	}
	v := "max"
	switch l := *p.Limit; {
	case l > 0:
		v = i64(l)
	case l == 0:
		// The spec calls 0 a real limit; runc writes 1 so that its fs and
		// systemd drivers agree (systemd cannot express 0). The init itself
		// is that one task, so no fork succeeds either way.
		v = "1"
		b.warn("linux.resources.pids.limit: 0 is applied as 1, as runc does (the container's init is the one task allowed)")
	}
	b.add(Write{Controller: "pids", File: "pids.max", Value: v, Field: "linux.resources.pids.limit"})
	return nil
}

func devNumbers(field string, d specs.LinuxBlockIODevice) (string, error) {
	if d.Major < 0 || d.Minor < 0 || d.Major > math.MaxUint32 || d.Minor > math.MaxUint32 {
		return "", fmt.Errorf("%s: major and minor must be device numbers (0-%d), got %d:%d; see ls -l /dev or /proc/partitions", field, uint32(math.MaxUint32), d.Major, d.Minor)
	}
	return i64(d.Major) + ":" + i64(d.Minor), nil
}

func (b *builder) blockIO(r *specs.LinuxResources) error {
	io := r.BlockIO
	if io == nil {
		return nil
	}
	const f = "linux.resources.blockIO."
	// Weight ranges depend on the scheduler (CFQ 10-1000, BFQ 1-1000), so
	// the kernel judges them.
	if io.Weight != nil && *io.Weight != 0 {
		b.add(Write{Controller: "blkio", File: "blkio.weight", Value: u64(uint64(*io.Weight)), Field: f + "weight", Alternatives: []string{"blkio.bfq.weight"}})
	}
	if io.LeafWeight != nil && *io.LeafWeight != 0 {
		b.add(Write{Controller: "blkio", File: "blkio.leaf_weight", Value: u64(uint64(*io.LeafWeight)), Field: f + "leafWeight"})
	}
	for i, wd := range io.WeightDevice {
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		dev, err := devNumbers(field, wd.LinuxBlockIODevice)
		if err != nil {
			return err
		}
		set := false
		if wd.Weight != nil && *wd.Weight != 0 {
			b.add(Write{Controller: "blkio", File: "blkio.weight_device", Value: dev + " " + u64(uint64(*wd.Weight)), Field: field + ".weight", Alternatives: []string{"blkio.bfq.weight_device"}})
			set = true
		}
		if wd.LeafWeight != nil && *wd.LeafWeight != 0 {
			b.add(Write{Controller: "blkio", File: "blkio.leaf_weight_device", Value: dev + " " + u64(uint64(*wd.LeafWeight)), Field: field + ".leafWeight"})
			set = true
		}
		if !set {
			b.warn("%s: has neither weight nor leafWeight, nothing to set (runc ignores it too); give one or remove the entry", field)
		}
	}
	for _, t := range []struct {
		name string
		devs []specs.LinuxThrottleDevice
		file string
	}{
		{"throttleReadBpsDevice", io.ThrottleReadBpsDevice, "blkio.throttle.read_bps_device"},
		{"throttleWriteBpsDevice", io.ThrottleWriteBpsDevice, "blkio.throttle.write_bps_device"},
		{"throttleReadIOPSDevice", io.ThrottleReadIOPSDevice, "blkio.throttle.read_iops_device"},
		{"throttleWriteIOPSDevice", io.ThrottleWriteIOPSDevice, "blkio.throttle.write_iops_device"},
	} {
		for i, td := range t.devs {
			field := fmt.Sprintf("%s%s[%d]", f, t.name, i)
			dev, err := devNumbers(field, td.LinuxBlockIODevice)
			if err != nil {
				return err
			}
			// Rate 0 is written too: it removes the device's limit.
			b.add(Write{Controller: "blkio", File: t.file, Value: dev + " " + u64(td.Rate), Field: field})
		}
	}
	return nil
}

// validPageSize accepts the kernel's names for hugepage sizes (its mem_fmt
// prints "<n>KB", "<n>MB" or "<n>GB"); anything else would name a file that
// does not exist, or one outside the cgroup directory.
func validPageSize(s string) bool {
	if len(s) < 3 || !strings.HasSuffix(s, "B") {
		return false
	}
	switch s[len(s)-2] {
	case 'K', 'M', 'G':
	default:
		return false
	}
	digits := s[:len(s)-2]
	if digits[0] == '0' {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (b *builder) hugetlb(r *specs.LinuxResources) error {
	for i, l := range r.HugepageLimits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		if !validPageSize(l.Pagesize) {
			return fmt.Errorf("%s.pageSize: %q is not a hugepage size as the kernel names them (e.g. 2MB, 1GB, 64KB); see /sys/kernel/mm/hugepages", field, l.Pagesize)
		}
		prefix := "hugetlb." + l.Pagesize
		v := u64(l.Limit)
		b.add(Write{Controller: "hugetlb", File: prefix + ".limit_in_bytes", Value: v, Field: field + ".limit"})
		// The spec limits reservations where the kernel has them (5.7+).
		b.add(Write{Controller: "hugetlb", File: prefix + ".rsvd.limit_in_bytes", Value: v, Field: field + ".limit", Optional: true})
	}
	return nil
}

func (b *builder) netCls(r *specs.LinuxResources) error {
	if n := r.Network; n != nil && n.ClassID != nil && *n.ClassID != 0 {
		b.add(Write{Controller: "net_cls", File: "net_cls.classid", Value: u64(uint64(*n.ClassID)), Field: "linux.resources.network.classID"})
	}
	return nil
}

func (b *builder) netPrio(r *specs.LinuxResources) error {
	if r.Network == nil {
		return nil
	}
	for i, p := range r.Network.Priorities {
		field := fmt.Sprintf("linux.resources.network.priorities[%d]", i)
		if !cgroups.PlainName(p.Name) {
			return fmt.Errorf("%s.name: %q is not a network interface name (non-empty, no spaces or slashes)", field, p.Name)
		}
		b.add(Write{Controller: "net_prio", File: "net_prio.ifpriomap", Value: p.Name + " " + u64(uint64(p.Priority)), Field: field})
	}
	return nil
}

func (b *builder) rdma(r *specs.LinuxResources) error {
	limits, err := cgroups.RdmaLimits(r.Rdma)
	for _, l := range limits {
		b.add(Write{Controller: "rdma", File: "rdma.max", Value: l.Value, Field: l.Field})
	}
	return err
}

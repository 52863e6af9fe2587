package v2

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// write is one value for one control file of the container's cgroup. The
// list is computed without touching the host; what runc decides by looking
// at the cgroup (which of two files exists, which of two coupled values goes
// first) is carried as flags for the applier.
type write struct {
	controller string // the controller the file belongs to; "" for cgroup.* files
	file       string
	value      string
	field      string // the config field it comes from, for errors

	// alts are other files (each with its own value) tried in order when
	// file does not exist: io.bfq.weight takes blkio's weight as it is,
	// io.weight takes it converted.
	alts []alt

	// optional: a missing file is not an error, because runc carries on
	// there too (memory.swap.max without swap accounting when the value
	// only lifts or zeroes swap; hugetlb.*.rsvd.max before Linux 5.7).
	optional bool

	// retry: an EINVAL is not final yet. cpu.max.burst is checked against
	// the quota the cgroup holds now, so whether it goes before or after
	// cpu.max depends on the old values; on EINVAL it is tried again after
	// the controller's other writes, as runc does.
	retry bool
}

type alt struct{ file, value string }

// Kernel bounds checked before writing, so that the error names the field
// instead of the kernel's bare EINVAL.
const (
	minCFSPeriodUs  = 1000 // 1ms
	maxCFSPeriodUs  = 1000000
	minCFSQuotaUs   = 1000
	defaultPeriodUs = 100000 // the kernel's default cpu.max period
	minCPUShares    = 2
	maxCPUShares    = 262144
	// Docker sends swappiness -1 ("unset") through a uint64 field.
	unsetSwappiness = math.MaxUint64
)

// plan is what Set does, computed from the spec alone.
type plan struct {
	writes   []write
	warnings []string
	// need maps each controller the writes use to the first field that
	// needs it, for the error when the controller is missing.
	need      map[string]string
	needOrder []string
	// typed maps the files the typed fields write to their field, to tell
	// a unified key that writes the same file.
	typed map[string]string
	// checkBefore holds linux.resources.memory.checkBeforeUpdate's limits:
	// the applier refuses a limit at or below the current usage, as runc.
	checkBefore *memCheck
}

type memCheck struct{ limit, swap int64 }

func (p *plan) add(w write) {
	p.writes = append(p.writes, w)
	p.needs(w.controller, w.field)
	if _, ok := p.typed[w.file]; !ok {
		p.typed[w.file] = w.field
	}
}

func (p *plan) needs(controller, field string) {
	if controller == "" {
		return
	}
	if _, ok := p.need[controller]; !ok {
		p.need[controller] = field
		p.needOrder = append(p.needOrder, controller)
	}
}

func (p *plan) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// resourcePlan converts the spec's resources to cgroup v2 writes, in runc's
// fs2 order (pids, memory, io, cpu, cpuset, hugetlb, rdma, then unified),
// or returns a one-line error naming the field. Device rules are not here:
// see deviceProgram.
//
// As in runc, 0 means "not set" for memory limit/reservation/swap, cpu
// shares/quota/period and blkio weights: nothing is written for them.
func resourcePlan(r *specs.LinuxResources) (*plan, error) {
	p := &plan{need: map[string]string{}, typed: map[string]string{}}
	if r == nil {
		return p, nil
	}
	for _, step := range []func(*plan, *specs.LinuxResources) error{
		planPids, planMemory, planIO, planCPU, planCpuset, planHugetlb, planRdma, planNetwork, planUnified,
	} {
		if err := step(p, r); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func planPids(p *plan, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil {
		return nil
	}
	v := "max"
	switch l := *r.Pids.Limit; {
	case l > 0:
		v = i64(l)
	case l == 0:
		// systemd cannot express 0, so runc writes 1 on both drivers; the
		// container's init is that one task, so no fork succeeds either way.
		v = "1"
		p.warn("linux.resources.pids.limit: 0 is applied as 1, as runc does (the container's init is the one task allowed)")
	}
	p.add(write{controller: "pids", file: "pids.max", value: v, field: "linux.resources.pids.limit"})
	return nil
}

// memMax is the v2 form of a v1 byte count: -1 is "max", 0 is unset ("").
func memMax(v int64) string {
	switch v {
	case 0:
		return ""
	case -1:
		return "max"
	}
	return i64(v)
}

// swapMax converts the spec's swap, which is memory+swap as on v1, to
// memory.swap.max, which is swap alone, as runc converts it: -1 and 0 stay
// as they are, an unlimited memory limit leaves swap as given, and
// otherwise swap - limit. It returns the value to write ("" for none).
func swapMax(swap, limit int64) (string, error) {
	const f = "linux.resources.memory.swap"
	switch {
	case limit == -1 && swap == 0:
		// Memory unlimited and swap unset: both unlimited, as v1 has it.
		return "max", nil
	case swap == -1:
		return "max", nil
	case swap == 0:
		return "", nil
	case limit == -1:
		return i64(swap), nil
	case limit == 0:
		return "", fmt.Errorf("%s: %d needs linux.resources.memory.limit: on cgroup v2 swap is memory+swap minus the limit, so set a limit (or swap -1)", f, swap)
	case swap < limit:
		return "", fmt.Errorf("%s: must be -1 or at least memory.limit (swap %d < limit %d): swap limits memory+swap, so set it to the limit plus the swap you want, or -1", f, swap, limit)
	}
	return i64(swap - limit), nil
}

func planMemory(p *plan, r *specs.LinuxResources) error {
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
	sw, err := swapMax(swap, limit)
	if err != nil {
		return err
	}
	if sw != "" {
		// Without swap accounting there is no memory.swap.max: runc
		// carries on when the value only lifts or zeroes swap, since
		// there is no swap to limit then; a real limit is an error.
		field := f + "swap"
		if swap == 0 {
			field = f + "limit"
		}
		p.add(write{controller: "memory", file: "memory.swap.max", value: sw, field: field, optional: sw == "max" || sw == "0"})
	}
	if v := memMax(limit); v != "" {
		p.add(write{controller: "memory", file: "memory.max", value: v, field: f + "limit"})
	}
	if v := memMax(reservation); v != "" {
		p.add(write{controller: "memory", file: "memory.low", value: v, field: f + "reservation"})
	}

	if m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && (limit > 0 || swap > 0) {
		p.checkBefore = &memCheck{limit: limit, swap: swap}
	}
	if m.Kernel != nil { //nolint:staticcheck // read only to warn that it is ignored
		p.warn("%skernel: ignored, as runc does: cgroup v2 has no kernel memory limit (kernel memory is counted in memory.max); remove the field", f)
	}
	if m.KernelTCP != nil {
		p.warn("%skernelTCP: ignored, as runc does: cgroup v2 has no TCP memory limit (it is counted in memory.max); remove the field", f)
	}
	if s := m.Swappiness; s != nil && *s != unsetSwappiness {
		// runc drops it silently; crun refuses it. A limit that cannot be
		// applied is an error here (design §5).
		return fmt.Errorf("%sswappiness: not available on cgroup v2 (there is no memory.swappiness; the global vm.swappiness applies): remove the field, or use memory.swap to limit swap", f)
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		p.warn("%sdisableOOMKiller: ignored, as runc does: cgroup v2 cannot disable the OOM killer; remove the field, or use memory.high to throttle before memory.max", f)
	}
	if h := m.UseHierarchy; h != nil && !*h {
		p.warn("%suseHierarchy: false is ignored: cgroup v2 is always hierarchical; remove the field", f)
	}
	return nil
}

// ioWeight converts a blkio weight (10-1000) to io.weight (1-10000)
// linearly, as runc does; ok is false outside 10-1000, where the formula
// does not hold (runc's underflows below 10).
func ioWeight(w uint16) (uint64, bool) {
	if w < 10 || w > 1000 {
		return 0, false
	}
	return 1 + (uint64(w)-10)*9999/990, true
}

func devNumbers(field string, d specs.LinuxBlockIODevice) (string, error) {
	if d.Major < 0 || d.Minor < 0 || d.Major > math.MaxUint32 || d.Minor > math.MaxUint32 {
		return "", fmt.Errorf("%s: major and minor must be device numbers (0-%d), got %d:%d; see ls -l /dev or /proc/partitions", field, uint32(math.MaxUint32), d.Major, d.Minor)
	}
	return i64(d.Major) + ":" + i64(d.Minor), nil
}

func planIO(p *plan, r *specs.LinuxResources) error {
	io := r.BlockIO
	if io == nil {
		return nil
	}
	const f = "linux.resources.blockIO."
	if io.Weight != nil && *io.Weight != 0 {
		// BFQ takes blkio's weight as it is (1-1000); without BFQ the
		// weight is converted for io.weight, as runc does.
		w := write{controller: "io", file: "io.bfq.weight", value: u64(uint64(*io.Weight)), field: f + "weight"}
		if v, ok := ioWeight(*io.Weight); ok {
			w.alts = []alt{{"io.weight", u64(v)}}
		}
		p.add(w)
	}
	if io.LeafWeight != nil && *io.LeafWeight != 0 {
		p.warn("%sleafWeight: ignored, as runc does: cgroup v2 has no leaf weight; remove the field", f)
	}
	for i, wd := range io.WeightDevice {
		field := fmt.Sprintf("%sweightDevice[%d]", f, i)
		dev, err := devNumbers(field, wd.LinuxBlockIODevice)
		if err != nil {
			return err
		}
		if wd.LeafWeight != nil && *wd.LeafWeight != 0 {
			p.warn("%s.leafWeight: ignored, as runc does: cgroup v2 has no leaf weight; remove the field", field)
		}
		if wd.Weight == nil || *wd.Weight == 0 {
			continue
		}
		// runc writes per-device weights to BFQ only and skips them
		// without it; io.weight takes "maj:min weight" too (used by
		// io.cost), so hull writes the converted weight there instead of
		// dropping the setting.
		w := write{controller: "io", file: "io.bfq.weight", value: dev + " " + u64(uint64(*wd.Weight)), field: field + ".weight"}
		if v, ok := ioWeight(*wd.Weight); ok {
			w.alts = []alt{{"io.weight", dev + " " + u64(v)}}
		}
		p.add(w)
	}
	// io.max takes every limit of a device on one line; blkio's rate 0
	// ("no limit") is "max" there, because io.max refuses 0 (ERANGE).
	type limits struct {
		dev, field string
		keys       []string
		vals       map[string]string
	}
	var order []*limits
	byDev := map[string]*limits{}
	for _, t := range []struct {
		name, key string
		devs      []specs.LinuxThrottleDevice
	}{
		{"throttleReadBpsDevice", "rbps", io.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "wbps", io.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "riops", io.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "wiops", io.ThrottleWriteIOPSDevice},
	} {
		for i, td := range t.devs {
			field := fmt.Sprintf("%s%s[%d]", f, t.name, i)
			dev, err := devNumbers(field, td.LinuxBlockIODevice)
			if err != nil {
				return err
			}
			l := byDev[dev]
			if l == nil {
				l = &limits{dev: dev, field: field, vals: map[string]string{}}
				byDev[dev] = l
				order = append(order, l)
			} else if !strings.Contains(l.field, field) {
				l.field += ", " + field
			}
			v := "max"
			if td.Rate != 0 {
				v = u64(td.Rate)
			}
			if _, seen := l.vals[t.key]; !seen {
				l.keys = append(l.keys, t.key)
			}
			l.vals[t.key] = v // a later entry for the same device wins
		}
	}
	for _, l := range order {
		line := l.dev
		for _, k := range l.keys {
			line += " " + k + "=" + l.vals[k]
		}
		p.add(write{controller: "io", file: "io.max", value: line, field: l.field})
	}
	return nil
}

// cpuWeight converts cpu shares (2-262144, default 1024) to cpu.weight
// (1-10000, default 100) with runc's quadratic fit in log2 space, which maps
// the minimum, the default and the maximum exactly; out-of-range shares are
// clamped, as runc clamps them.
func cpuWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= minCPUShares:
		return 1
	case shares >= maxCPUShares:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

func planCPU(p *plan, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu."
	if c.Idle != nil {
		if *c.Idle != 0 && *c.Idle != 1 {
			return fmt.Errorf("%sidle: must be 0 (normal) or 1 (SCHED_IDLE), got %d", f, *c.Idle)
		}
		p.add(write{controller: "cpu", file: "cpu.idle", value: i64(*c.Idle), field: f + "idle"})
	}
	if c.Shares != nil && *c.Shares != 0 {
		s := *c.Shares
		if s < minCPUShares || s > maxCPUShares {
			p.warn("%sshares: %d is outside %d-%d and is clamped to cpu.weight %d, as runc does", f, s, minCPUShares, maxCPUShares, cpuWeight(s))
		}
		p.add(write{controller: "cpu", file: "cpu.weight", value: u64(cpuWeight(s)), field: f + "shares"})
	}

	var quota int64
	if c.Quota != nil {
		quota = *c.Quota
	}
	if quota > 0 && quota < minCFSQuotaUs {
		return fmt.Errorf("%squota: must be at least %d (1ms), or -1 for no limit, got %d", f, minCFSQuotaUs, quota)
	}
	var period uint64
	if c.Period != nil && *c.Period != 0 {
		period = *c.Period
		if period < minCFSPeriodUs || period > maxCFSPeriodUs {
			return fmt.Errorf("%speriod: must be %d-%d microseconds (1ms-1s), got %d", f, minCFSPeriodUs, maxCFSPeriodUs, period)
		}
	}
	if c.Burst != nil {
		if quota > 0 && *c.Burst > uint64(quota) {
			return fmt.Errorf("%sburst: must not exceed quota (burst %d > quota %d): lower burst or raise quota", f, *c.Burst, quota)
		}
		// Checked by the kernel against the quota the cgroup has now: on
		// EINVAL it goes again after cpu.max, as in runc.
		p.add(write{controller: "cpu", file: "cpu.max.burst", value: u64(*c.Burst), field: f + "burst", retry: quota != 0 || period != 0})
	}
	if quota != 0 || period != 0 {
		// cpu.max is "quota period"; a negative quota is no limit. A
		// period alone keeps the quota the cgroup has (runc writes "max",
		// lifting the quota an update did not mention): the applier reads
		// it back; see keepQuota.
		q := "max"
		if quota > 0 {
			q = i64(quota)
		}
		if period == 0 {
			period = defaultPeriodUs
		}
		field := f + "quota"
		if quota == 0 {
			q, field = keepQuota, f+"period"
		}
		p.add(write{controller: "cpu", file: "cpu.max", value: q + " " + u64(period), field: field})
	}

	if (c.RealtimeRuntime != nil && *c.RealtimeRuntime != 0) || (c.RealtimePeriod != nil && *c.RealtimePeriod != 0) {
		field := f + "realtimeRuntime"
		if c.RealtimeRuntime == nil || *c.RealtimeRuntime == 0 {
			field = f + "realtimePeriod"
		}
		return fmt.Errorf("%s: not available on cgroup v2 (the cpu controller has no realtime budget): remove realtimeRuntime and realtimePeriod", field)
	}
	return nil
}

// keepQuota stands for the quota in cpu.max now; the applier replaces it.
const keepQuota = "$quota"

func planCpuset(p *plan, r *specs.LinuxResources) error {
	c := r.CPU
	if c == nil {
		return nil
	}
	// The list syntax is the kernel's to judge; its EINVAL names the field.
	if c.Cpus != "" {
		p.add(write{controller: "cpuset", file: "cpuset.cpus", value: c.Cpus, field: "linux.resources.cpu.cpus"})
	}
	if c.Mems != "" {
		p.add(write{controller: "cpuset", file: "cpuset.mems", value: c.Mems, field: "linux.resources.cpu.mems"})
	}
	return nil
}

// fileName accepts a name that stays one file of the cgroup directory.
func fileName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00") && !strings.Contains(s, "..")
}

func planHugetlb(p *plan, r *specs.LinuxResources) error {
	for i, l := range r.HugepageLimits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		// The size names a file (hugetlb.2MB.max): whether it exists is
		// for the applier to say; here only that it stays a file name.
		if !fileName(l.Pagesize) || strings.ContainsAny(l.Pagesize, ". \n") {
			return fmt.Errorf("%s.pageSize: %q is not a hugepage size as the kernel names them (e.g. 2MB, 1GB, 64KB); see /sys/kernel/mm/hugepages", field, l.Pagesize)
		}
		prefix := "hugetlb." + l.Pagesize
		v := u64(l.Limit)
		p.add(write{controller: "hugetlb", file: prefix + ".max", value: v, field: field + ".limit"})
		// Reservations are limited too where the kernel has them (5.7+).
		p.add(write{controller: "hugetlb", file: prefix + ".rsvd.max", value: v, field: field + ".limit", optional: true})
	}
	return nil
}

func planRdma(p *plan, r *specs.LinuxResources) error {
	limits, err := cgroups.RdmaLimits(r.Rdma)
	for _, l := range limits {
		p.add(write{controller: "rdma", file: "rdma.max", value: l.Value, field: l.Field})
	}
	return err
}

func planNetwork(p *plan, r *specs.LinuxResources) error {
	n := r.Network
	if n == nil {
		return nil
	}
	// runc drops these silently on v2; a limit that is not applied is an
	// error here (design §5).
	if n.ClassID != nil && *n.ClassID != 0 {
		return fmt.Errorf("linux.resources.network.classID: not available on cgroup v2 (no net_cls controller): remove it, and classify traffic with an eBPF or nftables cgroup match instead")
	}
	if len(n.Priorities) > 0 {
		return fmt.Errorf("linux.resources.network.priorities: not available on cgroup v2 (no net_prio controller): remove it, and set priorities with tc or SO_PRIORITY instead")
	}
	return nil
}

// v2Controllers are the controllers whose files a unified key may name;
// a key of any other prefix is a core file (cgroup.*) or does not exist.
var v2Controllers = [...]string{"cpu", "cpuset", "io", "memory", "hugetlb", "pids", "rdma", "misc", "dmem"}

// processKeys act on the container's processes, not on limits: hull
// drives them itself (join, pause, kill), and a write from the config
// would move, freeze or kill processes behind its back.
var processKeys = [...]string{"cgroup.procs", "cgroup.threads", "cgroup.freeze", "cgroup.kill"}

func unifiedField(k string) string { return fmt.Sprintf("linux.resources.unified[%q]", k) }

func planUnified(p *plan, r *specs.LinuxResources) error {
	keys := make([]string, 0, len(r.Unified))
	for k := range r.Unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := unifiedField(k)
		if !fileName(k) {
			return fmt.Errorf("%s: must be the name of a file in the container's cgroup directory (no \"/\", no \"..\"), e.g. \"memory.high\"", field)
		}
		for _, pk := range processKeys {
			if k == pk {
				return fmt.Errorf("%s: moves, freezes or kills processes, which the runtime does itself: remove it (use hull pause/kill)", field)
			}
		}
		ctrl, _, _ := strings.Cut(k, ".")
		known := false
		for _, c := range v2Controllers {
			if c == ctrl {
				known = true
			}
		}
		if !known {
			ctrl = ""
		}
		v := r.Unified[k]
		if prev, ok := p.typed[k]; ok {
			// runc writes unified last, so it wins; engines rely on that
			// (Kubernetes sets memory.swap.max there while containerd
			// also sets memory.swap). Say so when the values differ.
			for _, w := range p.writes {
				if w.file == k && w.value != v {
					p.warn("%s: %q overrides %s (%q), which writes the same file: the unified value is written last, as runc does; set only one of them", field, v, prev, w.value)
					break
				}
			}
		}
		// A value may hold several lines (io.max for two devices); the
		// kernel takes one a write.
		for _, line := range strings.Split(v, "\n") {
			if strings.TrimSpace(line) == "" && v != "" {
				continue
			}
			p.writes = append(p.writes, write{controller: ctrl, file: k, value: line, field: field})
		}
		p.needs(ctrl, field)
	}
	return nil
}

// File is one control file of the container's cgroup and the value Set
// writes there.
type File struct {
	Name, Value string
	// Field is the config field the value comes from.
	Field string
}

// Files lists the control files Set writes for r and their values, in
// Set's order, computed from the config alone (nothing on the host is
// read), or the error Set would return. It is for a driver that also hands
// the limits to the agent that owns the cgroup (systemd, which rewrites
// the files from its unit properties), so that both agree. A write with
// fallbacks (io.bfq.weight, else io.weight) lists each file it may go to;
// a cpu.max value whose quota is neither a number nor "max" keeps the quota
// the cgroup has and sets the period only.
func Files(r *specs.LinuxResources) ([]File, error) {
	p, err := resourcePlan(r)
	if err != nil {
		return nil, err
	}
	var out []File
	for _, w := range p.writes {
		out = append(out, File{w.file, w.value, w.field})
		for _, a := range w.alts {
			out = append(out, File{a.file, a.value, w.field})
		}
	}
	return out, nil
}

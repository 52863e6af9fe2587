package v2

import (
	"math"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// The expected values are runc's (opencontainers/cgroups
// ConvertCPUSharesToCgroupV2Value), computed independently.
func TestCPUWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{
		0: 0, 1: 1, 2: 1, 3: 2, 10: 4, 100: 17, 512: 59, 1024: 100, 2048: 174,
		4096: 303, 100000: 4340, 262143: 10000, 262144: 10000, 1 << 30: 10000,
	} {
		if got := cpuWeight(shares); got != want {
			t.Errorf("cpuWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestIOWeight(t *testing.T) {
	for w, want := range map[uint16]uint64{10: 1, 100: 910, 500: 4950, 1000: 10000} {
		if got, ok := ioWeight(w); !ok || got != want {
			t.Errorf("ioWeight(%d) = %d, %v; want %d", w, got, ok, want)
		}
	}
	for _, w := range []uint16{1, 9, 1001} {
		if _, ok := ioWeight(w); ok {
			t.Errorf("ioWeight(%d) accepted: the formula holds for 10-1000 only", w)
		}
	}
}

func TestSwapMax(t *testing.T) {
	tests := []struct {
		swap, limit int64
		want        string
		err         string
	}{
		{0, 0, "", ""},
		{0, 100, "", ""},
		{0, -1, "max", ""}, // memory unlimited, swap unset: both unlimited
		{-1, 100, "max", ""},
		{-1, -1, "max", ""},
		{300, 100, "200", ""},
		{100, 100, "0", ""}, // memory+swap = memory: no swap
		{500, -1, "500", ""},
		{100, 0, "", "needs linux.resources.memory.limit"},
		{50, 100, "", "swap 50 < limit 100"},
	}
	for _, tc := range tests {
		got, err := swapMax(tc.swap, tc.limit)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "linux.resources.memory.swap: ") {
				t.Errorf("swapMax(%d, %d): error %v, want one naming the field and saying %q", tc.swap, tc.limit, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("swapMax(%d, %d) = %q, %v; want %q", tc.swap, tc.limit, got, err, tc.want)
		}
	}
}

// short renders the writes as "file=value" (alternatives as "|file=value",
// flags as "?" optional, "~" retry) for compact expectations.
func short(ws []write) []string {
	var out []string
	for _, w := range ws {
		s := w.file + "=" + w.value
		for _, a := range w.alts {
			s += "|" + a.file + "=" + a.value
		}
		if w.optional {
			s += "?"
		}
		if w.retry {
			s += "~"
		}
		out = append(out, s)
	}
	return out
}

func TestResourcePlan(t *testing.T) {
	full := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](1 << 30), Reservation: ptr[int64](1 << 29), Swap: ptr[int64](3 << 29)},
		CPU: &specs.LinuxCPU{Shares: ptr[uint64](1024), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
			Burst: ptr[uint64](10000), Idle: ptr[int64](1), Cpus: "0-1", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: ptr[int64](100)},
		BlockIO: &specs.LinuxBlockIO{
			Weight:       ptr[uint16](500),
			WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr[uint16](100)}},
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1000},
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 0},
			},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 20}},
		},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr[uint32](2), HcaObjects: ptr[uint32](2000)}},
		Unified:        map[string]string{"memory.high": "900000000"},
	}
	p, err := resourcePlan(full)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"pids.max=100",
		"memory.swap.max=536870912", // 3/2 GiB memory+swap - 1 GiB
		"memory.max=1073741824",
		"memory.low=536870912",
		"io.bfq.weight=500|io.weight=4950",
		"io.bfq.weight=8:0 100|io.weight=8:0 910",
		"io.max=8:0 rbps=1000 wiops=20",
		"io.max=8:16 rbps=max", // blkio's rate 0 ("no limit") is "max": io.max refuses 0
		"cpu.idle=1",
		"cpu.weight=100",
		"cpu.max.burst=10000~",
		"cpu.max=50000 100000",
		"cpuset.cpus=0-1",
		"cpuset.mems=0",
		"hugetlb.2MB.max=4194304",
		"hugetlb.2MB.rsvd.max=4194304?",
		"rdma.max=mlx5_0 hca_handle=2 hca_object=2000",
		"memory.high=900000000",
	}
	if got := short(p.writes); !reflect.DeepEqual(got, want) {
		t.Errorf("writes:\n got %q\nwant %q", got, want)
	}
	if want := []string{"pids", "memory", "io", "cpu", "cpuset", "hugetlb", "rdma"}; !reflect.DeepEqual(p.needOrder, want) {
		t.Errorf("controllers needed = %v, want %v", p.needOrder, want)
	}
	if p.need["memory"] != "linux.resources.memory.swap" || p.need["rdma"] != `linux.resources.rdma["mlx5_0"]` {
		t.Errorf("the fields that need the controllers: %v", p.need)
	}
	if len(p.warnings) != 0 {
		t.Errorf("warnings: %q", p.warnings)
	}
}

func TestResourcePlanSmall(t *testing.T) {
	tests := []struct {
		name string
		r    *specs.LinuxResources
		want []string
		warn string
	}{
		{"nil", nil, nil, ""},
		{"memory -1 lifts swap too", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-1)}},
			[]string{"memory.swap.max=max?", "memory.max=max"}, ""},
		{"swap equal to the limit: no swap", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](100), Swap: ptr[int64](100)}},
			[]string{"memory.swap.max=0?", "memory.max=100"}, ""},
		{"swap -1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](100), Swap: ptr[int64](-1)}},
			[]string{"memory.swap.max=max?", "memory.max=100"}, ""},
		{"zeros are unset", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](0), Reservation: ptr[int64](0)},
			CPU: &specs.LinuxCPU{Shares: ptr[uint64](0), Quota: ptr[int64](0), Period: ptr[uint64](0)}}, nil, ""},
		{"quota -1 is max", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](-1)}},
			[]string{"cpu.max=max 100000"}, ""},
		{"quota without period takes the default period", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](20000)}},
			[]string{"cpu.max=20000 100000"}, ""},
		{"period alone keeps the quota", &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](50000)}},
			[]string{"cpu.max=" + keepQuota + " 50000"}, ""},
		{"burst alone", &specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: ptr[uint64](0)}},
			[]string{"cpu.max.burst=0"}, ""},
		{"shares out of range are clamped, with a warning", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](1)}},
			[]string{"cpu.weight=1"}, "linux.resources.cpu.shares: 1 is outside 2-262144"},
		{"pids 0 is 1", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](0)}},
			[]string{"pids.max=1"}, "linux.resources.pids.limit: 0 is applied as 1"},
		{"pids -1 is max", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr[int64](-1)}},
			[]string{"pids.max=max"}, ""},
		{"a weight outside 10-1000 only for BFQ", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}},
			[]string{"io.bfq.weight=5"}, ""},
		{"leaf weight ignored", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: ptr[uint16](300)}},
			nil, "linux.resources.blockIO.leafWeight: ignored"},
		{"a later throttle entry for a device wins", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1},
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2},
		}}}, []string{"io.max=8:0 rbps=2"}, ""},
		{"kernel memory ignored", &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: ptr[int64](100)}}, //nolint:staticcheck
			nil, "linux.resources.memory.kernel: ignored"},
		{"kernel TCP memory ignored", &specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: ptr[int64](100)}},
			nil, "linux.resources.memory.kernelTCP: ignored"},
		{"disableOOMKiller ignored", &specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: ptr(true)}},
			nil, "linux.resources.memory.disableOOMKiller: ignored"},
		{"disableOOMKiller false: nothing to say", &specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: ptr(false)}},
			nil, ""},
		{"swappiness unset by Docker's -1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](math.MaxUint64)}},
			nil, ""},
		{"unified overrides a typed field, with a warning", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptr[int64](1000), Swap: ptr[int64](1000)},
			Unified: map[string]string{"memory.swap.max": "500"},
		}, []string{"memory.swap.max=0?", "memory.max=1000", "memory.swap.max=500"},
			`linux.resources.unified["memory.swap.max"]: "500" overrides linux.resources.memory.swap ("0")`},
		{"unified equal to a typed field: silent (Kubernetes' no-swap)", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptr[int64](1000), Swap: ptr[int64](1000)},
			Unified: map[string]string{"memory.swap.max": "0"},
		}, []string{"memory.swap.max=0?", "memory.max=1000", "memory.swap.max=0"}, ""},
		{"unified multi-line values are written a line at a time", &specs.LinuxResources{
			Unified: map[string]string{"io.max": "8:0 rbps=1\n8:16 wbps=2\n"},
		}, []string{"io.max=8:0 rbps=1", "io.max=8:16 wbps=2"}, ""},
		{"unified core files", &specs.LinuxResources{Unified: map[string]string{"cgroup.max.depth": "3"}},
			[]string{"cgroup.max.depth=3"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := resourcePlan(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := short(p.writes); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("writes:\n got %q\nwant %q", got, tc.want)
			}
			joined := strings.Join(p.warnings, "\n")
			if tc.warn == "" && joined != "" {
				t.Errorf("unexpected warnings: %q", p.warnings)
			}
			if tc.warn != "" && !strings.Contains(joined, tc.warn) {
				t.Errorf("warnings %q do not say %q", p.warnings, tc.warn)
			}
		})
	}
}

func TestResourcePlanControllers(t *testing.T) {
	p, err := resourcePlan(&specs.LinuxResources{Unified: map[string]string{
		"memory.high": "1", "cgroup.max.depth": "2", "pids.max": "3", "nosuch.file": "4",
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted keys; cgroup.* and unknown prefixes need no controller.
	if want := []string{"memory", "pids"}; !reflect.DeepEqual(p.needOrder, want) {
		t.Errorf("controllers = %v, want %v", p.needOrder, want)
	}
	if p.need["memory"] != `linux.resources.unified["memory.high"]` {
		t.Errorf("memory needed by %q", p.need["memory"])
	}
}

func TestResourcePlanErrors(t *testing.T) {
	tests := []struct {
		name  string
		r     *specs.LinuxResources
		field string
		hint  string
	}{
		{"memory limit below -1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](-2)}},
			"linux.resources.memory.limit", "byte count or -1"},
		{"reservation below -1", &specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: ptr[int64](-5)}},
			"linux.resources.memory.reservation", "byte count"},
		{"swap without limit", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr[int64](100)}},
			"linux.resources.memory.swap", "needs linux.resources.memory.limit"},
		{"swap below limit", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](200), Swap: ptr[int64](100)}},
			"linux.resources.memory.swap", "at least memory.limit"},
		{"swappiness", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](60)}},
			"linux.resources.memory.swappiness", "not available on cgroup v2"},
		{"swappiness 0", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr[uint64](0)}},
			"linux.resources.memory.swappiness", "not available on cgroup v2"},
		{"quota below 1ms", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](999)}},
			"linux.resources.cpu.quota", "at least 1000"},
		{"period too long", &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](2000000)}},
			"linux.resources.cpu.period", "1000-1000000"},
		{"burst above quota", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr[int64](10000), Burst: ptr[uint64](20000)}},
			"linux.resources.cpu.burst", "must not exceed quota"},
		{"idle 2", &specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: ptr[int64](2)}},
			"linux.resources.cpu.idle", "0 (normal) or 1"},
		{"realtime runtime", &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: ptr[int64](950000)}},
			"linux.resources.cpu.realtimeRuntime", "not available on cgroup v2"},
		{"realtime period", &specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: ptr[uint64](1000000)}},
			"linux.resources.cpu.realtimePeriod", "not available on cgroup v2"},
		{"net classID", &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr[uint32](0x100001)}},
			"linux.resources.network.classID", "not available on cgroup v2"},
		{"net priorities", &specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 1}}}},
			"linux.resources.network.priorities", "not available on cgroup v2"},
		{"blkio device number", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1, Minor: 0}, Rate: 1}}}},
			"linux.resources.blockIO.throttleReadBpsDevice[0]", "device numbers"},
		{"hugepage size with a slash", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../2MB", Limit: 1}}},
			"linux.resources.hugepageLimits[0].pageSize", "hugepage size"},
		{"hugepage size with a dot", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB.rsvd", Limit: 1}}},
			"linux.resources.hugepageLimits[0].pageSize", "hugepage size"},
		{"rdma without limits", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {}}},
			`linux.resources.rdma["mlx5_0"]`, "sets no limit"},
		{"rdma name with a space", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"a b": {HcaHandles: ptr[uint32](1)}}},
			`linux.resources.rdma["a b"]`, "not an RDMA device name"},
		{"unified key with a slash", &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}},
			`linux.resources.unified["../memory.max"]`, `no "/", no ".."`},
		{"unified key ..", &specs.LinuxResources{Unified: map[string]string{"..": "1"}},
			`linux.resources.unified[".."]`, "file in the container's cgroup"},
		{"unified key empty", &specs.LinuxResources{Unified: map[string]string{"": "1"}},
			`linux.resources.unified[""]`, "file in the container's cgroup"},
		{"unified cgroup.procs", &specs.LinuxResources{Unified: map[string]string{"cgroup.procs": "1"}},
			`linux.resources.unified["cgroup.procs"]`, "moves, freezes or kills processes"},
		{"unified cgroup.kill", &specs.LinuxResources{Unified: map[string]string{"cgroup.kill": "1"}},
			`linux.resources.unified["cgroup.kill"]`, "moves, freezes or kills processes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := resourcePlan(tc.r)
			if err == nil {
				t.Fatalf("accepted: %q", short(p.writes))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.field+": ") && !strings.HasPrefix(msg, tc.field+".") {
				t.Errorf("error %q does not start with the field %s", msg, tc.field)
			}
			if !strings.Contains(msg, tc.hint) {
				t.Errorf("error %q does not say %q", msg, tc.hint)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

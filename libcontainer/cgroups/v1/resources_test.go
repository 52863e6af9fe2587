package v1

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func resPtr[T any](v T) *T { return &v }

func TestWritesNilAndEmpty(t *testing.T) {
	for name, r := range map[string]*specs.LinuxResources{
		"nil":           nil,
		"empty":         {},
		"empty unified": {Unified: map[string]string{}},
		"empty objects": {Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{}, BlockIO: &specs.LinuxBlockIO{}, Network: &specs.LinuxNetwork{}},
		"zeros are unset as in runc": {
			Memory:  &specs.LinuxMemory{Limit: resPtr[int64](0), Reservation: resPtr[int64](0), Swap: resPtr[int64](0), DisableOOMKiller: resPtr(false)},
			CPU:     &specs.LinuxCPU{Shares: resPtr[uint64](0), Quota: resPtr[int64](0), Period: resPtr[uint64](0), RealtimeRuntime: resPtr[int64](0), RealtimePeriod: resPtr[uint64](0)},
			BlockIO: &specs.LinuxBlockIO{Weight: resPtr[uint16](0), LeafWeight: resPtr[uint16](0)},
			Network: &specs.LinuxNetwork{ClassID: resPtr[uint32](0)},
		},
		"devices are not Writes' business": {Devices: []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}},
	} {
		w, warn, err := Writes(r)
		if err != nil || len(w) != 0 || len(warn) != 0 {
			t.Errorf("%s: got %v %v %v, want nothing", name, w, warn, err)
		}
	}
}

func TestWritesConversions(t *testing.T) {
	mem := func(file, value, field string) Write {
		return Write{Controller: "memory", File: file, Value: value, Field: "linux.resources.memory." + field}
	}
	cpu := func(file, value, field string) Write {
		return Write{Controller: "cpu", File: file, Value: value, Field: "linux.resources.cpu." + field}
	}
	blk := func(file, value, field string) Write {
		return Write{Controller: "blkio", File: file, Value: value, Field: "linux.resources.blockIO." + field}
	}
	with := func(w Write, f func(*Write)) Write { f(&w); return w }
	retry := func(w *Write) { w.Retry = true }
	optional := func(w *Write) { w.Optional = true }

	tests := []struct {
		name string
		r    specs.LinuxResources
		want []Write
	}{
		{"memory limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](1 << 20)}},
			[]Write{mem("memory.limit_in_bytes", "1048576", "limit")}},
		{"memory limit -1 lifts memsw first, optionally", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](-1)}},
			[]Write{with(mem("memory.memsw.limit_in_bytes", "-1", "limit"), optional), mem("memory.limit_in_bytes", "-1", "limit")}},
		{"memory limit and swap: limit first, retried", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](100), Swap: resPtr[int64](300)}},
			[]Write{with(mem("memory.limit_in_bytes", "100", "limit"), retry), mem("memory.memsw.limit_in_bytes", "300", "swap")}},
		{"memory swap equal to limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](100), Swap: resPtr[int64](100)}},
			[]Write{with(mem("memory.limit_in_bytes", "100", "limit"), retry), mem("memory.memsw.limit_in_bytes", "100", "swap")}},
		{"memory swap -1 goes first", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](100), Swap: resPtr[int64](-1)}},
			[]Write{mem("memory.memsw.limit_in_bytes", "-1", "swap"), mem("memory.limit_in_bytes", "100", "limit")}},
		{"memory limit -1 with swap -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](-1), Swap: resPtr[int64](-1)}},
			[]Write{mem("memory.memsw.limit_in_bytes", "-1", "swap"), mem("memory.limit_in_bytes", "-1", "limit")}},
		{"memory swap alone", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: resPtr[int64](500)}},
			[]Write{mem("memory.memsw.limit_in_bytes", "500", "swap")}},
		{"memory swap -1 alone", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: resPtr[int64](-1)}},
			[]Write{mem("memory.memsw.limit_in_bytes", "-1", "swap")}},
		{"memory reservation", specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: resPtr[int64](4096)}},
			[]Write{mem("memory.soft_limit_in_bytes", "4096", "reservation")}},
		{"memory reservation -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: resPtr[int64](-1)}},
			[]Write{mem("memory.soft_limit_in_bytes", "-1", "reservation")}},
		{"memory oom killer disabled", specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: resPtr(true)}},
			[]Write{mem("memory.oom_control", "1", "disableOOMKiller")}},
		{"memory swappiness 0", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: resPtr[uint64](0)}},
			[]Write{mem("memory.swappiness", "0", "swappiness")}},
		{"memory swappiness 100", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: resPtr[uint64](100)}},
			[]Write{mem("memory.swappiness", "100", "swappiness")}},
		{"memory swappiness -1 through uint64 is unset", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: resPtr[uint64](math.MaxUint64)}},
			nil},
		{"memory useHierarchy", specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: resPtr(true)}},
			[]Write{mem("memory.use_hierarchy", "1", "useHierarchy")}},
		{"memory checkBeforeUpdate needs nothing", specs.LinuxResources{Memory: &specs.LinuxMemory{CheckBeforeUpdate: resPtr(true)}},
			nil},
		{"memory, runc's order", specs.LinuxResources{Memory: &specs.LinuxMemory{
			UseHierarchy: resPtr(true), Swappiness: resPtr[uint64](10), DisableOOMKiller: resPtr(true),
			Reservation: resPtr[int64](50), Swap: resPtr[int64](200), Limit: resPtr[int64](100)}},
			[]Write{
				with(mem("memory.limit_in_bytes", "100", "limit"), retry),
				mem("memory.memsw.limit_in_bytes", "200", "swap"),
				mem("memory.soft_limit_in_bytes", "50", "reservation"),
				mem("memory.oom_control", "1", "disableOOMKiller"),
				mem("memory.swappiness", "10", "swappiness"),
				mem("memory.use_hierarchy", "1", "useHierarchy"),
			}},

		{"cpu shares", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: resPtr[uint64](512)}},
			[]Write{cpu("cpu.shares", "512", "shares")}},
		{"cpu shares bounds", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: resPtr[uint64](2)}},
			[]Write{cpu("cpu.shares", "2", "shares")}},
		{"cpu quota alone", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](50000)}},
			[]Write{cpu("cpu.cfs_quota_us", "50000", "quota")}},
		{"cpu quota -1", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](-1)}},
			[]Write{cpu("cpu.cfs_quota_us", "-1", "quota")}},
		{"cpu period alone is not retried", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: resPtr[uint64](100000)}},
			[]Write{cpu("cpu.cfs_period_us", "100000", "period")}},
		{"cpu period before quota, retried", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](20000), Period: resPtr[uint64](100000)}},
			[]Write{with(cpu("cpu.cfs_period_us", "100000", "period"), retry), cpu("cpu.cfs_quota_us", "20000", "quota")}},
		{"cpu burst alone is optional", specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: resPtr[uint64](0)}},
			[]Write{with(cpu("cpu.cfs_burst_us", "0", "burst"), optional)}},
		{"cpu period, burst, quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](20000), Burst: resPtr[uint64](10000), Period: resPtr[uint64](100000)}},
			[]Write{
				with(cpu("cpu.cfs_period_us", "100000", "period"), retry),
				with(with(cpu("cpu.cfs_burst_us", "10000", "burst"), optional), retry),
				cpu("cpu.cfs_quota_us", "20000", "quota"),
			}},
		{"cpu idle", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: resPtr[int64](1)}},
			[]Write{cpu("cpu.idle", "1", "idle")}},
		{"cpu idle 0", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: resPtr[int64](0)}},
			[]Write{cpu("cpu.idle", "0", "idle")}},
		{"cpu realtime period before runtime, retried", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: resPtr[int64](950000), RealtimePeriod: resPtr[uint64](1000000)}},
			[]Write{with(cpu("cpu.rt_period_us", "1000000", "realtimePeriod"), retry), cpu("cpu.rt_runtime_us", "950000", "realtimeRuntime")}},
		{"cpu realtime period alone", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: resPtr[uint64](1000000)}},
			[]Write{cpu("cpu.rt_period_us", "1000000", "realtimePeriod")}},
		{"cpu realtime runtime -1", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: resPtr[int64](-1)}},
			[]Write{cpu("cpu.rt_runtime_us", "-1", "realtimeRuntime")}},

		{"cpuset cpus and mems, noprefix names as alternatives", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-1", Mems: "0"}},
			[]Write{
				{Controller: "cpuset", File: "cpuset.cpus", Value: "0-1", Field: "linux.resources.cpu.cpus", Alternatives: []string{"cpus"}},
				{Controller: "cpuset", File: "cpuset.mems", Value: "0", Field: "linux.resources.cpu.mems", Alternatives: []string{"mems"}},
			}},

		{"pids limit", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: resPtr[int64](32771)}},
			[]Write{{Controller: "pids", File: "pids.max", Value: "32771", Field: "linux.resources.pids.limit"}}},
		{"pids -1 is max", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: resPtr[int64](-1)}},
			[]Write{{Controller: "pids", File: "pids.max", Value: "max", Field: "linux.resources.pids.limit"}}},
		{"pids below -1 is max", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: resPtr[int64](-7)}},
			[]Write{{Controller: "pids", File: "pids.max", Value: "max", Field: "linux.resources.pids.limit"}}},
		{"pids 0 is 1, as runc", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: resPtr[int64](0)}},
			[]Write{{Controller: "pids", File: "pids.max", Value: "1", Field: "linux.resources.pids.limit"}}},
		{"pids unset", specs.LinuxResources{Pids: &specs.LinuxPids{}}, nil},

		{"blkio weight with the bfq name as alternative", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: resPtr[uint16](500)}},
			[]Write{with(blk("blkio.weight", "500", "weight"), func(w *Write) { w.Alternatives = []string{"blkio.bfq.weight"} })}},
		{"blkio leaf weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: resPtr[uint16](300)}},
			[]Write{blk("blkio.leaf_weight", "300", "leafWeight")}},
		{"blkio weight devices", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: resPtr[uint16](600), LeafWeight: resPtr[uint16](700)},
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, LeafWeight: resPtr[uint16](100)},
		}}},
			[]Write{
				with(blk("blkio.weight_device", "8:0 600", "weightDevice[0].weight"), func(w *Write) { w.Alternatives = []string{"blkio.bfq.weight_device"} }),
				blk("blkio.leaf_weight_device", "8:0 700", "weightDevice[0].leafWeight"),
				blk("blkio.leaf_weight_device", "8:16 100", "weightDevice[1].leafWeight"),
			}},
		{"blkio throttles in runc's order", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 4}},
			ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 3}},
			ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 2}},
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1},
				{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 259, Minor: 1}, Rate: 0},
			},
		}},
			[]Write{
				blk("blkio.throttle.read_bps_device", "8:0 1", "throttleReadBpsDevice[0]"),
				blk("blkio.throttle.read_bps_device", "259:1 0", "throttleReadBpsDevice[1]"),
				blk("blkio.throttle.write_bps_device", "8:0 2", "throttleWriteBpsDevice[0]"),
				blk("blkio.throttle.read_iops_device", "8:0 3", "throttleReadIOPSDevice[0]"),
				blk("blkio.throttle.write_iops_device", "8:0 4", "throttleWriteIOPSDevice[0]"),
			}},

		{"hugetlb limit and optional reservation", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4194304}, {Pagesize: "1GB", Limit: 0}}},
			[]Write{
				{Controller: "hugetlb", File: "hugetlb.2MB.limit_in_bytes", Value: "4194304", Field: "linux.resources.hugepageLimits[0].limit"},
				{Controller: "hugetlb", File: "hugetlb.2MB.rsvd.limit_in_bytes", Value: "4194304", Field: "linux.resources.hugepageLimits[0].limit", Optional: true},
				{Controller: "hugetlb", File: "hugetlb.1GB.limit_in_bytes", Value: "0", Field: "linux.resources.hugepageLimits[1].limit"},
				{Controller: "hugetlb", File: "hugetlb.1GB.rsvd.limit_in_bytes", Value: "0", Field: "linux.resources.hugepageLimits[1].limit", Optional: true},
			}},

		{"net_cls and net_prio", specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: resPtr[uint32](1048577), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 500}, {Name: "lo", Priority: 0}}}},
			[]Write{
				{Controller: "net_cls", File: "net_cls.classid", Value: "1048577", Field: "linux.resources.network.classID"},
				{Controller: "net_prio", File: "net_prio.ifpriomap", Value: "eth0 500", Field: "linux.resources.network.priorities[0]"},
				{Controller: "net_prio", File: "net_prio.ifpriomap", Value: "lo 0", Field: "linux.resources.network.priorities[1]"},
			}},

		{"rdma sorted by device", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{
			"mlx5_1": {HcaHandles: resPtr[uint32](3), HcaObjects: resPtr[uint32](10000)},
			"mlx4_0": {HcaObjects: resPtr[uint32](1000)},
			"rxe3":   {HcaHandles: resPtr[uint32](0)},
		}},
			[]Write{
				{Controller: "rdma", File: "rdma.max", Value: "mlx4_0 hca_object=1000", Field: `linux.resources.rdma["mlx4_0"]`},
				{Controller: "rdma", File: "rdma.max", Value: "mlx5_1 hca_handle=3 hca_object=10000", Field: `linux.resources.rdma["mlx5_1"]`},
				{Controller: "rdma", File: "rdma.max", Value: "rxe3 hca_handle=0", Field: `linux.resources.rdma["rxe3"]`},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Writes(&tc.r)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("writes:\n got  %s\n want %s", fmtWrites(got), fmtWrites(tc.want))
			}
		})
	}
}

func fmtWrites(ws []Write) string {
	var s []string
	for _, w := range ws {
		s = append(s, fmt.Sprintf("%+v", w))
	}
	return "[" + strings.Join(s, "\n       ") + "]"
}

// Every controller in one config: the controllers come in runc's fs order.
func TestWritesControllerOrder(t *testing.T) {
	r := &specs.LinuxResources{
		Rdma:           map[string]specs.LinuxRdma{"mlx4_0": {HcaHandles: resPtr[uint32](1)}},
		Network:        &specs.LinuxNetwork{ClassID: resPtr[uint32](1), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 1}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}},
		BlockIO:        &specs.LinuxBlockIO{Weight: resPtr[uint16](100)},
		Pids:           &specs.LinuxPids{Limit: resPtr[int64](10)},
		CPU:            &specs.LinuxCPU{Shares: resPtr[uint64](100), Cpus: "0", Mems: "0"},
		Memory:         &specs.LinuxMemory{Limit: resPtr[int64](1 << 30)},
	}
	got, _, err := Writes(r)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, w := range got {
		if len(order) == 0 || order[len(order)-1] != w.Controller {
			order = append(order, w.Controller)
		}
	}
	want := []string{"cpuset", "memory", "cpu", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("controller order %v, want %v", order, want)
	}
}

func TestWritesErrors(t *testing.T) {
	tests := []struct {
		name  string
		r     specs.LinuxResources
		field string // the error must start with it
		hint  string // and say this
	}{
		{"unified on v1", specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}, "linux.resources.unified", "needs cgroup v2"},
		{"memory limit below -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](-2)}}, "linux.resources.memory.limit", "-1 for unlimited"},
		{"memory reservation below -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: resPtr[int64](-5)}}, "linux.resources.memory.reservation", "byte count"},
		{"memory swap below -1", specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: resPtr[int64](-3)}}, "linux.resources.memory.swap", "byte count"},
		{"memory swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](200), Swap: resPtr[int64](100)}}, "linux.resources.memory.swap", "must be -1 or at least memory.limit"},
		{"memory swap with unlimited limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](-1), Swap: resPtr[int64](100)}}, "linux.resources.memory.swap", "must be -1 or at least memory.limit"},
		{"memory swappiness", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: resPtr[uint64](101)}}, "linux.resources.memory.swappiness", "0-100"},
		{"cpu shares 1", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: resPtr[uint64](1)}}, "linux.resources.cpu.shares", "2-262144"},
		{"cpu shares too big", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: resPtr[uint64](262145)}}, "linux.resources.cpu.shares", "2-262144"},
		{"cpu quota too small", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](999)}}, "linux.resources.cpu.quota", "at least 1000"},
		{"cpu period too small", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: resPtr[uint64](999)}}, "linux.resources.cpu.period", "1000-1000000"},
		{"cpu period too big", specs.LinuxResources{CPU: &specs.LinuxCPU{Period: resPtr[uint64](1000001)}}, "linux.resources.cpu.period", "1000-1000000"},
		{"cpu burst above quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: resPtr[int64](10000), Burst: resPtr[uint64](10001)}}, "linux.resources.cpu.burst", "must not exceed quota"},
		{"cpu idle 2", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: resPtr[int64](2)}}, "linux.resources.cpu.idle", "0 (normal) or 1"},
		{"cpu idle -1", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: resPtr[int64](-1)}}, "linux.resources.cpu.idle", "0 (normal) or 1"},
		{"blkio weight device negative", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}, Weight: resPtr[uint16](1)},
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1}, Weight: resPtr[uint16](1)}}}},
			"linux.resources.blockIO.weightDevice[1]", "device numbers"},
		{"blkio throttle minor too big", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 1 << 33}, Rate: 1}}}},
			"linux.resources.blockIO.throttleWriteIOPSDevice[0]", "device numbers"},
		{"hugetlb page size without B", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "2M"}}}, "linux.resources.hugepageLimits[1].pageSize", "2MB, 1GB"},
		{"hugetlb page size path", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "../../x/1GB"}}}, "linux.resources.hugepageLimits[0].pageSize", "hugepage size"},
		{"hugetlb page size unit", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2TB"}}}, "linux.resources.hugepageLimits[0].pageSize", "hugepage size"},
		{"hugetlb page size leading zero", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "02MB"}}}, "linux.resources.hugepageLimits[0].pageSize", "hugepage size"},
		{"net_prio name with space", specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0 1\nlo", Priority: 1}}}}, "linux.resources.network.priorities[0].name", "interface name"},
		{"net_prio empty name", specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Priority: 1}}}}, "linux.resources.network.priorities[0].name", "interface name"},
		{"rdma without limits", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx4_0": {}}}, `linux.resources.rdma["mlx4_0"]`, "hcaHandles, hcaObjects"},
		{"rdma bad device name", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"a b": {HcaHandles: resPtr[uint32](1)}}}, `linux.resources.rdma["a b"]`, "RDMA device name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, warn, err := Writes(&tc.r)
			if err == nil {
				t.Fatalf("no error; writes %v", w)
			}
			if w != nil || warn != nil {
				t.Errorf("writes %v / warnings %v returned with the error", w, warn)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.field+": ") {
				t.Errorf("error %q does not start with %q", msg, tc.field+": ")
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

func TestWritesWarnings(t *testing.T) {
	tests := []struct {
		name   string
		r      specs.LinuxResources
		writes int
		fields []string
	}{
		{"kernel memory ignored", specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: resPtr[int64](1 << 20)}}, 0, //nolint:staticcheck
			[]string{"linux.resources.memory.kernel: ignored"}},
		{"kernel TCP ignored", specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: resPtr[int64](1 << 20), Limit: resPtr[int64](1 << 30)}}, 1,
			[]string{"linux.resources.memory.kernelTCP: ignored"}},
		{"useHierarchy false ignored", specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: resPtr(false)}}, 0,
			[]string{"linux.resources.memory.useHierarchy: false is ignored"}},
		{"pids 0 as 1", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: resPtr[int64](0)}}, 1,
			[]string{"linux.resources.pids.limit: 0 is applied as 1"}},
		{"weight device without weights", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8}}}}}, 0,
			[]string{"linux.resources.blockIO.weightDevice[0]: has neither"}},
		{"no warning for plain limits", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: resPtr[int64](1 << 30)}, Pids: &specs.LinuxPids{Limit: resPtr[int64](5)}}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, warn, err := Writes(&tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != tc.writes {
				t.Errorf("%d writes, want %d: %v", len(w), tc.writes, w)
			}
			if len(warn) != len(tc.fields) {
				t.Fatalf("warnings %q, want %d", warn, len(tc.fields))
			}
			for i, f := range tc.fields {
				if !strings.HasPrefix(warn[i], f) {
					t.Errorf("warning %q does not start with %q", warn[i], f)
				}
			}
		})
	}
}

// memcg models the v1 memory controller's coupling of the limit and the
// memory+swap limit: memsw may never be below the limit (EINVAL).
type memcg struct {
	limit, memsw uint64
	noMemsw      bool // swap accounting off: no memory.memsw.* files
}

const unlimited = math.MaxUint64

var (
	errEINVAL = errors.New("EINVAL")
	errENOENT = errors.New("ENOENT")
)

func (m *memcg) write(file, value string) error {
	v := uint64(unlimited)
	if value != "-1" {
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return errEINVAL
		}
		v = n
	}
	switch file {
	case "memory.limit_in_bytes":
		if !m.noMemsw && v > m.memsw {
			return errEINVAL
		}
		m.limit = v
	case "memory.memsw.limit_in_bytes":
		if m.noMemsw {
			return errENOENT
		}
		if v < m.limit {
			return errEINVAL
		}
		m.memsw = v
	default:
		return errENOENT
	}
	return nil
}

// applyMemory applies the writes as the Write doc tells an applier to, and
// counts the EINVALs that were retried.
func applyMemory(m *memcg, ws []Write) (retried int, err error) {
	var later []Write
	for _, w := range ws {
		if w.Controller != "memory" {
			continue
		}
		err := m.write(w.File, w.Value)
		switch {
		case err == nil:
		case errors.Is(err, errENOENT) && w.Optional:
		case errors.Is(err, errEINVAL) && w.Retry:
			later = append(later, w)
		default:
			return retried, fmt.Errorf("%s %s: %w", w.File, w.Value, err)
		}
	}
	for _, w := range later {
		retried++
		if err := m.write(w.File, w.Value); err != nil {
			return retried, fmt.Errorf("retry %s %s: %w", w.File, w.Value, err)
		}
	}
	return retried, nil
}

// The memory writes reach the requested limits from a fresh cgroup without
// a retry, and from any earlier valid state (an update) with at most one.
func TestWritesMemoryOrderReachesTarget(t *testing.T) {
	type pair struct{ limit, swap int64 } // 0 = unset
	requests := []pair{{100, 300}, {300, 300}, {50, 50}, {1000, 5000}, {100, -1}, {-1, 0}, {-1, -1}, {200, 0}, {0, -1}, {0, 400}}
	starts := []memcg{
		{limit: unlimited, memsw: unlimited}, // fresh
		{limit: 100, memsw: 200},
		{limit: 300, memsw: 300},
		{limit: 2000, memsw: 9000},
		{limit: 10, memsw: unlimited},
	}
	conv := func(v int64) uint64 {
		if v == -1 {
			return unlimited
		}
		return uint64(v)
	}
	for _, req := range requests {
		mem := &specs.LinuxMemory{}
		if req.limit != 0 {
			mem.Limit = resPtr(req.limit)
		}
		if req.swap != 0 {
			mem.Swap = resPtr(req.swap)
		}
		ws, _, err := Writes(&specs.LinuxResources{Memory: mem})
		if err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
		for i, start := range starts {
			for _, noMemsw := range []bool{false, true} {
				if noMemsw && req.swap != 0 {
					continue // an explicit swap needs swap accounting
				}
				m := start
				m.noMemsw = noMemsw
				// An unset swap keeps memsw, and only if the result is
				// valid can the kernel get there at all.
				wantLimit, wantMemsw := m.limit, m.memsw
				if req.limit != 0 {
					wantLimit = conv(req.limit)
				}
				if req.swap != 0 {
					wantMemsw = conv(req.swap)
				} else if req.limit == -1 {
					wantMemsw = unlimited
				}
				if !noMemsw && wantMemsw < wantLimit {
					continue
				}
				retried, err := applyMemory(&m, ws)
				if err != nil {
					t.Errorf("request %+v from %+v (noMemsw %v): %v", req, start, noMemsw, err)
					continue
				}
				if m.limit != wantLimit || (!noMemsw && m.memsw != wantMemsw) {
					t.Errorf("request %+v from %+v: got limit %d memsw %d", req, start, m.limit, m.memsw)
				}
				if i == 0 && retried != 0 {
					t.Errorf("request %+v on a fresh cgroup needed %d retries", req, retried)
				}
			}
		}
	}
}

package libcontainer

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }

func TestMergeResources(t *testing.T) {
	cur := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(100), Swap: i64(100), Reservation: i64(50)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Cpus: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(10)},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	got := MergeResources(cur, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: i64(300), Reservation: i64(0)},
		CPU:    &specs.LinuxCPU{Quota: i64(5000)},
		Pids:   &specs.LinuxPids{Limit: i64(0)},
	})
	if *got.Memory.Limit != 300 || *got.Memory.Swap != 300 || *got.Memory.Reservation != 50 {
		t.Errorf("memory = limit %d swap %d reservation %d, want 300 300 50", *got.Memory.Limit, *got.Memory.Swap, *got.Memory.Reservation)
	}
	if *got.CPU.Shares != 512 || *got.CPU.Quota != 5000 || got.CPU.Cpus != "0" {
		t.Errorf("cpu = %+v, want shares kept, quota set, cpus kept", got.CPU)
	}
	if *got.Pids.Limit != 10 {
		t.Errorf("pids = %d: a zero in an update must not change it", *got.Pids.Limit)
	}
	if len(got.Devices) != 1 {
		t.Errorf("device rules changed by an update that has none")
	}
	if *cur.Memory.Limit != 100 {
		t.Errorf("the current resources were modified")
	}
	withSwap := MergeResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(100), Swap: i64(200)}},
		&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(150)}})
	if *withSwap.Memory.Swap != 200 {
		t.Errorf("swap = %d: a container with swap keeps its swap limit", *withSwap.Memory.Swap)
	}
}

package libcontainer

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/state"
)

// Update changes the resources of a created, running or paused container:
// what r sets replaces what the container has, the rest stays (runc's
// update semantics: unset and zero fields leave a value alone).
func (c *Container) Update(r *specs.LinuxResources) ([]string, error) {
	if st := c.Status(); st == state.Stopped {
		return nil, c.wrongState("update", st)
	}
	cg := c.cgroup()
	if cg == nil {
		return nil, fmt.Errorf("cannot update container %s: it has no cgroup", c.State.ID)
	}
	cur, devices, err := c.State.CgroupSettings()
	if err != nil {
		return nil, err
	}
	merged := MergeResources(cur, r)
	warnings, err := cg.Set(merged, devices)
	if err != nil {
		return nil, err
	}
	if err := c.State.SetCgroupSettings(merged, devices); err != nil {
		return nil, err
	}
	return warnings, c.dir.Save(c.State)
}

// MergeResources overlays the fields update sets on a copy of cur.
func MergeResources(cur, update *specs.LinuxResources) *specs.LinuxResources {
	out := &specs.LinuxResources{}
	if cur != nil {
		*out = *cur
	}
	if update == nil {
		return out
	}
	if m := update.Memory; m != nil {
		mm := specs.LinuxMemory{}
		if out.Memory != nil {
			mm = *out.Memory
		}
		// A container allowed no swap (memsw = limit) keeps none when
		// only its limit changes.
		noSwap := mm.Limit != nil && mm.Swap != nil && *mm.Limit == *mm.Swap
		setI64(&mm.Limit, m.Limit)
		setI64(&mm.Reservation, m.Reservation)
		setI64(&mm.Swap, m.Swap)
		if noSwap && (m.Swap == nil || *m.Swap == 0) {
			mm.Swap = mm.Limit
		}
		setI64(&mm.Kernel, m.Kernel)
		setI64(&mm.KernelTCP, m.KernelTCP)
		if m.Swappiness != nil {
			mm.Swappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			mm.DisableOOMKiller = m.DisableOOMKiller
		}
		out.Memory = &mm
	}
	if u := update.CPU; u != nil {
		cc := specs.LinuxCPU{}
		if out.CPU != nil {
			cc = *out.CPU
		}
		setU64(&cc.Shares, u.Shares)
		setI64(&cc.Quota, u.Quota)
		setU64(&cc.Burst, u.Burst)
		setU64(&cc.Period, u.Period)
		setI64(&cc.RealtimeRuntime, u.RealtimeRuntime)
		setU64(&cc.RealtimePeriod, u.RealtimePeriod)
		if u.Cpus != "" {
			cc.Cpus = u.Cpus
		}
		if u.Mems != "" {
			cc.Mems = u.Mems
		}
		if u.Idle != nil {
			cc.Idle = u.Idle
		}
		out.CPU = &cc
	}
	if u := update.Pids; u != nil && u.Limit != nil && *u.Limit != 0 {
		out.Pids = &specs.LinuxPids{Limit: u.Limit}
	}
	if u := update.BlockIO; u != nil {
		b := specs.LinuxBlockIO{}
		if out.BlockIO != nil {
			b = *out.BlockIO
		}
		if u.Weight != nil && *u.Weight != 0 {
			b.Weight = u.Weight
		}
		if u.ThrottleReadBpsDevice != nil {
			b.ThrottleReadBpsDevice = u.ThrottleReadBpsDevice
		}
		if u.ThrottleWriteBpsDevice != nil {
			b.ThrottleWriteBpsDevice = u.ThrottleWriteBpsDevice
		}
		if u.ThrottleReadIOPSDevice != nil {
			b.ThrottleReadIOPSDevice = u.ThrottleReadIOPSDevice
		}
		if u.ThrottleWriteIOPSDevice != nil {
			b.ThrottleWriteIOPSDevice = u.ThrottleWriteIOPSDevice
		}
		if u.WeightDevice != nil {
			b.WeightDevice = u.WeightDevice
		}
		out.BlockIO = &b
	}
	if update.HugepageLimits != nil {
		out.HugepageLimits = update.HugepageLimits
	}
	if update.Network != nil {
		out.Network = update.Network
	}
	if update.Rdma != nil {
		out.Rdma = update.Rdma
	}
	if len(update.Unified) > 0 {
		u := map[string]string{}
		for k, v := range out.Unified {
			u[k] = v
		}
		for k, v := range update.Unified {
			u[k] = v
		}
		out.Unified = u
	}
	return out
}

// A zero in an update means "not given", as with runc.
func setI64(dst **int64, v *int64) {
	if v != nil && *v != 0 {
		x := *v
		*dst = &x
	}
}

func setU64(dst **uint64, v *uint64) {
	if v != nil && *v != 0 {
		x := *v
		*dst = &x
	}
}

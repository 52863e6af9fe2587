// Package caps sets the capability sets of the calling thread. Capabilities
// are per thread: the init locks its goroutine to one OS thread and execs the
// payload from it, so what is set here is what the payload gets.
package caps

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// lastCap asks the kernel instead of reading /proc/sys/kernel/cap_last_cap:
// the init may have no /proc when it calls this.
func lastCap() uint {
	c := uint(0)
	for {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c+1), 0, 0, 0); err != nil {
			return c
		}
		c++
	}
}

func set(list []uint) map[uint]bool {
	m := make(map[uint]bool, len(list))
	for _, c := range list {
		m[c] = true
	}
	return m
}

// DropBounding removes from the bounding set every capability not in keep.
// It needs CAP_SETPCAP, so it runs before the user change drops privileges.
func DropBounding(keep []uint) error {
	k := set(keep)
	last := lastCap()
	for c := uint(0); c <= last; c++ {
		if k[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("process.capabilities.bounding: dropping capability %d: %w", c, err)
		}
	}
	return nil
}

// Apply sets the effective, permitted and inheritable sets, then the
// ambient set, which the kernel only accepts for capabilities already
// permitted and inheritable.
func Apply(c spec.Capabilities) error {
	var data [2]unix.CapUserData
	fill := func(list []uint, pick func(*unix.CapUserData) *uint32) {
		for _, cp := range list {
			*pick(&data[cp/32]) |= 1 << (cp % 32)
		}
	}
	fill(c.Effective, func(d *unix.CapUserData) *uint32 { return &d.Effective })
	fill(c.Permitted, func(d *unix.CapUserData) *uint32 { return &d.Permitted })
	fill(c.Inheritable, func(d *unix.CapUserData) *uint32 { return &d.Inheritable })
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("process.capabilities: capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("process.capabilities.ambient: clearing: %w", err)
	}
	for _, cp := range c.Ambient {
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(cp), 0, 0); err != nil {
			return fmt.Errorf("process.capabilities.ambient: raising capability %d (it must also be permitted and inheritable): %w", cp, err)
		}
	}
	return nil
}

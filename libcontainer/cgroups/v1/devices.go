package v1

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// DeviceWrites returns the devices.deny/devices.allow writes that give a
// container the device access cgroups.MergeDeviceRules computes from the
// rules (linux.resources.devices, in order, later overriding earlier),
// runc's default devices and an allow "rwm" of each linux.devices node
// (extra).
//
// The list is the resulting state, not the rules one by one: first a reset
// ("a *:* rwm" to devices.deny, or to devices.allow when the result is
// allow-all), then the exceptions to it, merged per device and sorted by
// major, minor, type as runc writes them. Because it starts with a reset it
// gives the same result from any previous state of the cgroup (a fresh one
// inherits its parent's list); runc instead reads devices.list and writes
// only the difference, which an update of a running container would also
// want.
func DeviceWrites(rules []specs.LinuxDeviceCgroup, extra []specs.LinuxDevice) ([]Write, error) {
	d, err := cgroups.MergeDeviceRules(rules, extra)
	if err != nil {
		return nil, err
	}
	resetFile, exceptFile := "devices.deny", "devices.allow"
	if d.AllowAll {
		resetFile, exceptFile = "devices.allow", "devices.deny"
	}
	writes := []Write{{Controller: "devices", File: resetFile, Value: "a *:* rwm", Field: d.Field}}
	for _, e := range d.Exceptions {
		writes = append(writes, Write{
			Controller: "devices",
			File:       exceptFile,
			Value:      e.Key.String() + " " + e.Access.String(),
			Field:      strings.Join(e.Fields, ", "),
		})
	}
	return writes, nil
}

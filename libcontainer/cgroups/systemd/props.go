package systemd

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	v2 "github.com/hull-oci/hull/libcontainer/cgroups/v2"
)

// The limits systemd takes as unit properties are computed from the writes
// the cgroupfs manager plans for the same config (v2.Files, v1.Writes), not
// from the config again: one validation and one conversion (shares to
// weight, swap to swap alone, unified keys over typed fields), so the unit
// property and the control file always hold the same value. systemd writes
// its properties into the files whenever it realizes the unit's cgroup;
// what it has no property for, only hull writes.

// infinity is systemd's USEC_INFINITY / CGROUP_LIMIT_MAX: "no limit".
const infinity = uint64(math.MaxUint64)

// The systemd versions that brought a property hull may send; an older
// systemd refuses the whole unit for an unknown one, so it is left to the
// cgroupfs write there.
const (
	versionDeviceSyntax = 240 // DeviceAllow "char-MAJOR", "/dev/char/MAJ:MIN" without stat
	versionQuotaPeriod  = 242 // CPUQuotaPeriodUSec
	versionCpuset       = 244 // AllowedCPUs, AllowedMemoryNodes
)

func prop(name string, value any) sd.Property {
	return sd.Property{Name: name, Value: dbus.MakeVariant(value)}
}

// limit reads a "max"-or-number control file value as a unit property
// value.
func limit(v string) (uint64, error) {
	if v == "max" || v == "-1" {
		return infinity, nil
	}
	return strconv.ParseUint(v, 10, 64)
}

// resourceProps converts r to unit properties for the layout. It returns
// the resources for the cgroupfs manager too: r, or a copy whose CPU quota
// was rounded as systemd keeps it (see cpuQuota).
func resourceProps(layout cgroups.Layout, r *specs.LinuxResources, version int) ([]sd.Property, *specs.LinuxResources, error) {
	if r == nil {
		return nil, nil, nil
	}
	if layout == cgroups.Unified {
		files, err := v2.Files(r)
		if err != nil {
			return nil, nil, err
		}
		return unifiedProps(files, r, version)
	}
	writes, _, err := v1.Writes(r)
	if err != nil {
		return nil, nil, err
	}
	return legacyProps(writes, r, version)
}

var unifiedNames = map[string]string{
	"memory.max":      "MemoryMax",
	"memory.high":     "MemoryHigh",
	"memory.low":      "MemoryLow",
	"memory.min":      "MemoryMin",
	"memory.swap.max": "MemorySwapMax",
	"pids.max":        "TasksMax",
}

func unifiedProps(files []v2.File, r *specs.LinuxResources, version int) ([]sd.Property, *specs.LinuxResources, error) {
	var props []sd.Property
	out := r
	for _, f := range files {
		bad := func(err error) error {
			return fmt.Errorf("%s: %s %q for systemd: %w", f.Field, f.Name, f.Value, err)
		}
		switch f.Name {
		case "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max", "pids.max":
			n, err := limit(f.Value)
			if err != nil {
				return nil, nil, bad(err)
			}
			props = append(props, prop(unifiedNames[f.Name], n))
		case "cpu.weight":
			n, err := strconv.ParseUint(f.Value, 10, 64)
			if err != nil {
				return nil, nil, bad(err)
			}
			props = append(props, prop("CPUWeight", n))
		case "io.weight":
			// A plain or default weight; per-device weights stay files.
			v := strings.TrimPrefix(f.Value, "default ")
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				props = append(props, prop("IOWeight", n))
			}
		case "cpu.max":
			q, p, ok := strings.Cut(f.Value, " ")
			period := uint64(0)
			if ok {
				n, err := strconv.ParseUint(p, 10, 64)
				if err != nil {
					return nil, nil, bad(err)
				}
				period = n
			}
			quota := int64(0) // keep
			switch {
			case q == "max":
				quota = -1
			default:
				if n, err := strconv.ParseInt(q, 10, 64); err == nil && n > 0 {
					quota = n
				}
			}
			cp, rounded := cpuQuota(quota, period, version)
			props = append(props, cp...)
			if rounded != quota {
				out = withQuota(out, f.Field, rounded, period)
			}
		case "cpuset.cpus", "cpuset.mems":
			if version < versionCpuset {
				continue
			}
			bits, err := cpusetBits(f.Value)
			if err != nil {
				return nil, nil, bad(err)
			}
			name := "AllowedCPUs"
			if f.Name == "cpuset.mems" {
				name = "AllowedMemoryNodes"
			}
			props = append(props, prop(name, bits))
		}
	}
	return props, out, nil
}

func legacyProps(writes []v1.Write, r *specs.LinuxResources, version int) ([]sd.Property, *specs.LinuxResources, error) {
	var props []sd.Property
	out := r
	quota, period, cpuField := int64(0), uint64(0), ""
	for _, w := range writes {
		bad := func(err error) error {
			return fmt.Errorf("%s: %s %q for systemd: %w", w.Field, w.File, w.Value, err)
		}
		switch w.File {
		case "memory.limit_in_bytes", "pids.max", "cpu.shares", "blkio.weight":
			n, err := limit(w.Value)
			if err != nil {
				return nil, nil, bad(err)
			}
			name := map[string]string{"memory.limit_in_bytes": "MemoryLimit", "pids.max": "TasksMax",
				"cpu.shares": "CPUShares", "blkio.weight": "BlockIOWeight"}[w.File]
			props = append(props, prop(name, n))
		case "cpu.cfs_quota_us":
			n, err := strconv.ParseInt(w.Value, 10, 64)
			if err != nil {
				return nil, nil, bad(err)
			}
			quota, cpuField = n, w.Field
		case "cpu.cfs_period_us":
			n, err := strconv.ParseUint(w.Value, 10, 64)
			if err != nil {
				return nil, nil, bad(err)
			}
			period = n
		case "cpuset.cpus", "cpuset.mems":
			if version < versionCpuset {
				continue
			}
			bits, err := cpusetBits(w.Value)
			if err != nil {
				return nil, nil, bad(err)
			}
			name := "AllowedCPUs"
			if w.File == "cpuset.mems" {
				name = "AllowedMemoryNodes"
			}
			props = append(props, prop(name, bits))
		}
	}
	if quota != 0 || period != 0 {
		if quota < 0 {
			quota = -1
		}
		cp, rounded := cpuQuota(quota, period, version)
		props = append(props, cp...)
		if rounded != quota {
			out = withQuota(out, cpuField, rounded, period)
		}
	}
	return props, out, nil
}

// cpuQuota gives systemd a CPU limit: quota µs per period µs (-1 no limit,
// 0 keep the quota; period 0 the kernel's default). systemd takes the
// limit as CPUQuotaPerSecUSec and keeps it, in the unit file it reads back
// on daemon-reload, as whole percents (10 ms per second): a quota between
// two percents is rounded up to the next, and the rounded quota is
// returned so that hull writes it to the file as well, as runc does, and
// systemd and the file agree.
func cpuQuota(quota int64, period uint64, version int) ([]sd.Property, int64) {
	var props []sd.Property
	if period != 0 && version >= versionQuotaPeriod {
		props = append(props, prop("CPUQuotaPeriodUSec", period))
	}
	switch {
	case quota < 0:
		props = append(props, prop("CPUQuotaPerSecUSec", infinity))
	case quota > 0:
		p := period
		if p == 0 {
			p = 100000
		}
		perSec := uint64(quota) * 1000000 / p
		if perSec%10000 != 0 {
			perSec = (perSec/10000 + 1) * 10000
			quota = int64(perSec * p / 1000000)
		}
		props = append(props, prop("CPUQuotaPerSecUSec", perSec))
	}
	return props, quota
}

// withQuota is a copy of r whose quota for field is q.
func withQuota(r *specs.LinuxResources, field string, q int64, period uint64) *specs.LinuxResources {
	c := *r
	if strings.HasPrefix(field, "linux.resources.unified") {
		c.Unified = maps.Clone(r.Unified)
		p := "100000"
		if period != 0 {
			p = strconv.FormatUint(period, 10)
		}
		c.Unified["cpu.max"] = strconv.FormatInt(q, 10) + " " + p
		return &c
	}
	if r.CPU != nil {
		cpu := *r.CPU
		cpu.Quota = &q
		c.CPU = &cpu
	}
	return &c
}

// cpusetBits turns a cpuset list ("0-3,8") into the bitmask systemd takes
// for AllowedCPUs/AllowedMemoryNodes: byte i holds CPUs 8i to 8i+7, the
// lowest in bit 0.
func cpusetBits(list string) ([]byte, error) {
	var bits []byte
	set := func(n uint64) {
		for uint64(len(bits)) <= n/8 {
			bits = append(bits, 0)
		}
		bits[n/8] |= 1 << (n % 8)
	}
	for _, part := range strings.Split(list, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number or a range of numbers", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range of numbers", part)
			}
		}
		for n := a; n <= b; n++ {
			set(n)
		}
	}
	if len(bits) == 0 {
		return nil, errors.New("the list is empty")
	}
	return bits, nil
}

// deviceAllow is one DeviceAllow entry, D-Bus type (ss).
type deviceAllow struct {
	Path, Access string
}

// deviceProps gives systemd the device rules (DevicePolicy and
// DeviceAllow) where its allow-list can say exactly what the merged rules
// say; the cgroupfs manager enforces them either way (v2: hull's own eBPF
// program; v1: devices.deny/devices.allow). systemd cannot express a deny
// rule under an allow-all default, nor a wildcard major with a fixed
// minor. There, on v2 (where both programs must allow an access) systemd
// is told to allow all and hull's program alone decides; on v1 (where
// systemd rewrites devices.allow whenever it realizes the cgroup, and
// "allow all" would undo hull's rules) systemd gets the strict subset it
// can express, so that it never allows more, as runc does. The returned
// warning says which case applied.
func deviceProps(rules *cgroups.DeviceRules, unified bool, version int) ([]sd.Property, string) {
	reset := prop("DeviceAllow", []deviceAllow{})
	allowAll := []sd.Property{reset, prop("DevicePolicy", "auto")}
	if version < versionDeviceSyntax {
		return nil, fmt.Sprintf("linux.resources.devices: systemd %d is older than %d, whose DeviceAllow syntax hull uses: the rules are enforced by hull alone, not given to systemd", version, versionDeviceSyntax)
	}
	if rules.AllowAll {
		if len(rules.Exceptions) == 0 {
			return allowAll, ""
		}
		if unified {
			return allowAll, "linux.resources.devices: systemd cannot express deny rules under an allow-all default: the unit's DevicePolicy is auto and hull's own device program enforces the rules"
		}
		return []sd.Property{reset, prop("DevicePolicy", "strict")}, "linux.resources.devices: systemd cannot express deny rules under an allow-all default: its unit denies all devices (as runc does) and hull's devices.allow/deny rules apply until systemd rewrites them"
	}
	var allow []deviceAllow
	var skipped []string
	for _, e := range rules.Exceptions {
		class := "char-"
		if e.Key.Type == 'b' {
			class = "block-"
		}
		var path string
		switch {
		case e.Key.Major == cgroups.DeviceWildcard && e.Key.Minor == cgroups.DeviceWildcard:
			path = class + "*"
		case e.Key.Major == cgroups.DeviceWildcard:
			skipped = append(skipped, e.Key.String())
			continue
		case e.Key.Minor == cgroups.DeviceWildcard:
			path = class + strconv.FormatInt(e.Key.Major, 10)
		default:
			dir := "/dev/char/"
			if e.Key.Type == 'b' {
				dir = "/dev/block/"
			}
			path = fmt.Sprintf("%s%d:%d", dir, e.Key.Major, e.Key.Minor)
		}
		allow = append(allow, deviceAllow{path, e.Access.String()})
	}
	if len(skipped) > 0 {
		if unified {
			return allowAll, fmt.Sprintf("linux.resources.devices: systemd cannot express a wildcard major with a fixed minor (%s): the unit's DevicePolicy is auto and hull's own device program enforces the rules", strings.Join(skipped, ", "))
		}
		return []sd.Property{reset, prop("DevicePolicy", "strict"), prop("DeviceAllow", allow)},
			fmt.Sprintf("linux.resources.devices: systemd cannot express a wildcard major with a fixed minor (%s): its unit leaves them out (stricter, as runc does), hull's devices.allow has them until systemd rewrites it", strings.Join(skipped, ", "))
	}
	// The empty list first clears what an earlier Set gave an existing
	// unit: DeviceAllow adds to the list.
	return []sd.Property{reset, prop("DevicePolicy", "strict"), prop("DeviceAllow", allow)}, ""
}

// annotationPrefix marks an annotation that sets a unit property, as in
// runc: "org.systemd.property.TimeoutStopUSec": "uint64 123456789".
const annotationPrefix = "org.systemd.property."

// reserved are the properties hull's own bookkeeping rests on: the scope's
// slice and processes are recorded in the state, so an annotation must not
// move them.
var reserved = []string{"Slice", "PIDs", "PIDFDs"}

// annotationProps reads the org.systemd.property.* annotations with runc's
// rules: the name is at least three ASCII letters; the value is in GVariant
// text form ("uint64 123", "'text'", "true"); a name ending in lowercase
// letter + "Sec" is the microseconds property with "USec", the value
// converted from seconds. Sorted by annotation, so the order is stable.
func annotationProps(annotations map[string]string) ([]sd.Property, error) {
	var props []sd.Property
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		name, ok := strings.CutPrefix(k, annotationPrefix)
		if !ok {
			continue
		}
		field := fmt.Sprintf("annotations[%q]", k)
		if len(name) < 3 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return nil, fmt.Errorf("%s: %q is not a systemd property name (three or more ASCII letters)", field, name)
		}
		if slices.Contains(reserved, name) {
			return nil, fmt.Errorf("%s: hull sets %s itself from linux.cgroupsPath and the container's init; remove the annotation", field, name)
		}
		v := annotations[k]
		value, err := dbus.ParseVariant(v, dbus.Signature{})
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a GVariant text value (e.g. \"uint64 123\", \"'text'\", \"true\"): %v", field, v, err)
		}
		if base, ok := strings.CutSuffix(name, "Sec"); ok && base != "" {
			if c := base[len(base)-1]; c >= 'a' && c <= 'z' {
				usec, err := secToUSec(value)
				if err != nil {
					return nil, fmt.Errorf("%s: %s takes seconds, so the value must be a number: %v", field, name, err)
				}
				name, value = base+"USec", usec
			}
		}
		props = append(props, sd.Property{Name: name, Value: value})
	}
	return props, nil
}

// secToUSec converts a number of seconds of any GVariant numeric type to
// microseconds as uint64.
func secToUSec(v dbus.Variant) (dbus.Variant, error) {
	const M = 1000000
	var us uint64
	switch x := v.Value().(type) {
	case byte:
		us = uint64(x) * M
	case int16:
		us = uint64(x) * M
	case uint16:
		us = uint64(x) * M
	case int32:
		us = uint64(x) * M
	case uint32:
		us = uint64(x) * M
	case int64:
		us = uint64(x) * M
	case uint64:
		us = x * M
	case float64:
		us = uint64(x * M)
	default:
		return v, fmt.Errorf("%s is not a number", v.String())
	}
	return dbus.MakeVariant(us), nil
}

package cgroups

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Device rules are merged here, once, for both managers: v1 writes the
// result into devices.deny/devices.allow, v2 compiles it into an eBPF
// program. Both enforce the same state, so a container sees the same
// devices on every layout.

// DeviceWildcard stands for "*" in a major or minor number, as in the spec,
// where an unset major/minor means all.
const DeviceWildcard = -1

// DefaultDevice is one of runc's rules appended after the config's.
type DefaultDevice struct {
	// Dedup is the path by which a linux.devices entry replaces the rule, as
	// runc drops a default whose path the config lists; the rules without
	// one are never dropped.
	Dedup, Label string
	Type         byte
	Major, Minor int64
	Access       string
}

// DefaultDevices is runc's list (libcontainer/specconv AllowedDevices), in
// runc's order. There is no /dev/console rule: the console is a pty,
// covered by 136:*.
var DefaultDevices = [...]DefaultDevice{
	{"", "mknod of any char device", 'c', DeviceWildcard, DeviceWildcard, "m"},
	{"", "mknod of any block device", 'b', DeviceWildcard, DeviceWildcard, "m"},
	{"/dev/null", "/dev/null", 'c', 1, 3, "rwm"},
	{"/dev/random", "/dev/random", 'c', 1, 8, "rwm"},
	{"/dev/full", "/dev/full", 'c', 1, 7, "rwm"},
	{"/dev/tty", "/dev/tty", 'c', 5, 0, "rwm"},
	{"/dev/zero", "/dev/zero", 'c', 1, 5, "rwm"},
	{"/dev/urandom", "/dev/urandom", 'c', 1, 9, "rwm"},
	{"", "/dev/pts/*", 'c', 136, DeviceWildcard, "rwm"},
	{"", "/dev/ptmx", 'c', 5, 2, "rwm"},
	// runc dropped /dev/net/tun in 1.2.0-rc1 and restored it because
	// engines relied on it; a drop-in keeps it.
	{"", "/dev/net/tun", 'c', 10, 200, "rwm"},
}

// DeviceAccess is a set of the r, w and m permissions.
type DeviceAccess uint8

const (
	DeviceRead DeviceAccess = 1 << iota
	DeviceWrite
	DeviceMknod
)

// ParseDeviceAccess reads a spec access string ("rwm", "r", "mw", ...).
func ParseDeviceAccess(s string) (DeviceAccess, bool) {
	var p DeviceAccess
	for _, c := range s {
		switch c {
		case 'r':
			p |= DeviceRead
		case 'w':
			p |= DeviceWrite
		case 'm':
			p |= DeviceMknod
		default:
			return 0, false
		}
	}
	return p, true
}

// String is canonical "rwm" order, so merged rules print one way.
func (p DeviceAccess) String() string {
	var sb strings.Builder
	if p&DeviceRead != 0 {
		sb.WriteByte('r')
	}
	if p&DeviceWrite != 0 {
		sb.WriteByte('w')
	}
	if p&DeviceMknod != 0 {
		sb.WriteByte('m')
	}
	return sb.String()
}

// DeviceKey is what an exception matches on; Type is 'b' or 'c' ('a' rules
// never become exceptions: they reset the whole list).
type DeviceKey struct {
	Type         byte
	Major, Minor int64
}

func deviceNum(n int64) string {
	if n == DeviceWildcard {
		return "*"
	}
	return strconv.FormatInt(n, 10)
}

// String is the v1 devices-file form: "c 1:3", "b 8:*".
func (k DeviceKey) String() string {
	return fmt.Sprintf("%c %s:%s", k.Type, deviceNum(k.Major), deviceNum(k.Minor))
}

// Matches reports whether the key covers the device typ major:minor.
func (k DeviceKey) Matches(typ byte, major, minor int64) bool {
	return k.Type == typ && (k.Major == DeviceWildcard || k.Major == major) && (k.Minor == DeviceWildcard || k.Minor == minor)
}

// DeviceException is one exception to the default: an allowed device when
// the default denies, a denied one when it allows.
type DeviceException struct {
	Key    DeviceKey
	Access DeviceAccess
	// Fields are the config fields (or default rules) it comes from.
	Fields []string
}

// DeviceRules is the merged state of a container's device rules, as the
// kernel's v1 devices cgroup would hold it after every rule was written one
// by one: a default and exceptions to it, every exception having the
// verdict opposite to the default.
type DeviceRules struct {
	AllowAll bool
	// Field names the rule that set the default, for error messages.
	Field      string
	Exceptions []DeviceException // sorted by major, minor, type, as runc writes them
}

// Allows reports whether the rules let a process do acc on a device, with
// the v1 kernel's semantics (security/device_cgroup.c): when the default
// denies, one allow exception must cover every requested permission; when
// it allows, a deny exception refuses if it shares any permission with the
// request. An open for reading and writing asks for both at once.
func (d *DeviceRules) Allows(typ byte, major, minor int64, acc DeviceAccess) bool {
	for _, e := range d.Exceptions {
		if !e.Key.Matches(typ, major, minor) {
			continue
		}
		if d.AllowAll && e.Access&acc != 0 {
			return false
		}
		if !d.AllowAll && acc&^e.Access == 0 {
			return true
		}
	}
	return d.AllowAll
}

type devRule struct {
	allow  bool
	all    bool // type "a": every device, any access
	key    DeviceKey
	access DeviceAccess
	field  string
	user   bool // from linux.resources.devices, which errors should name
}

// devState emulates what the kernel's v1 devices cgroup holds: a default
// (allow-all or deny-all) and exceptions to it, merged per exact
// type/major/minor as the kernel merges them.
type devState struct {
	allowAll   bool
	modeField  string
	exceptions map[DeviceKey]DeviceAccess
	sources    map[DeviceKey][]string
}

func (s *devState) apply(r devRule) error {
	if r.all {
		*s = devState{allowAll: r.allow, modeField: r.field}
		return nil
	}
	if s.exceptions == nil {
		s.exceptions = map[DeviceKey]DeviceAccess{}
		s.sources = map[DeviceKey][]string{}
	}
	if r.allow != s.allowAll {
		// An exception to the default: the kernel merges access bits.
		s.exceptions[r.key] |= r.access
		if !slices.Contains(s.sources[r.key], r.field) {
			s.sources[r.key] = append(s.sources[r.key], r.field)
		}
		return nil
	}
	// Taking access back from an exception. The kernel only edits an
	// exception with exactly this type/major/minor and silently keeps a
	// wildcard one that covers the device, so the rule would look applied
	// and not be. runc refuses that; so does hull.
	for _, k := range []DeviceKey{
		{r.key.Type, DeviceWildcard, r.key.Minor},
		{r.key.Type, r.key.Major, DeviceWildcard},
		{r.key.Type, DeviceWildcard, DeviceWildcard},
	} {
		if k == r.key {
			continue
		}
		if overlap := s.exceptions[k] & r.access; overlap != 0 {
			return punchHoleError(r, k, s.exceptions[k], s.sources[k], s.allowAll)
		}
	}
	left := s.exceptions[r.key] &^ r.access
	if left == 0 {
		delete(s.exceptions, r.key)
		delete(s.sources, r.key)
	} else {
		s.exceptions[r.key] = left
	}
	return nil
}

func verb(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

func punchHoleError(r devRule, wk DeviceKey, wp DeviceAccess, wsrc []string, allowAll bool) error {
	// Lead with a config field the user can edit: the rule itself, or, when
	// a built-in rule collides, the config rule that made the wildcard.
	lead, other := r.field, strings.Join(wsrc, ", ")
	if !r.user {
		for _, s := range wsrc {
			if strings.HasPrefix(s, "linux.resources.devices[") {
				lead, other = s, r.field
				break
			}
		}
	}
	return fmt.Errorf("%s: %s %q cannot be carved out of the wildcard %s %q (%s): the v1 devices cgroup would silently keep the wildcard; list the devices individually instead of the wildcard",
		lead, verb(r.allow), r.key.String()+" "+r.access.String(), verb(!allowAll), wk.String()+" "+wp.String(), other)
}

// deviceNumber checks a major or minor of a cgroup rule: unset or -1 is the
// wildcard, as runc reads it; the kernel parses the rest as u32.
func deviceNumber(field string, p *int64) (int64, error) {
	if p == nil || *p == DeviceWildcard {
		return DeviceWildcard, nil
	}
	if *p < 0 || *p > math.MaxUint32 {
		return 0, fmt.Errorf("%s: must be a device number (0-%d), or unset (or -1) for all, got %d", field, uint32(math.MaxUint32), *p)
	}
	return *p, nil
}

func specRule(i int, d specs.LinuxDeviceCgroup) (devRule, error) {
	field := fmt.Sprintf("linux.resources.devices[%d]", i)
	r := devRule{allow: d.Allow, field: field, user: true}
	switch d.Type {
	case "", "a":
		r.all = true
	case "b", "c":
		r.key.Type = d.Type[0]
	default:
		return r, fmt.Errorf("%s.type: %q is not a device cgroup type: use \"a\" (all), \"b\" (block) or \"c\" (char)", field, d.Type)
	}
	if d.Access == "" {
		return r, fmt.Errorf("%s.access: must not be empty: give a combination of r (read), w (write) and m (mknod), e.g. \"rwm\"", field)
	}
	p, ok := ParseDeviceAccess(d.Access)
	if !ok {
		return r, fmt.Errorf("%s.access: %q is not a combination of r (read), w (write) and m (mknod)", field, d.Access)
	}
	r.access = p
	var err error
	if r.key.Major, err = deviceNumber(field+".major", d.Major); err != nil {
		return r, err
	}
	if r.key.Minor, err = deviceNumber(field+".minor", d.Minor); err != nil {
		return r, err
	}
	if r.all {
		// Like the kernel and runc: "a" means every device and every
		// access, whatever else the rule says.
		r.key = DeviceKey{}
	}
	return r, nil
}

// extraRule is the allow rule for a linux.devices node; ok is false for a
// fifo, which the devices cgroup does not govern.
func extraRule(i int, d specs.LinuxDevice) (r devRule, ok bool, err error) {
	field := fmt.Sprintf("linux.devices[%d]", i)
	var typ byte
	switch d.Type {
	case "c", "u":
		typ = 'c'
	case "b":
		typ = 'b'
	case "p":
		return r, false, nil
	default:
		return r, false, fmt.Errorf("%s.type: %q is not a device type: use \"c\" (or \"u\"), \"b\" or \"p\"", field, d.Type)
	}
	// A negative number here would turn into a "*" wildcard and allow a
	// whole class of devices.
	if d.Major < 0 || d.Minor < 0 || d.Major > math.MaxUint32 || d.Minor > math.MaxUint32 {
		return r, false, fmt.Errorf("%s: major and minor must be device numbers (0-%d), got %d:%d", field, uint32(math.MaxUint32), d.Major, d.Minor)
	}
	if d.Path != "" {
		field += " (" + d.Path + ")"
	}
	return devRule{allow: true, key: DeviceKey{typ, d.Major, d.Minor}, access: DeviceRead | DeviceWrite | DeviceMknod, field: field}, true, nil
}

// MergeDeviceRules computes the device access a container gets from: the
// rules (linux.resources.devices, in order, later overriding earlier), then
// runc's default devices, then an allow "rwm" of each linux.devices node
// (extra), starting, as the kernel and runc do, from deny-all. The result
// is the state, not the rules one by one: a default and the exceptions to
// it, merged per device. A rule that would take access back from inside a
// wildcard exception is an error, as in runc, because v1 cannot express it.
func MergeDeviceRules(rules []specs.LinuxDeviceCgroup, extra []specs.LinuxDevice) (*DeviceRules, error) {
	all := make([]devRule, 0, len(rules)+len(DefaultDevices)+len(extra))
	for i, d := range rules {
		r, err := specRule(i, d)
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	listed := make(map[string]bool, len(extra))
	for _, d := range extra {
		listed[d.Path] = true
	}
	for _, d := range DefaultDevices {
		if d.Dedup != "" && listed[d.Dedup] {
			continue
		}
		p, _ := ParseDeviceAccess(d.Access)
		all = append(all, devRule{allow: true, key: DeviceKey{d.Type, d.Major, d.Minor}, access: p, field: "default device " + d.Label})
	}
	for i, d := range extra {
		r, ok, err := extraRule(i, d)
		if err != nil {
			return nil, err
		}
		if ok {
			all = append(all, r)
		}
	}

	s := devState{}
	for _, r := range all {
		if err := s.apply(r); err != nil {
			return nil, err
		}
	}

	out := &DeviceRules{AllowAll: s.allowAll, Field: s.modeField}
	if out.Field == "" {
		out.Field = "linux.resources.devices (deny all by default)"
	}
	for k, a := range s.exceptions {
		out.Exceptions = append(out.Exceptions, DeviceException{Key: k, Access: a, Fields: s.sources[k]})
	}
	sort.Slice(out.Exceptions, func(i, j int) bool {
		a, b := out.Exceptions[i].Key, out.Exceptions[j].Key
		if a.Major != b.Major {
			return a.Major < b.Major
		}
		if a.Minor != b.Minor {
			return a.Minor < b.Minor
		}
		return a.Type < b.Type
	})
	return out, nil
}

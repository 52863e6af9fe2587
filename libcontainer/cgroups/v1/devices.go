package v1

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// wildcard stands for "*" in a major or minor number, as in the spec, where
// an unset major/minor means all.
const wildcard = -1

// defaultDevices is runc's list of rules appended after the config's
// (libcontainer/specconv AllowedDevices), in runc's order. dedup is the path
// by which a linux.devices entry replaces the rule, as runc drops a default
// whose path the config lists; the rules without one are never dropped.
// There is no /dev/console rule: the console is a pty, covered by 136:*.
var defaultDevices = [...]struct {
	dedup, label string
	typ          byte
	major, minor int64
	access       string
}{
	{"", "mknod of any char device", 'c', wildcard, wildcard, "m"},
	{"", "mknod of any block device", 'b', wildcard, wildcard, "m"},
	{"/dev/null", "/dev/null", 'c', 1, 3, "rwm"},
	{"/dev/random", "/dev/random", 'c', 1, 8, "rwm"},
	{"/dev/full", "/dev/full", 'c', 1, 7, "rwm"},
	{"/dev/tty", "/dev/tty", 'c', 5, 0, "rwm"},
	{"/dev/zero", "/dev/zero", 'c', 1, 5, "rwm"},
	{"/dev/urandom", "/dev/urandom", 'c', 1, 9, "rwm"},
	{"", "/dev/pts/*", 'c', 136, wildcard, "rwm"},
	{"", "/dev/ptmx", 'c', 5, 2, "rwm"},
	// runc dropped /dev/net/tun in 1.2.0-rc1 and restored it because
	// engines relied on it; a drop-in keeps it.
	{"", "/dev/net/tun", 'c', 10, 200, "rwm"},
}

type perms uint8

const (
	permR perms = 1 << iota
	permW
	permM
)

func parsePerms(s string) (perms, bool) {
	var p perms
	for _, c := range s {
		switch c {
		case 'r':
			p |= permR
		case 'w':
			p |= permW
		case 'm':
			p |= permM
		default:
			return 0, false
		}
	}
	return p, true
}

// String is canonical "rwm" order, so merged rules print one way.
func (p perms) String() string {
	var sb strings.Builder
	if p&permR != 0 {
		sb.WriteByte('r')
	}
	if p&permW != 0 {
		sb.WriteByte('w')
	}
	if p&permM != 0 {
		sb.WriteByte('m')
	}
	return sb.String()
}

// devKey is what a v1 exception matches on; typ is 'b' or 'c' ('a' rules
// never become exceptions: they reset the whole list).
type devKey struct {
	typ          byte
	major, minor int64
}

func num(n int64) string {
	if n == wildcard {
		return "*"
	}
	return i64(n)
}

func (k devKey) String() string {
	return fmt.Sprintf("%c %s:%s", k.typ, num(k.major), num(k.minor))
}

type devRule struct {
	allow bool
	all   bool // type "a": every device, any access
	key   devKey
	perms perms
	field string
	user  bool // from linux.resources.devices, which errors should name
}

// devState emulates what the kernel's v1 devices cgroup holds: a default
// (allow-all or deny-all) and exceptions to it, merged per exact
// type/major/minor as the kernel merges them.
type devState struct {
	allowAll   bool
	modeField  string
	exceptions map[devKey]perms
	sources    map[devKey][]string
}

func (s *devState) apply(r devRule) error {
	if r.all {
		*s = devState{allowAll: r.allow, modeField: r.field}
		return nil
	}
	if s.exceptions == nil {
		s.exceptions = map[devKey]perms{}
		s.sources = map[devKey][]string{}
	}
	if r.allow != s.allowAll {
		// An exception to the default: the kernel merges access bits.
		s.exceptions[r.key] |= r.perms
		if !slices.Contains(s.sources[r.key], r.field) {
			s.sources[r.key] = append(s.sources[r.key], r.field)
		}
		return nil
	}
	// Taking access back from an exception. The kernel only edits an
	// exception with exactly this type/major/minor and silently keeps a
	// wildcard one that covers the device, so the rule would look applied
	// and not be. runc refuses that; so does hull.
	for _, k := range []devKey{
		{r.key.typ, wildcard, r.key.minor},
		{r.key.typ, r.key.major, wildcard},
		{r.key.typ, wildcard, wildcard},
	} {
		if k == r.key {
			continue
		}
		if overlap := s.exceptions[k] & r.perms; overlap != 0 {
			return punchHoleError(r, k, s.exceptions[k], s.sources[k], s.allowAll)
		}
	}
	left := s.exceptions[r.key] &^ r.perms
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

func punchHoleError(r devRule, wk devKey, wp perms, wsrc []string, allowAll bool) error {
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
		lead, verb(r.allow), r.key.String()+" "+r.perms.String(), verb(!allowAll), wk.String()+" "+wp.String(), other)
}

// deviceNumber checks a major or minor of a cgroup rule: unset or -1 is the
// wildcard, as runc reads it; the kernel parses the rest as u32.
func deviceNumber(field string, p *int64) (int64, error) {
	if p == nil || *p == wildcard {
		return wildcard, nil
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
		r.key.typ = d.Type[0]
	default:
		return r, fmt.Errorf("%s.type: %q is not a device cgroup type: use \"a\" (all), \"b\" (block) or \"c\" (char)", field, d.Type)
	}
	if d.Access == "" {
		return r, fmt.Errorf("%s.access: must not be empty: give a combination of r (read), w (write) and m (mknod), e.g. \"rwm\"", field)
	}
	p, ok := parsePerms(d.Access)
	if !ok {
		return r, fmt.Errorf("%s.access: %q is not a combination of r (read), w (write) and m (mknod)", field, d.Access)
	}
	r.perms = p
	var err error
	if r.key.major, err = deviceNumber(field+".major", d.Major); err != nil {
		return r, err
	}
	if r.key.minor, err = deviceNumber(field+".minor", d.Minor); err != nil {
		return r, err
	}
	if r.all {
		// Like the kernel and runc: "a" means every device and every
		// access, whatever else the rule says.
		r.key = devKey{}
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
	return devRule{allow: true, key: devKey{typ, d.Major, d.Minor}, perms: permR | permW | permM, field: field}, true, nil
}

// DeviceWrites returns the devices.deny/devices.allow writes that give a
// container the device access of: the rules (linux.resources.devices, in
// order, later overriding earlier), then runc's default devices, then an
// allow "rwm" of each linux.devices node (extra).
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
	all := make([]devRule, 0, len(rules)+len(defaultDevices)+len(extra))
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
	for _, d := range defaultDevices {
		if d.dedup != "" && listed[d.dedup] {
			continue
		}
		p, _ := parsePerms(d.access)
		all = append(all, devRule{allow: true, key: devKey{d.typ, d.major, d.minor}, perms: p, field: "default device " + d.label})
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

	// The kernel's (and runc's) starting point for a container is deny-all.
	s := devState{}
	for _, r := range all {
		if err := s.apply(r); err != nil {
			return nil, err
		}
	}

	resetFile, exceptFile := "devices.deny", "devices.allow"
	if s.allowAll {
		resetFile, exceptFile = "devices.allow", "devices.deny"
	}
	field := s.modeField
	if field == "" {
		field = "linux.resources.devices (deny all by default)"
	}
	writes := []Write{{Controller: "devices", File: resetFile, Value: "a *:* rwm", Field: field}}

	keys := make([]devKey, 0, len(s.exceptions))
	for k := range s.exceptions {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.major != b.major {
			return a.major < b.major
		}
		if a.minor != b.minor {
			return a.minor < b.minor
		}
		return a.typ < b.typ
	})
	for _, k := range keys {
		writes = append(writes, Write{
			Controller: "devices",
			File:       exceptFile,
			Value:      k.String() + " " + s.exceptions[k].String(),
			Field:      strings.Join(s.sources[k], ", "),
		})
	}
	return writes, nil
}

package v1

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// The merging moved to the cgroups package (shared with v2); the kernel
// model below keeps its names.
type (
	devKey = cgroups.DeviceKey
	perms  = cgroups.DeviceAccess
)

const (
	wildcard = cgroups.DeviceWildcard
	permR    = cgroups.DeviceRead
	permW    = cgroups.DeviceWrite
	permM    = cgroups.DeviceMknod
)

var parsePerms = cgroups.ParseDeviceAccess

// defaultAllows are the writes runc's default list adds to a deny-all
// cgroup, sorted as they must come out (major, minor, type).
var defaultAllows = []string{
	"allow b *:* m", "allow c *:* m",
	"allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
	"allow c 5:0 rwm", "allow c 5:2 rwm", "allow c 10:200 rwm", "allow c 136:* rwm",
}

func devRuleSpec(allow bool, typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Major: major, Minor: minor, Access: access}
}

func short(ws []Write) []string {
	var out []string
	for _, w := range ws {
		if w.Controller != "devices" {
			out = append(out, "bad controller "+w.Controller)
		}
		out = append(out, strings.TrimPrefix(w.File, "devices.")+" "+w.Value)
	}
	return out
}

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestDeviceWrites(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	denyAll := devRuleSpec(false, "", nil, nil, "rwm")
	allowAll := devRuleSpec(true, "a", nil, nil, "rwm")
	tests := []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		extra []specs.LinuxDevice
		want  []string
	}{
		{"no rules: deny all, then runc's defaults", nil, nil,
			join([]string{"deny a *:* rwm"}, defaultAllows)},
		{"deny all then allows (docker's shape)", []specs.LinuxDeviceCgroup{
			denyAll,
			devRuleSpec(true, "c", n(10), n(229), "rw"),
			devRuleSpec(true, "b", n(8), n(0), "r"),
		}, nil,
			join([]string{"deny a *:* rwm", "allow b *:* m", "allow c *:* m",
				"allow c 1:3 rwm", "allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm",
				"allow c 5:0 rwm", "allow c 5:2 rwm", "allow b 8:0 r", "allow c 10:200 rwm", "allow c 10:229 rw", "allow c 136:* rwm"})},
		{"an allow-all rule: allow-all, nothing else", []specs.LinuxDeviceCgroup{allowAll}, nil,
			[]string{"allow a *:* rwm"}},
		{"an untyped allow is allow-all, whatever its access", []specs.LinuxDeviceCgroup{devRuleSpec(true, "", n(1), n(3), "r")}, nil,
			[]string{"allow a *:* rwm"}},
		{"a deny after allow-all is an exception", []specs.LinuxDeviceCgroup{allowAll, devRuleSpec(false, "c", n(5), n(1), "rw")}, nil,
			[]string{"allow a *:* rwm", "deny c 5:1 rw"}},
		{"a default device lifts a deny exception", []specs.LinuxDeviceCgroup{allowAll, devRuleSpec(false, "c", n(1), n(3), "rwm"), devRuleSpec(false, "b", n(8), nil, "w")}, nil,
			[]string{"allow a *:* rwm", "deny b 8:* w"}},
		{"deny-all after allow-all starts over", []specs.LinuxDeviceCgroup{allowAll, devRuleSpec(true, "c", n(4), n(4), "r"), denyAll}, nil,
			join([]string{"deny a *:* rwm"}, defaultAllows)},
		{"later rules override earlier", []specs.LinuxDeviceCgroup{
			denyAll,
			devRuleSpec(true, "c", n(4), n(1), "rwm"),
			devRuleSpec(false, "c", n(4), n(1), "wm"),
			devRuleSpec(true, "c", n(4), n(2), "r"),
			devRuleSpec(false, "c", n(4), n(2), "r"),
		}, nil,
			join([]string{"deny a *:* rwm"}, defaultAllows[:7], []string{"allow c 4:1 r"}, defaultAllows[7:])},
		{"the config cannot take a default away (runc appends them last)", []specs.LinuxDeviceCgroup{denyAll, devRuleSpec(false, "c", n(1), n(3), "rwm")}, nil,
			join([]string{"deny a *:* rwm"}, defaultAllows)},
		{"allows merge with defaults, access canonical", []specs.LinuxDeviceCgroup{devRuleSpec(true, "c", n(136), nil, "mw"), devRuleSpec(true, "c", n(7), n(0), "mr")}, nil,
			join([]string{"deny a *:* rwm"}, defaultAllows[:9], []string{"allow c 7:0 rm"}, defaultAllows[9:])},
		{"explicit -1 is the wildcard", []specs.LinuxDeviceCgroup{devRuleSpec(true, "b", n(-1), n(-1), "r")}, nil,
			join([]string{"deny a *:* rwm", "allow b *:* rm"}, defaultAllows[1:])},
		{"linux.devices get an allow rwm", nil, []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
			{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
			{Path: "/dev/ttyS0", Type: "u", Major: 4, Minor: 64},
			{Path: "/run/fifo", Type: "p"},
		},
			join([]string{"deny a *:* rwm"}, defaultAllows[:7], []string{"allow c 4:64 rwm"}, defaultAllows[7:9], []string{"allow b 8:0 rwm"}, defaultAllows[9:10], []string{"allow c 10:229 rwm"}, defaultAllows[10:])},
		{"a linux.devices path replaces runc's default for it", nil, []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 99}},
			join([]string{"deny a *:* rwm"}, defaultAllows[:2], []string{"allow c 1:5 rwm", "allow c 1:7 rwm", "allow c 1:8 rwm", "allow c 1:9 rwm", "allow c 1:99 rwm"}, defaultAllows[7:])},
		{"defaults without a path stay", nil, []specs.LinuxDevice{{Path: "/dev/ptmx", Type: "c", Major: 5, Minor: 99}, {Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 201}},
			join([]string{"deny a *:* rwm"}, defaultAllows[:9], []string{"allow c 5:99 rwm"}, defaultAllows[9:10], []string{"allow c 10:201 rwm"}, defaultAllows[10:])},
		{"linux.devices under allow-all", []specs.LinuxDeviceCgroup{allowAll}, []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			[]string{"allow a *:* rwm"}},
		{"linux.devices lift a deny exception", []specs.LinuxDeviceCgroup{allowAll, devRuleSpec(false, "c", n(10), n(229), "rw")}, []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
			[]string{"allow a *:* rwm"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := DeviceWrites(tc.rules, tc.extra)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := short(ws); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			for _, w := range ws {
				if w.Field == "" {
					t.Errorf("write %+v has no Field", w)
				}
			}
		})
	}
}

func TestDeviceWritesFields(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	ws, err := DeviceWrites([]specs.LinuxDeviceCgroup{
		devRuleSpec(false, "a", nil, nil, "rwm"),
		devRuleSpec(true, "c", n(1), n(3), "r"),
		devRuleSpec(true, "c", n(10), n(229), "rw"),
	}, []specs.LinuxDevice{{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a *:* rwm":   "linux.resources.devices[0]",
		"c 1:3 rwm":   "linux.resources.devices[1], default device /dev/null",
		"c 10:229 rw": "linux.resources.devices[2]",
		"b 8:0 rwm":   "linux.devices[0] (/dev/sda)",
		"c 5:2 rwm":   "default device /dev/ptmx",
	}
	for _, w := range ws {
		if f, ok := want[w.Value]; ok {
			if w.Field != f {
				t.Errorf("%s: field %q, want %q", w.Value, w.Field, f)
			}
			delete(want, w.Value)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing writes: %v", want)
	}
	ws, err = DeviceWrites(nil, nil)
	if err != nil || ws[0].Field != "linux.resources.devices (deny all by default)" {
		t.Errorf("reset field %q, err %v", ws[0].Field, err)
	}
}

func TestDeviceWritesErrors(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	ok := devRuleSpec(true, "c", n(1), n(1), "r")
	tests := []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		extra []specs.LinuxDevice
		field string
		hint  string
	}{
		{"bad type", []specs.LinuxDeviceCgroup{ok, devRuleSpec(true, "x", nil, nil, "rwm")}, nil, "linux.resources.devices[1].type", `"a" (all), "b" (block) or "c" (char)`},
		{"type p is not for cgroups", []specs.LinuxDeviceCgroup{devRuleSpec(true, "p", nil, nil, "rwm")}, nil, "linux.resources.devices[0].type", "not a device cgroup type"},
		{"type u is not for cgroups", []specs.LinuxDeviceCgroup{devRuleSpec(true, "u", n(1), n(1), "rwm")}, nil, "linux.resources.devices[0].type", "not a device cgroup type"},
		{"empty access", []specs.LinuxDeviceCgroup{ok, ok, devRuleSpec(true, "c", n(1), n(1), "")}, nil, "linux.resources.devices[2].access", "must not be empty"},
		{"empty access on an all rule", []specs.LinuxDeviceCgroup{devRuleSpec(false, "a", nil, nil, "")}, nil, "linux.resources.devices[0].access", "must not be empty"},
		{"bad access letter", []specs.LinuxDeviceCgroup{devRuleSpec(true, "c", n(1), n(1), "rwx")}, nil, "linux.resources.devices[0].access", "combination of r (read), w (write) and m (mknod)"},
		{"upper case access", []specs.LinuxDeviceCgroup{devRuleSpec(true, "b", n(1), n(1), "R")}, nil, "linux.resources.devices[0].access", "combination"},
		{"major below -1", []specs.LinuxDeviceCgroup{devRuleSpec(true, "c", n(-2), n(1), "r")}, nil, "linux.resources.devices[0].major", "device number"},
		{"minor too big", []specs.LinuxDeviceCgroup{devRuleSpec(true, "c", n(1), n(1<<32), "r")}, nil, "linux.resources.devices[0].minor", "device number"},
		{"deny inside a wildcard allow", []specs.LinuxDeviceCgroup{denyAll(), devRuleSpec(true, "c", nil, nil, "rw"), devRuleSpec(false, "c", n(4), n(1), "r")}, nil,
			"linux.resources.devices[2]", "cannot be carved out of the wildcard allow \"c *:* rw\" (linux.resources.devices[1])"},
		{"deny inside a major wildcard", []specs.LinuxDeviceCgroup{devRuleSpec(true, "b", n(8), nil, "r"), devRuleSpec(false, "b", n(8), n(1), "rw")}, nil,
			"linux.resources.devices[1]", "wildcard allow \"b 8:* r\""},
		{"deny inside a minor wildcard", []specs.LinuxDeviceCgroup{devRuleSpec(true, "c", nil, n(3), "rw"), devRuleSpec(false, "c", n(1), n(3), "w")}, nil,
			"linux.resources.devices[1]", "wildcard allow \"c *:3 rw\""},
		{"a wildcard deny exception blocks the defaults", []specs.LinuxDeviceCgroup{allowAllRule(), devRuleSpec(false, "c", nil, nil, "w")}, nil,
			"linux.resources.devices[1]", "wildcard deny \"c *:* w\""},
		{"a wildcard deny exception blocks linux.devices", []specs.LinuxDeviceCgroup{allowAllRule(), devRuleSpec(false, "b", nil, nil, "r")}, []specs.LinuxDevice{{Path: "/dev/sda", Type: "b", Major: 8}},
			"linux.resources.devices[1]", "linux.devices[0] (/dev/sda)"},
		{"linux.devices bad type", nil, []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1, Minor: 1}, {Path: "/dev/y", Type: "a", Major: 1, Minor: 1}}, "linux.devices[1].type", `"c" (or "u"), "b" or "p"`},
		{"linux.devices negative major would be a wildcard", nil, []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: -1, Minor: 1}}, "linux.devices[0]", "device numbers"},
		{"linux.devices negative minor", nil, []specs.LinuxDevice{{Path: "/dev/x", Type: "b", Major: 8, Minor: -1}}, "linux.devices[0]", "device numbers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := DeviceWrites(tc.rules, tc.extra)
			if err == nil {
				t.Fatalf("no error; writes %v", short(ws))
			}
			if ws != nil {
				t.Errorf("writes returned with the error: %v", short(ws))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tc.field+": ") && !strings.HasPrefix(msg, tc.field+" ") {
				t.Errorf("error %q does not start with %q", msg, tc.field)
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

func denyAll() specs.LinuxDeviceCgroup      { return devRuleSpec(false, "a", nil, nil, "rwm") }
func allowAllRule() specs.LinuxDeviceCgroup { return devRuleSpec(true, "a", nil, nil, "rwm") }

// kernelDevcg models the kernel's v1 devices cgroup (security/device_cgroup.c):
// a default behaviour and exceptions merged per exact type/major/minor.
type kernelDevcg struct {
	allowAll bool
	ex       map[devKey]perms
}

func (k *kernelDevcg) write(file, value string) error {
	var typ byte
	var maj, min, acc string
	if _, err := fmt.Sscanf(value, "%c %s", &typ, &maj); err != nil {
		return err
	}
	allow := file == "devices.allow"
	if typ == 'a' {
		*k = kernelDevcg{allowAll: allow, ex: map[devKey]perms{}}
		return nil
	}
	fields := strings.Fields(value)
	mm := strings.SplitN(fields[1], ":", 2)
	maj, min, acc = mm[0], mm[1], fields[2]
	num := func(s string) int64 {
		if s == "*" {
			return wildcard
		}
		var v int64
		fmt.Sscan(s, &v)
		return v
	}
	key := devKey{Type: typ, Major: num(maj), Minor: num(min)}
	p, _ := parsePerms(acc)
	if k.ex == nil {
		k.ex = map[devKey]perms{}
	}
	if allow != k.allowAll {
		k.ex[key] |= p
	} else if left := k.ex[key] &^ p; left == 0 {
		delete(k.ex, key)
	} else {
		k.ex[key] = left
	}
	return nil
}

func (k *kernelDevcg) permits(typ byte, major, minor int64, p perms) bool {
	matches := func(ek devKey) bool {
		return ek.Type == typ && (ek.Major == wildcard || ek.Major == major) && (ek.Minor == wildcard || ek.Minor == minor)
	}
	for ek, ep := range k.ex {
		if !matches(ek) {
			continue
		}
		if k.allowAll && ep&p != 0 {
			return false // any overlap with a deny exception refuses
		}
		if !k.allowAll && p&^ep == 0 {
			return true // one allow exception must cover all of it
		}
	}
	return k.allowAll
}

// The merged, sorted, reset-first list gives the kernel exactly the state
// that writing every rule one by one (after a deny-all) gives, whatever
// state the cgroup had before.
func TestDeviceWritesMatchRuleByRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	majors := []*int64{nil, resPtr[int64](1), resPtr[int64](5), resPtr[int64](136), resPtr[int64](8)}
	minors := []*int64{nil, resPtr[int64](3), resPtr[int64](0), resPtr[int64](2)}
	types := []string{"a", "b", "c", "c", "c"}
	accesses := []string{"r", "w", "m", "rw", "rm", "wm", "rwm"}
	starts := []func() *kernelDevcg{
		func() *kernelDevcg { return &kernelDevcg{allowAll: true} }, // a fresh cgroup under the root
		func() *kernelDevcg {
			return &kernelDevcg{ex: map[devKey]perms{{Type: 'c', Major: 1, Minor: 3}: permR, {Type: 'b', Major: wildcard, Minor: wildcard}: permR | permW | permM}}
		},
		func() *kernelDevcg {
			return &kernelDevcg{allowAll: true, ex: map[devKey]perms{{Type: 'c', Major: 1, Minor: 3}: permR}}
		},
	}
	checked := 0
	for iter := 0; iter < 3000; iter++ {
		var rules []specs.LinuxDeviceCgroup
		for range rng.IntN(6) {
			rules = append(rules, devRuleSpec(rng.IntN(2) == 0, types[rng.IntN(len(types))], majors[rng.IntN(len(majors))], minors[rng.IntN(len(minors))], accesses[rng.IntN(len(accesses))]))
		}
		var extra []specs.LinuxDevice
		if rng.IntN(3) == 0 {
			extra = append(extra, specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 2})
		}
		ws, err := DeviceWrites(rules, extra)
		if err != nil {
			continue // refused carve-outs are tested above
		}
		checked++

		// Rule by rule, as the spec orders them, with the writes formatted
		// independently of the code under test.
		ref := &kernelDevcg{}
		raw := []string{"devices.deny a *:* rwm"}
		star := func(p *int64) string {
			if p == nil || *p == -1 {
				return "*"
			}
			return fmt.Sprint(*p)
		}
		for _, r := range rules {
			file := "devices.deny"
			if r.Allow {
				file = "devices.allow"
			}
			if r.Type == "a" {
				raw = append(raw, file+" a *:* rwm")
				continue
			}
			raw = append(raw, fmt.Sprintf("%s %s %s:%s %s", file, r.Type, star(r.Major), star(r.Minor), r.Access))
		}
		for _, d := range cgroups.DefaultDevices {
			if d.Dedup == "/dev/null" && len(extra) > 0 {
				continue
			}
			raw = append(raw, fmt.Sprintf("devices.allow %c %s:%s %s", d.Type, star(&d.Major), star(&d.Minor), d.Access))
		}
		for _, d := range extra {
			raw = append(raw, fmt.Sprintf("devices.allow %s %d:%d rwm", d.Type, d.Major, d.Minor))
		}
		for _, line := range raw {
			file, value, _ := strings.Cut(line, " ")
			if err := ref.write(file, value); err != nil {
				t.Fatal(err)
			}
		}

		for si, start := range starts {
			k := start()
			for _, w := range ws {
				if err := k.write(w.File, w.Value); err != nil {
					t.Fatal(err)
				}
			}
			for _, typ := range []byte{'b', 'c'} {
				for _, major := range []int64{1, 5, 8, 10, 136, 200} {
					for _, minor := range []int64{0, 2, 3, 200} {
						for p := permR; p <= permR|permW|permM; p++ {
							if got, want := k.permits(typ, major, minor, p), ref.permits(typ, major, minor, p); got != want {
								t.Fatalf("rules %+v, start %d: %c %d:%d %s: writes give %v, rule by rule %v\nwrites %v\nraw %v",
									rules, si, typ, major, minor, p, got, want, short(ws), raw)
							}
						}
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d of 3000 random rule lists were accepted; the test checks too little", checked)
	}
}

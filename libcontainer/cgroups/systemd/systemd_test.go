package systemd

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	sd "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		in, id          string
		slice, unit, sp string
		err             string
	}{
		{"", "c1", "system.slice", "hull-c1.scope", "/system.slice", ""},
		{"system.slice:docker:abc", "x", "system.slice", "docker-abc.scope", "/system.slice", ""},
		{":crio:abc", "x", "system.slice", "crio-abc.scope", "/system.slice", ""},
		{"machine-app-web.slice:libpod:1", "x", "machine-app-web.slice", "libpod-1.scope", "/machine.slice/machine-app.slice/machine-app-web.slice", ""},
		{"-.slice:p:n", "x", "-.slice", "p-n.scope", "/", ""},
		{"::n", "x", "system.slice", "-n.scope", "/system.slice", ""}, // runc's rule, empty prefix kept
		{"/a/b", "x", "", "", "", `must be "slice:prefix:name"`},
		{"a:b", "x", "", "", "", `must be "slice:prefix:name"`},
		{"a:b:c:d", "x", "", "", "", `must be "slice:prefix:name"`},
		{"system:p:n", "x", "", "", "", "must end in .slice"},
		{"a--b.slice:p:n", "x", "", "", "", "empty component"},
		{"-a.slice:p:n", "x", "", "", "", "empty component"},
		{"a/b.slice:p:n", "x", "", "", "", `must not contain "/"`},
		{"system.slice:p:", "x", "", "", "", "the name (after the second colon) is empty"},
		{"system.slice:p:pod.slice", "x", "", "", "", "asks for a slice unit"},
		{"system.slice:p:a b", "x", "", "", "", "does not allow"},
		{"system.slice:p:" + strings.Repeat("x", 250), "x", "", "", "", "longer than"},
	} {
		pl, err := ParsePath(c.in, c.id)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "linux.cgroupsPath") {
				t.Errorf("ParsePath(%q): error %v, want one naming linux.cgroupsPath with %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePath(%q): %v", c.in, err)
			continue
		}
		if pl.Slice != c.slice || pl.Unit != c.unit || pl.SlicePath != c.sp {
			t.Errorf("ParsePath(%q) = %+v, want %s %s %s", c.in, *pl, c.slice, c.unit, c.sp)
		}
	}
}

func TestPlace(t *testing.T) {
	v2 := &cgroups.Host{Layout: cgroups.Unified, Hierarchies: []cgroups.Hierarchy{{Key: cgroups.UnifiedKey, Mount: "/sys/fs/cgroup", Root: "/"}}}
	rec, err := place(v2, "a-b.slice:p:c1", "x")
	if err != nil {
		t.Fatal(err)
	}
	want := "/sys/fs/cgroup/a.slice/a-b.slice/p-c1.scope"
	if rec.Paths[cgroups.UnifiedKey] != want || rec.Created[cgroups.UnifiedKey] != want || *rec.Systemd != (cgroups.SystemdUnit{Unit: "p-c1.scope", Slice: "a-b.slice"}) {
		t.Errorf("v2 record %+v %+v, want %s, only the scope created", rec, rec.Systemd, want)
	}
	hybrid := &cgroups.Host{Layout: cgroups.Hybrid, Hierarchies: []cgroups.Hierarchy{
		{Key: "memory", Mount: "/sys/fs/cgroup/memory", Root: "/"},
		{Key: "name=systemd", Mount: "/sys/fs/cgroup/systemd", Root: "/"},
		{Key: cgroups.UnifiedKey, Mount: "/sys/fs/cgroup/unified", Root: "/"},
	}}
	rec, err = place(hybrid, "", "c2")
	if err != nil {
		t.Fatal(err)
	}
	for k, m := range map[string]string{"memory": "memory", "name=systemd": "systemd", cgroups.UnifiedKey: "unified"} {
		if want := "/sys/fs/cgroup/" + m + "/system.slice/hull-c2.scope"; rec.Paths[k] != want || rec.Created[k] != want {
			t.Errorf("hybrid %s: %s (created %s), want %s", k, rec.Paths[k], rec.Created[k], want)
		}
	}
	// A hierarchy mounted from below the slice does not show the scope.
	inner := &cgroups.Host{Layout: cgroups.Unified, Hierarchies: []cgroups.Hierarchy{{Key: cgroups.UnifiedKey, Mount: "/sys/fs/cgroup", Root: "/machine.slice"}}}
	if _, err := place(inner, "", "c3"); err == nil || !strings.Contains(err.Error(), "not visible") {
		t.Errorf("scope outside the mounted subtree: %v", err)
	}
}

func TestCpusetBits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
		err  bool
	}{
		{"0", []byte{1}, false},
		{"0-3", []byte{0x0f}, false},
		{"1,3-5", []byte{0x3a}, false},
		{"8", []byte{0, 1}, false},
		{"0-1, 9", []byte{3, 2}, false},
		{"", nil, true},
		{"3-1", nil, true},
		{"x", nil, true},
	} {
		got, err := cpusetBits(c.in)
		if (err != nil) != c.err || !reflect.DeepEqual(got, c.want) {
			t.Errorf("cpusetBits(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestCPUQuota(t *testing.T) {
	for _, c := range []struct {
		quota  int64
		period uint64
		want   string
		q      int64
	}{
		{50000, 100000, "CPUQuotaPeriodUSec=100000 CPUQuotaPerSecUSec=500000", 50000},
		{50000, 0, "CPUQuotaPerSecUSec=500000", 50000},
		// 12.345% is kept by systemd as whole percents: rounded up, and
		// the file gets the same.
		{12345, 100000, "CPUQuotaPeriodUSec=100000 CPUQuotaPerSecUSec=130000", 13000},
		{-1, 0, fmt.Sprintf("CPUQuotaPerSecUSec=%d", infinity), -1},
		{0, 50000, "CPUQuotaPeriodUSec=50000", 0}, // period alone: the quota stays
	} {
		props, q := cpuQuota(c.quota, c.period, 252)
		if got := propString(props); got != c.want || q != c.q {
			t.Errorf("cpuQuota(%d, %d) = %q, %d; want %q, %d", c.quota, c.period, got, q, c.want, c.q)
		}
	}
	if props, _ := cpuQuota(50000, 100000, 239); propString(props) != "CPUQuotaPerSecUSec=500000" {
		t.Errorf("systemd 239 got %s, which it does not know", propString(props))
	}
}

func propString(props []sd.Property) string {
	var s []string
	for _, p := range props {
		s = append(s, p.Name+"="+fmt.Sprint(p.Value.Value()))
	}
	return strings.Join(s, " ")
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }
func u16(v uint16) *uint16 { return &v }

func TestResourcePropsUnified(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(32 << 20), Reservation: i64(16 << 20), Swap: i64(64 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(1024), Quota: i64(12345), Period: u64(100000), Cpus: "0-1", Mems: "0"},
		Pids:    &specs.LinuxPids{Limit: i64(20)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(500)},
		Unified: map[string]string{"memory.high": "max", "memory.min": "4096"},
	}
	props, fsr, err := resourceProps(cgroups.Unified, r, 252)
	if err != nil {
		t.Fatal(err)
	}
	want := "TasksMax=20 MemorySwapMax=33554432 MemoryMax=33554432 MemoryLow=16777216 IOWeight=4950 " +
		"CPUWeight=100 CPUQuotaPeriodUSec=100000 CPUQuotaPerSecUSec=130000 AllowedCPUs=[3] AllowedMemoryNodes=[1] " +
		fmt.Sprintf("MemoryHigh=%d MemoryMin=4096", infinity)
	if got := propString(props); got != want {
		t.Errorf("props\n got %s\nwant %s", got, want)
	}
	if *fsr.CPU.Quota != 13000 || *r.CPU.Quota != 12345 {
		t.Errorf("the cgroupfs quota is %d (config's now %d), want 13000 and the config untouched", *fsr.CPU.Quota, *r.CPU.Quota)
	}
	// The same validation as the cgroupfs manager's: errors name the field.
	_, _, err = resourceProps(cgroups.Unified, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-5)}}, 252)
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.limit") {
		t.Errorf("bad limit: %v", err)
	}
	// An old systemd is not sent what it does not know.
	props, _, _ = resourceProps(cgroups.Unified, &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, 243)
	if len(props) != 0 {
		t.Errorf("systemd 243 got %s", propString(props))
	}
	// A unified cpu.max is rounded in the unified map.
	_, fsr, _ = resourceProps(cgroups.Unified, &specs.LinuxResources{Unified: map[string]string{"cpu.max": "12345 100000"}}, 252)
	if fsr.Unified["cpu.max"] != "13000 100000" {
		t.Errorf("unified cpu.max for the file: %q", fsr.Unified["cpu.max"])
	}
}

func TestResourcePropsLegacy(t *testing.T) {
	r := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(32 << 20)},
		CPU:     &specs.LinuxCPU{Shares: u64(512), Quota: i64(-1)},
		Pids:    &specs.LinuxPids{Limit: i64(0)},
		BlockIO: &specs.LinuxBlockIO{Weight: u16(300)},
	}
	props, _, err := resourceProps(cgroups.Legacy, r, 252)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("MemoryLimit=33554432 CPUShares=512 TasksMax=1 BlockIOWeight=300 CPUQuotaPerSecUSec=%d", infinity)
	if got := propString(props); got != want {
		t.Errorf("props\n got %s\nwant %s", got, want)
	}
	if _, _, err := resourceProps(cgroups.Hybrid, &specs.LinuxResources{Unified: map[string]string{"a.b": "1"}}, 252); err == nil {
		t.Error("unified keys on v1 must be refused")
	}
}

func TestDeviceProps(t *testing.T) {
	def, err := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	props, warn := deviceProps(def, true, 252)
	got := propString(props)
	for _, w := range []string{"DeviceAllow=[] DevicePolicy=strict DeviceAllow=[", "{char-* m}", "{block-* m}", "{/dev/char/1:3 rwm}", "{char-136 rwm}", "{/dev/char/10:200 rwm}"} {
		if !strings.Contains(got, w) {
			t.Errorf("default rules: %s lacks %s", got, w)
		}
	}
	if warn != "" {
		t.Errorf("default rules warned: %s", warn)
	}
	allowAll, _ := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}, nil)
	if props, warn := deviceProps(allowAll, true, 252); propString(props) != "DeviceAllow=[] DevicePolicy=auto" || warn != "" {
		t.Errorf("allow all: %s (%s)", propString(props), warn)
	}
	deny, _ := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}, {Allow: false, Type: "c", Major: i64(4), Minor: i64(1), Access: "rwm"}}, nil)
	if props, warn := deviceProps(deny, true, 252); propString(props) != "DeviceAllow=[] DevicePolicy=auto" || warn == "" {
		t.Errorf("a deny rule on v2 must leave systemd at auto, with a warning: %s (%q)", propString(props), warn)
	}
	if props, warn := deviceProps(deny, false, 252); propString(props) != "DeviceAllow=[] DevicePolicy=strict" || warn == "" {
		t.Errorf("a deny rule on v1 must make systemd strict, with a warning: %s (%q)", propString(props), warn)
	}
	minorOnly, _ := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "c", Minor: i64(3), Access: "r"}}, nil)
	if props, warn := deviceProps(minorOnly, false, 252); strings.Contains(propString(props), "*:3") || !strings.Contains(warn, "c *:3") {
		t.Errorf("*:3 on v1: %s (%q)", propString(props), warn)
	}
	if props, warn := deviceProps(def, true, 239); props != nil || warn == "" {
		t.Errorf("systemd 239: %s (%q)", propString(props), warn)
	}
}

func TestAnnotationProps(t *testing.T) {
	props, err := annotationProps(map[string]string{
		"org.systemd.property.TimeoutStopUSec": "uint64 123456789",
		"org.systemd.property.TimeoutStopSec":  "456",
		"org.systemd.property.CollectMode":     "'inactive-or-failed'",
		"org.other":                            "x",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := propString(props), "CollectMode=inactive-or-failed TimeoutStopUSec=456000000 TimeoutStopUSec=123456789"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	for k, v := range map[string]string{
		"org.systemd.property.Ab":          "1",
		"org.systemd.property.Time_out":    "1",
		"org.systemd.property.Description": "unquoted text",
		"org.systemd.property.TimeoutSec":  "'text'",
		"org.systemd.property.Slice":       "'x.slice'",
	} {
		if _, err := annotationProps(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v, want one naming the annotation", k, v, err)
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{`"252.36-1~deb12u1"`: 252, `"v245.4-1.fc32"`: 245, "239": 239} {
		if got, err := parseVersion(in); err != nil || got != want {
			t.Errorf("parseVersion(%s) = %d, %v", in, got, err)
		}
	}
	if _, err := parseVersion(`"abc"`); err == nil {
		t.Error("no number must be an error")
	}
}

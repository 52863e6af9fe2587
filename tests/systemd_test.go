package tests

// The systemd cgroup driver (--systemd-cgroup, issue 14). On a host
// without systemd (this development machine) create must fail in one line
// and leave nothing; the rest needs systemd as PID 1 and runs in the
// systemd test VM (make test-systemd-vm, tests/vm/systemd.sh), on cgroup v2
// and on the legacy hierarchy. Each test checks the three places a limit
// lives: the unit's property (systemctl show), the cgroup file, and the
// kernel's enforcement.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// systemdRunning is sd_booted(3): /run/systemd/system is a directory.
func systemdRunning() bool {
	st, err := os.Lstat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// requireSystemd skips unless systemd is PID 1 here.
func requireSystemd(t *testing.T) {
	t.Helper()
	requireSuite(t)
	comm, _ := os.ReadFile("/proc/1/comm")
	if !systemdRunning() || strings.TrimSpace(string(comm)) != "systemd" {
		t.Skip("systemd is not PID 1 here: the systemd driver's tests run in the systemd VM (make test-systemd-vm)")
	}
}

// scope is a container's systemd scope: the unit and its slice's cgroup.
type scope struct {
	unit, slicePath string
}

// dir is the scope's directory in the hierarchy of controller ctrl (v1),
// or its one directory (v2).
func (s scope) dir(ctrl string) string {
	if unifiedHost() {
		return filepath.Join("/sys/fs/cgroup", s.slicePath, s.unit)
	}
	return filepath.Join("/sys/fs/cgroup", ctrl, s.slicePath, s.unit)
}

// file reads the control file of ctrl named v2 or v1 by layout.
func (s scope) file(t *testing.T, ctrl, v2, v1 string) string {
	t.Helper()
	if unifiedHost() {
		return cgroupValue(t, s.dir(ctrl), v2)
	}
	return cgroupValue(t, s.dir(ctrl), v1)
}

// props reads unit properties with systemctl show.
func (s scope) props(t *testing.T, names ...string) map[string]string {
	t.Helper()
	args := []string{"show", s.unit}
	for _, n := range names {
		args = append(args, "-p", n)
	}
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	// A list property (DeviceAllow) comes as one line per entry: joined
	// with "; ".
	m := map[string]string{}
	for _, l := range lines(string(out)) {
		if k, v, ok := strings.Cut(l, "="); ok {
			if m[k] != "" {
				v = m[k] + "; " + v
			}
			m[k] = v
		}
	}
	return m
}

// wantProps fails for each property whose value differs.
func (s scope) wantProps(t *testing.T, want map[string]string) {
	t.Helper()
	var names []string
	for k := range want {
		names = append(names, k)
	}
	got := s.props(t, names...)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q", s.unit, k, got[k], v)
		}
	}
}

// dirs are the scope's directories in every mounted hierarchy.
func (s scope) dirs() []string {
	if unifiedHost() {
		return []string{s.dir("")}
	}
	var out []string
	for _, h := range cgroupHierarchies() {
		out = append(out, filepath.Join(h, s.slicePath, s.unit))
	}
	return out
}

// wantGone fails unless systemd has forgotten the unit (not even a failed
// one is left) and no directory of the scope is left in any hierarchy.
// systemd drops a stopped unit asynchronously: bounded wait.
func (s scope) wantGone(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p := s.props(t, "LoadState", "ActiveState")
		if p["LoadState"] == "not-found" {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s is still known to systemd after delete: LoadState=%s ActiveState=%s", s.unit, p["LoadState"], p["ActiveState"])
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, d := range s.dirs() {
		if !gone(d) {
			t.Errorf("cgroup %s is left after delete", d)
		}
	}
}

// sdBundle is a bundle whose container goes into the scope prefix-id.scope
// in slice with --systemd-cgroup; its id is the test's.
func sdBundle(t *testing.T, slice string, args ...string) (*bundle, scope) {
	t.Helper()
	b := newBundle(t, args...)
	b.spec.Linux.CgroupsPath = slice + ":hulltest:" + b.id
	return b, scope{unit: "hulltest-" + b.id + ".scope", slicePath: slicePath(slice)}
}

// slicePath is a slice's cgroup, as systemd nests slices by their dashes:
// a-b.slice is /a.slice/a-b.slice.
func slicePath(slice string) string {
	sp := ""
	parts := strings.Split(strings.TrimSuffix(slice, ".slice"), "-")
	for i := range parts {
		sp += "/" + strings.Join(parts[:i+1], "-") + ".slice"
	}
	return sp
}

// sdCreate creates the bundle's container with --systemd-cgroup.
func (b *bundle) sdCreate() {
	b.t.Helper()
	b.write()
	mustRun(b.t, "--systemd-cgroup", "create", "--bundle", b.dir, b.id)
}

// sdStart creates and starts it, and waits until it runs.
func (b *bundle) sdStart() containerState {
	b.t.Helper()
	b.sdCreate()
	mustRun(b.t, "start", b.id)
	return waitStatus(b.t, b.id, "running")
}

// sdCreatePiped is createPiped with --systemd-cgroup.
func (b *bundle) sdCreatePiped() *os.File {
	b.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { r.Close() })
	defer w.Close()
	b.write()
	if _, stderr, code := runWith(b.t, runOpts{stdout: w}, "--systemd-cgroup", "create", "--bundle", b.dir, b.id); code != 0 {
		b.t.Fatalf("create: exit status %d: %s", code, stderr)
	}
	return r
}

// stopSlices stops slices a test named (deepest first), at its end:
// systemd keeps a slice once started, as with runc; the slice is the
// test's, not the runtime's. On v1 the slice's directories in the
// hierarchies systemd does not manage (freezer, cpuset, ...) are the
// runtime's: like runc, hull leaves one that a sibling container still
// used when the container that made it was deleted; they go too.
func stopSlices(t *testing.T, slices ...string) {
	t.Cleanup(func() {
		if out, err := exec.Command("systemctl", append([]string{"stop"}, slices...)...).CombinedOutput(); err != nil {
			t.Errorf("systemctl stop %s: %v: %s", strings.Join(slices, " "), err, out)
		}
		if unifiedHost() {
			return
		}
		for _, sl := range slices {
			for _, h := range cgroupHierarchies() {
				if err := os.Remove(filepath.Join(h, slicePath(sl))); err != nil && !os.IsNotExist(err) {
					t.Errorf("remove the slice's leftover cgroup: %v", err)
				}
			}
		}
	})
}

// Without systemd, --systemd-cgroup fails at create in one line that says
// why, and leaves nothing behind.
func TestSystemdNotRunning(t *testing.T) {
	requireSuite(t)
	hullOnly(t)
	if systemdRunning() {
		t.Skip("systemd runs here; this is the check for hosts without it")
	}
	for _, path := range []string{"system.slice:hulltest:x", ""} {
		b := newBundle(t, "true")
		b.spec.Linux.CgroupsPath = path
		b.write()
		for _, verb := range []string{"create", "run"} {
			_, stderr, code := run(t, "--systemd-cgroup", verb, "--bundle", b.dir, b.id)
			if code != 1 || len(lines(stderr)) != 1 || !strings.Contains(stderr, "systemd is not running (no /run/systemd/system)") {
				t.Errorf("%s with --systemd-cgroup, cgroupsPath %q, no systemd: exit status %d, stderr %q; want 1 and one line saying systemd is not running (no /run/systemd/system)", verb, path, code, stderr)
			}
			if _, _, ok := queryState(t, b.id); ok {
				t.Errorf("%s failed but left the container %s", verb, b.id)
			}
			b.assertNothingLeft()
		}
	}
}

// The scope: a transient unit in the slice with Delegate=yes, the init in
// it, every limit systemd has a property for in the property and the
// file, the device policy given to systemd and the container still able
// to use its devices, exec and stats through the scope; delete leaves no
// unit and no cgroup.
func TestSystemdScope(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sleep", "3600")
	r := b.spec.Linux.Resources
	r.Memory = &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Swap: ptr[int64](64 << 20)}
	r.CPU = &specs.LinuxCPU{Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000), Cpus: "0"}
	r.Pids = &specs.LinuxPids{Limit: ptr[int64](64)}
	st := b.sdStart()

	s.wantProps(t, map[string]string{
		"ActiveState":        "active",
		"Slice":              "system.slice",
		"Delegate":           "yes",
		"ControlGroup":       s.slicePath + "/" + s.unit,
		"TasksMax":           "64",
		"CPUQuotaPerSecUSec": "500ms",
		"CPUQuotaPeriodUSec": "100ms",
		"AllowedCPUs":        "0",
		"DevicePolicy":       "strict",
		"MemoryAccounting":   "yes",
		"TasksAccounting":    "yes",
	})
	if unifiedHost() {
		s.wantProps(t, map[string]string{"MemoryMax": "67108864", "MemorySwapMax": "0"})
		if w, p := s.file(t, "cpu", "cpu.weight", ""), s.props(t, "CPUWeight")["CPUWeight"]; w != p {
			t.Errorf("cpu.weight %s, unit CPUWeight %s: want the same", w, p)
		}
	} else {
		s.wantProps(t, map[string]string{"MemoryLimit": "67108864", "CPUShares": "512"})
		if got := s.file(t, "cpu", "", "cpu.shares"); got != "512" {
			t.Errorf("cpu.shares = %s, want 512", got)
		}
	}
	allow := s.props(t, "DeviceAllow")["DeviceAllow"]
	for _, d := range []string{"/dev/char/1:3 rwm", "char-136 rwm", "char-* m"} {
		if !strings.Contains(allow, d) {
			t.Errorf("DeviceAllow=%s lacks %q", allow, d)
		}
	}
	for _, c := range []struct{ ctrl, v2, v1, want string }{
		{"memory", "memory.max", "memory.limit_in_bytes", "67108864"},
		{"pids", "pids.max", "pids.max", "64"},
		{"cpu", "cpu.max", "cpu.cfs_quota_us", map[bool]string{true: "50000 100000", false: "50000"}[unifiedHost()]},
		{"cpuset", "cpuset.cpus", "cpuset.cpus", "0"},
	} {
		if got := s.file(t, c.ctrl, c.v2, c.v1); got != c.want {
			t.Errorf("%s = %q, want %q", map[bool]string{true: c.v2, false: c.v1}[unifiedHost()], got, c.want)
		}
	}
	pids := cgroupPids(t, s.dir("pids"))
	if len(pids) != 1 || pids[0] != st.Pid {
		t.Errorf("%s/cgroup.procs = %v, want the init %d", s.dir("pids"), pids, st.Pid)
	}
	own, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.Pid))
	if !strings.Contains(string(own), s.slicePath+"/"+s.unit) {
		t.Errorf("/proc/%d/cgroup:\n%s\nwant the scope %s", st.Pid, own, s.slicePath+"/"+s.unit)
	}
	// exec lands in the scope; the container can still use the devices
	// systemd's device policy must allow too.
	out := mustRun(t, "exec", b.id, "sh", "-c", "cat /proc/self/cgroup; echo x >/dev/null && head -c 4 /dev/urandom | wc -c")
	if !strings.Contains(out, s.slicePath+"/"+s.unit) || !strings.HasSuffix(strings.TrimSpace(out), "4") {
		t.Errorf("exec: %q, want the scope in /proc/self/cgroup and 4 bytes from /dev/urandom", out)
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
		} `json:"data"`
	}
	stats := mustRun(t, "events", "--stats", b.id)
	if err := json.Unmarshal([]byte(stats), &ev); err != nil || ev.Type != "stats" || ev.Data.Pids.Current != 1 {
		t.Errorf("events --stats: %v: %s (want stats with pids.current 1)", err, stats)
	}

	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// The default cgroupsPath: runc's rule with hull's name.
func TestSystemdDefaultPath(t *testing.T) {
	requireSystemd(t)
	hullOnly(t)
	b := newBundle(t, "sleep", "3600")
	b.spec.Linux.CgroupsPath = ""
	s := scope{unit: "hull-" + b.id + ".scope", slicePath: "/system.slice"}
	b.sdStart()
	s.wantProps(t, map[string]string{"ActiveState": "active", "Slice": "system.slice", "Delegate": "yes"})
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// memory.max (v1: limit_in_bytes) from MemoryMax OOM-kills what grows past
// it, in the scope.
func TestSystemdMemoryOOM(t *testing.T) {
	requireSystemd(t)
	const hog = `awk 'BEGIN { s = "x"; while (length(s) < 100000000) s = s s }'`
	b, s := sdBundle(t, "system.slice", "sh", "-c", hog+`; echo "hog exit $?"; exec sleep 3600`)
	b.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](32 << 20), Swap: ptr[int64](32 << 20)}
	out := b.sdCreatePiped()
	mustRun(t, "start", b.id)
	if got := nextLine(t, out); got != "hog exit 137" {
		t.Errorf("a process growing past 32 MiB: %q, want it SIGKILLed (hog exit 137)", got)
	}
	file := "memory.events"
	if !unifiedHost() {
		file = "memory.oom_control"
	}
	if n := cgroupKeyValue(t, s.dir("memory"), file, "oom_kill"); n < 1 {
		t.Errorf("%s oom_kill = %d, want the OOM killer to have acted in the scope", file, n)
	}
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// TasksMax stops forks: the init plus limit-1 sleeps fill the scope.
func TestSystemdTasksMax(t *testing.T) {
	requireSystemd(t)
	const limit = 10
	b, s := sdBundle(t, "system.slice", "sh", "-c",
		`i=0; while [ $i -lt 20 ]; do sleep 100 & i=$((i+1)); echo "started $i"; done; echo "all started"`)
	b.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](limit)}
	b.write()
	stdout, stderr, code := run(t, "--systemd-cgroup", "run", "--bundle", b.dir, b.id)
	started := 0
	for _, l := range lines(stdout) {
		if strings.HasPrefix(l, "started ") {
			started++
		}
	}
	if started != limit-1 || code == 0 || !strings.Contains(stderr, "can't fork") {
		t.Errorf("20 forks under TasksMax=10: %d started (want %d), exit status %d, stderr %q (want ash's \"can't fork\")", started, limit-1, code, stderr)
	}
	// run deleted the container: nothing of the scope is left.
	s.wantGone(t)
}

// pause and resume freeze and thaw the scope.
func TestSystemdPauseResume(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sleep", "3600")
	b.sdStart()
	mustRun(t, "pause", b.id)
	waitStatus(t, b.id, "paused")
	if unifiedHost() {
		if got := cgroupValue(t, s.dir(""), "cgroup.freeze"); got != "1" {
			t.Errorf("cgroup.freeze = %s after pause", got)
		}
	} else if got := cgroupValue(t, s.dir("freezer"), "freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state = %s after pause", got)
	}
	mustRun(t, "resume", b.id)
	waitStatus(t, b.id, "running")
	// A paused container is deleted too.
	mustRun(t, "pause", b.id)
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// kill --all reaches every process of the scope.
func TestSystemdKillAll(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sh", "-c", `sleep 1000 & sleep 1000 & echo ready; wait`)
	out := b.sdCreatePiped()
	mustRun(t, "start", b.id)
	waitLine(t, out, "ready")
	if pids := cgroupPids(t, s.dir("pids")); len(pids) != 3 {
		t.Errorf("%d processes in the scope, want 3 (sh and two sleeps): %v", len(pids), pids)
	}
	mustRun(t, "kill", "--all", b.id, "KILL")
	waitStatus(t, b.id, "stopped")
	waitUntil(t, "the scope to empty", func() bool { return len(cgroupPids(t, s.dir("pids"))) == 0 })
	mustRun(t, "delete", b.id)
	s.wantGone(t)
}

// A container whose scope systemd already removed (every process killed
// from outside) is reported stopped and deletes cleanly.
func TestSystemdScopeGone(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sleep", "3600")
	b.sdStart()
	if out, err := exec.Command("systemctl", "kill", "--signal=KILL", s.unit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl kill: %v: %s", err, out)
	}
	waitStatus(t, b.id, "stopped")
	mustRun(t, "delete", b.id)
	s.wantGone(t)
}

// Two containers in one slice of their own: both scopes in it, the first
// one's limits unchanged by the second's start (systemd re-realizes the
// slice's children when it adds one).
func TestSystemdTwoInOneSlice(t *testing.T) {
	requireSystemd(t)
	stopSlices(t, "hulltest.slice")
	b1, s1 := sdBundle(t, "hulltest.slice", "sleep", "3600")
	b1.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](32 << 20)}
	b1.sdStart()
	b2, s2 := sdBundle(t, "hulltest.slice", "sleep", "3600")
	b2.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](48 << 20)}
	b2.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](30)}
	b2.sdStart()
	for _, c := range []struct {
		s    scope
		want string
	}{{s1, "33554432"}, {s2, "50331648"}} {
		if filepath.Base(filepath.Dir(c.s.dir("memory"))) != "hulltest.slice" {
			t.Errorf("%s is not in hulltest.slice", c.s.dir("memory"))
		}
		if got := c.s.file(t, "memory", "memory.max", "memory.limit_in_bytes"); got != c.want {
			t.Errorf("%s: memory limit %s, want %s", c.s.unit, got, c.want)
		}
		c.s.wantProps(t, map[string]string{"Slice": "hulltest.slice", "ActiveState": "active"})
	}
	mustRun(t, "delete", "--force", b1.id)
	s1.wantGone(t)
	if got := s2.file(t, "memory", "memory.max", "memory.limit_in_bytes"); got != "50331648" {
		t.Errorf("the second container's memory limit after the first's delete: %s", got)
	}
	mustRun(t, "delete", "--force", b2.id)
	s2.wantGone(t)
}

// A nested slice: a-b.slice is a.slice/a-b.slice.
func TestSystemdNestedSlice(t *testing.T) {
	requireSystemd(t)
	stopSlices(t, "hulltest-nested.slice", "hulltest.slice")
	b, s := sdBundle(t, "hulltest-nested.slice", "sleep", "3600")
	b.sdStart()
	if want := "/hulltest.slice/hulltest-nested.slice"; s.slicePath != want {
		t.Fatalf("test's slice path %s, want %s", s.slicePath, want)
	}
	s.wantProps(t, map[string]string{"Slice": "hulltest-nested.slice", "ControlGroup": s.slicePath + "/" + s.unit})
	if gone(s.dir("pids")) {
		t.Errorf("no cgroup %s", s.dir("pids"))
	}
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// A cgroupsPath that is not "slice:prefix:name", and bad annotations, fail
// create in one line naming the field, and leave nothing: no state, no
// unit.
func TestSystemdBadConfig(t *testing.T) {
	requireSystemd(t)
	hullOnly(t)
	for _, c := range []struct {
		path, annotation, value, want string
	}{
		{"/hull/abs", "", "", `linux.cgroupsPath "/hull/abs": with --systemd-cgroup it must be "slice:prefix:name"`},
		{"hulltest:p:n", "", "", "must end in .slice"},
		{"a--b.slice:p:n", "", "", "empty component"},
		{"system.slice:p:", "", "", "the name (after the second colon) is empty"},
		{"system.slice:hulltest:bad", "org.systemd.property.Ab", "1", `annotations["org.systemd.property.Ab"]`},
		{"system.slice:hulltest:bad", "org.systemd.property.Slice", "'x.slice'", "hull sets Slice itself"},
		{"system.slice:hulltest:bad", "org.systemd.property.TimeoutStopSec", "'soon'", "must be a number"},
	} {
		b := newBundle(t, "true")
		b.spec.Linux.CgroupsPath = c.path
		if c.annotation != "" {
			b.spec.Annotations = map[string]string{c.annotation: c.value}
		}
		b.write()
		_, stderr, code := run(t, "--systemd-cgroup", "create", "--bundle", b.dir, b.id)
		if code != 1 || len(lines(stderr)) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("cgroupsPath %q %s: exit status %d, stderr %q; want one line with %q", c.path, c.annotation, code, stderr, c.want)
		}
		if _, _, ok := queryState(t, b.id); ok {
			t.Errorf("cgroupsPath %q: the failed create left the container", c.path)
		}
		scope{unit: "hulltest-bad.scope", slicePath: "/system.slice"}.wantGone(t)
		b.assertNothingLeft()
	}
}

// org.systemd.property.* annotations become unit properties (runc's rules:
// GVariant values, "Sec" names converted to "USec").
func TestSystemdAnnotations(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sleep", "3600")
	b.spec.Annotations = map[string]string{
		"org.systemd.property.CollectMode":    "'inactive-or-failed'",
		"org.systemd.property.TimeoutStopSec": "uint64 7",
	}
	b.sdStart()
	s.wantProps(t, map[string]string{"CollectMode": "inactive-or-failed", "TimeoutStopUSec": "7s"})
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// update changes the unit's properties and the files alike.
func TestSystemdUpdate(t *testing.T) {
	requireSystemd(t)
	b, s := sdBundle(t, "system.slice", "sleep", "3600")
	b.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](64 << 20)}
	b.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](20)}
	b.sdStart()
	mustRun(t, "update", "--memory", "48m", "--pids-limit", "10", "--cpu-quota", "20000", "--cpu-period", "100000", b.id)
	want := map[string]string{"TasksMax": "10", "CPUQuotaPerSecUSec": "200ms"}
	if unifiedHost() {
		want["MemoryMax"] = "50331648"
	} else {
		want["MemoryLimit"] = "50331648"
	}
	s.wantProps(t, want)
	for _, c := range []struct{ ctrl, v2, v1, want string }{
		{"memory", "memory.max", "memory.limit_in_bytes", "50331648"},
		{"pids", "pids.max", "pids.max", "10"},
		{"cpu", "cpu.max", "cpu.cfs_quota_us", map[bool]string{true: "20000 100000", false: "20000"}[unifiedHost()]},
	} {
		if got := s.file(t, c.ctrl, c.v2, c.v1); got != c.want {
			t.Errorf("after update: %s/%s = %q, want %q", c.ctrl, c.v2, got, c.want)
		}
	}
	mustRun(t, "delete", "--force", b.id)
	s.wantGone(t)
}

// podman, driving hull through conmon with its systemd cgroup manager, runs
// a local busybox image: the container is in the scope hull made from
// podman's "machine.slice:libpod:ID", and nothing of it is left after --rm.
// podman's store is the test's own (vfs, no network).
func TestSystemdPodman(t *testing.T) {
	requireSystemd(t)
	hullOnly(t)
	if _, err := exec.LookPath("podman"); err != nil {
		t.Skip("podman is not installed here")
	}
	dir := tempDir(t)
	image := filepath.Join(dir, "busybox.tar")
	if out, err := exec.Command("tar", "-C", rootfsDir, "-cf", image, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar of the busybox rootfs: %v: %s", err, out)
	}
	// podman refuses a runroot longer than 50 characters.
	runroot, err := os.MkdirTemp("", "hp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeUnlessMounted(runroot) })
	base := []string{"--root", filepath.Join(dir, "storage"), "--runroot", runroot,
		"--storage-driver", "vfs", "--cgroup-manager", "systemd", "--events-backend", "file",
		"--runtime", runtimeBin}
	podman := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*runtimeTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "podman", append(append([]string{}, base...), args...)...)
		cmd.Env = append(os.Environ(), "TMPDIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		cmd := exec.Command("podman", append(append([]string{}, base...), "system", "reset", "--force")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("podman system reset: %v: %s", err, out)
		}
	})
	// podman's containers go into machine.slice; a test that started it
	// stops it (never one the host had running).
	if out, _ := exec.Command("systemctl", "is-active", "machine.slice").Output(); strings.TrimSpace(string(out)) != "active" {
		stopSlices(t, "machine.slice")
	}
	podman("import", image, "localhost/hull-busybox")
	cidFile := filepath.Join(dir, "cid")
	out := podman("run", "--rm", "--network", "none", "--cgroupns", "host", "--cidfile", cidFile,
		"localhost/hull-busybox", "sh", "-c", "cat /proc/self/cgroup; echo hello from podman")
	cid, err := os.ReadFile(cidFile)
	if err != nil {
		t.Fatal(err)
	}
	s := scope{unit: "libpod-" + strings.TrimSpace(string(cid)) + ".scope", slicePath: "/machine.slice"}
	if !strings.Contains(out, "hello from podman") || !strings.Contains(out, s.slicePath+"/"+s.unit) {
		t.Errorf("podman run: %q, want the greeting and the scope %s in /proc/self/cgroup", out, s.slicePath+"/"+s.unit)
	}
	s.wantGone(t)
}

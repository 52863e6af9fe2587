package tests

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroups (issue 5, design §5), on whatever layout the host has: every
// linux.resources value lands in its file — the v1 controller's on a v1 or
// hybrid host, the cgroup2 one on a unified host — AND the kernel enforces
// it; the container is tracked in every hierarchy (on a hybrid host the
// cgroup2 one included); pause, resume and kill --all act on the cgroup;
// delete removes what the runtime created. The tests share one body across
// layouts where only the file names differ; this hybrid host runs the v1
// branches, `make test-vm` (a pure cgroup v2 VM) the v2 ones.
//
// The bundles' cgroupsPath is absolute (cgroupParent/<id>), so the
// container's directory in the hierarchy mounted at M is M/<cgroupsPath>,
// for hull and runc alike. Nothing here touches a cgroup outside this
// run's cgroupParent (design §1).

const cgroupMountRoot = "/sys/fs/cgroup"

// controllerMount finds the hierarchy that holds controller ctrl as the
// runtime must use it: on a unified host the cgroup2 one, if the root's
// cgroup.controllers lists ctrl; on a v1 or hybrid host the v1 hierarchy
// of ctrl (a hybrid host's cgroup2 tree may list a controller, hugetlb
// here, but runtimes use only the v1 hierarchies there).
func controllerMount(ctrl string) (cgroupMount, bool) {
	for _, m := range cgroupMounts() {
		if m.v2() {
			if !unifiedHost() {
				continue
			}
			data, err := os.ReadFile(filepath.Join(m.dir, "cgroup.controllers"))
			if err == nil && slices.Contains(strings.Fields(string(data)), ctrl) {
				return m, true
			}
			continue
		}
		if slices.Contains(strings.Split(m.key, ","), ctrl) {
			return m, true
		}
	}
	return cgroupMount{}, false
}

// requireController skips unless the host has controller ctrl (see
// controllerMount).
func requireController(t *testing.T, ctrl string) {
	t.Helper()
	requireSuite(t)
	if _, ok := controllerMount(ctrl); !ok {
		if unifiedHost() {
			t.Skipf("no %s controller in %s/cgroup.controllers on this cgroup v2 host", ctrl, cgroupMountRoot)
		}
		t.Skipf("no cgroup v1 hierarchy holds the %s controller on this host", ctrl)
	}
}

// controllerDir is the container's directory in the hierarchy holding
// controller ctrl (the one cgroup2 directory on a unified host).
func (b *bundle) controllerDir(ctrl string) string {
	b.t.Helper()
	m, ok := controllerMount(ctrl)
	if !ok {
		b.t.Fatalf("no hierarchy holds the %s controller", ctrl)
	}
	return b.cgroupIn(m.dir)
}

// cgroupIn is the container's directory in the hierarchy mounted at mount.
func (b *bundle) cgroupIn(mount string) string {
	b.t.Helper()
	p := b.spec.Linux.CgroupsPath
	if !filepath.IsAbs(p) {
		b.t.Fatalf("cgroupIn: cgroupsPath %q is not absolute", p)
	}
	return filepath.Join(mount, p)
}

// cgroupDirs is the container's directory in every hierarchy.
func (b *bundle) cgroupDirs() []string {
	b.t.Helper()
	var out []string
	for _, h := range cgroupHierarchies() {
		out = append(out, b.cgroupIn(h))
	}
	return out
}

// trackingDir is the container's directory in a hierarchy that holds all of
// its processes whatever its resources: the pids controller's, else the
// cgroup2 one (a hybrid host without a v1 pids hierarchy).
func (b *bundle) trackingDir() string {
	b.t.Helper()
	if _, ok := controllerMount("pids"); ok {
		return b.controllerDir("pids")
	}
	for _, m := range cgroupMounts() {
		if m.v2() {
			return b.cgroupIn(m.dir)
		}
	}
	b.t.Fatal("no pids hierarchy and no cgroup2 one to find the container's processes in")
	return ""
}

// cgroupValue reads one control file, trimmed.
func cgroupValue(t *testing.T, dir, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// cgroupKeyValue reads "key N" from a flat-keyed control file
// (memory.oom_control, cpu.stat, pids.events).
func cgroupKeyValue(t *testing.T, dir, file, key string) int64 {
	t.Helper()
	for _, l := range strings.Split(cgroupValue(t, dir, file), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == key {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatalf("%s/%s: %q: %v", dir, file, l, err)
			}
			return n
		}
	}
	t.Fatalf("%s/%s has no %q", dir, file, key)
	return 0
}

// cgroupPids lists the pids in dir/cgroup.procs (none when dir is gone).
func cgroupPids(t *testing.T, dir string) []int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		p, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("%s/cgroup.procs: %q", dir, f)
		}
		pids = append(pids, p)
	}
	return pids
}

// cmdline is pid's command line with spaces between the arguments.
func cmdline(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}

// waitUntil polls cond with backoff until it holds, failing the test after
// waitTimeout. It is only for conditions the test itself has caused (a
// process started, a limit hit), never to let time pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	delay := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitTimeout)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// nextLine reads the next line the container prints on r, within
// waitTimeout. It reads byte by byte so nothing after the line is
// swallowed for the next call.
func nextLine(t *testing.T, r *os.File) string {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return string(line)
			}
			line = append(line, b[0])
			continue
		}
		if err != nil {
			t.Fatalf("reading a line from the container (got %q so far): %v", line, err)
		}
	}
}

// gone reports whether path does not exist.
func gone(path string) bool {
	_, err := os.Stat(path)
	return errors.Is(err, fs.ErrNotExist)
}

// makeCgroups makes the cgroup rel (absolute, below cgroupParent) in every
// hierarchy, as a parent for a container or a cgroup for a caller: every
// missing directory on the way, each new v1 cpuset one given its parent's
// cpus and mems (a v1 cpuset cgroup starts empty and no task may join it).
// At the end of the test it force-deletes b's container, which may live
// below, and removes what it made below cgroupParent, with anything a
// runtime left in it, and cgroupParent if it made it and nothing else is
// in it now: on v2 whether the runtime creates cgroupParent (and so
// hands it every controller) or finds it decides what its containers get,
// so a test must not leave that different for the next ones.
func makeCgroups(t *testing.T, b *bundle, rel string) {
	t.Helper()
	if !strings.HasPrefix(rel, cgroupParent+"/") {
		t.Fatalf("makeCgroups: %s is not below this run's %s", rel, cgroupParent)
	}
	var made []string        // below cgroupParent, parents first
	var madeParents []string // cgroupParent, where made here
	t.Cleanup(func() {
		if _, stderr, code := run(t, "delete", "--force", b.id); code != 0 && !strings.Contains(stderr, "does not exist") {
			t.Errorf("delete --force %s: %s", b.id, stderr)
		}
		for i := len(made) - 1; i >= 0; i-- {
			if err := rmdirCgroup(made[i]); err != nil {
				t.Error(err)
			}
		}
		for _, d := range madeParents {
			if entries, err := os.ReadDir(d); err == nil && !slices.ContainsFunc(entries, fs.DirEntry.IsDir) {
				if err := rmdirCgroup(d); err != nil {
					t.Error(err)
				}
			}
		}
	})
	for _, m := range cgroupMounts() {
		h := m.dir
		var todo []string
		for d := filepath.Join(h, rel); d != h && gone(d); d = filepath.Dir(d) {
			todo = append([]string{d}, todo...)
		}
		for _, d := range todo {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if d == filepath.Join(h, cgroupParent) {
				madeParents = append(madeParents, d)
			} else {
				made = append(made, d)
			}
			// (A cgroup2 cpuset takes tasks while empty: it then has
			// its parent's cpus and mems.)
			if !slices.Contains(strings.Split(m.key, ","), "cpuset") {
				continue
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				v := cgroupValue(t, filepath.Dir(d), f)
				if err := os.WriteFile(filepath.Join(d, f), []byte(v), 0o644); err != nil {
					t.Fatalf("%s/%s: %v", d, f, err)
				}
			}
		}
	}
}

// rmdirCgroup removes an empty cgroup directory (and any empty ones below
// it), retrying while the kernel still counts exiting tasks (EBUSY). A
// missing one is fine.
func rmdirCgroup(dir string) error {
	if gone(dir) {
		return nil
	}
	deadline := time.Now().Add(waitTimeout)
	for {
		err := rmdirTree(dir)
		if err == nil || gone(dir) {
			return nil
		}
		if !errors.Is(err, syscall.EBUSY) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertNoCgroup fails if the container's directory exists in any
// hierarchy.
func (b *bundle) assertNoCgroup() {
	b.t.Helper()
	for _, h := range cgroupHierarchies() {
		if d := filepath.Join(h, b.spec.Linux.CgroupsPath); !gone(d) {
			b.t.Errorf("%s exists", d)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// memoryFiles names, for one layout, the files the memory tests read.
type memoryFiles struct {
	limit, reservation, swap string // written from the spec's limit, reservation, swap
	oomKills                 string // a flat-keyed file whose oom_kill counts OOM kills
	peak                     string // the highest usage so far
}

var (
	memoryV1 = memoryFiles{"memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.oom_control", "memory.max_usage_in_bytes"}
	memoryV2 = memoryFiles{"memory.max", "memory.low", "memory.swap.max", "memory.events", "memory.peak"}
)

// 1. Memory: limit, swap, reservation (and swappiness on v1) land in their
// files — v1's limit_in_bytes, memsw (memory+swap, as the spec counts
// swap) and soft limit; v2's memory.max, memory.swap.max (swap alone: the
// spec's swap minus the limit, as runc converts it) and memory.low; the
// limit OOM-kills a process that outgrows it and the cgroup counts the
// kill; on v1, with the OOM killer disabled, the process waits under OOM
// instead.
func TestCgroupMemory(t *testing.T) {
	requireController(t, "memory")
	const limit = 32 << 20
	// awk doubles a string up to 128 MiB: with no limit it ends at once
	// (exit 0); under 32 MiB it is OOM-killed.
	const hog = `awk 'BEGIN { s = "x"; while (length(s) < 100000000) s = s s }'`
	v2 := unifiedHost()
	files := memoryV1
	if v2 {
		files = memoryV2
	}

	t.Run("values", func(t *testing.T) {
		// 48 MiB of memory+swap: 16 MiB of swap beyond the limit.
		const swap = 48 << 20
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{
			Limit: ptr[int64](limit), Swap: ptr[int64](swap), Reservation: ptr[int64](16 << 20),
		}
		want := map[string]string{files.limit: "33554432", files.reservation: "16777216"}
		swapWant := "50331648" // memory+swap
		if v2 {
			swapWant = "16777216" // swap alone
		} else {
			// cgroup v2 has no per-cgroup swappiness (hull refuses the
			// field there, runc drops it).
			b.spec.Linux.Resources.Memory.Swappiness = ptr[uint64](10)
			want["memory.swappiness"] = "10"
		}
		b.create()
		dir := b.controllerDir("memory")
		for file, want := range want {
			if got := cgroupValue(t, dir, file); got != want {
				t.Errorf("%s = %s, want %s", file, got, want)
			}
		}
		// No swap here, but the file exists where swap accounting is on.
		if gone(filepath.Join(dir, files.swap)) {
			t.Logf("no %s: swap accounting is off; swap not checked", files.swap)
		} else if got := cgroupValue(t, dir, files.swap); got != swapWant {
			t.Errorf("%s = %s, want %s", files.swap, got, swapWant)
		}
		if !v2 {
			if got := cgroupKeyValue(t, dir, "memory.oom_control", "oom_kill_disable"); got != 0 {
				t.Errorf("oom_kill_disable = %d without disableOOMKiller", got)
			}
		}
	})

	t.Run("oom kill", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", hog+`; echo "hog exit $?"; exec sleep 3600`)
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](limit), Swap: ptr[int64](limit)}
		out := b.createPiped()
		dir := b.controllerDir("memory")
		if got := cgroupValue(t, dir, files.limit); got != "33554432" {
			t.Errorf("%s = %s, want 33554432", files.limit, got)
		}
		if v2 && !gone(filepath.Join(dir, files.swap)) {
			// Swap equal to the limit: no swap at all.
			if got := cgroupValue(t, dir, files.swap); got != "0" {
				t.Errorf("%s = %s, want 0 (swap = limit)", files.swap, got)
			}
		}
		mustRun(t, "start", b.id)
		if got := nextLine(t, out); got != "hog exit 137" {
			t.Errorf("the process growing past 32 MiB: %q, want it SIGKILLed (hog exit 137)", got)
		}
		if n := cgroupKeyValue(t, dir, files.oomKills, "oom_kill"); n < 1 {
			t.Errorf("%s oom_kill = %d, want the OOM killer to have acted in the container's cgroup", files.oomKills, n)
		}
		// The peak stayed within the limit. (memory.failcnt is not used:
		// this 6.x kernel leaves it 0 on v1 even after an OOM kill.)
		if gone(filepath.Join(dir, files.peak)) {
			t.Logf("no %s (Linux 5.19+): peak not checked", files.peak)
		} else if peak, _ := strconv.ParseInt(cgroupValue(t, dir, files.peak), 10, 64); peak > limit || peak == 0 {
			t.Errorf("%s = %d, want at most the limit %d", files.peak, peak, limit)
		}
		if st := mustState(t, b.id); st.Status != "running" {
			t.Errorf("the container's init (not the hog) should still run: %+v", st)
		}
	})

	t.Run("oom killer disabled", func(t *testing.T) {
		if v2 {
			t.Skip("cgroup v2 cannot disable the OOM killer (runc and hull ignore disableOOMKiller there, with a warning)")
		}
		b := newBundle(t, "sh", "-c", `echo started; `+hog+`; echo "hog exit $?"; exec sleep 3600`)
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{
			Limit: ptr[int64](limit), Swap: ptr[int64](limit), DisableOOMKiller: ptr(true),
		}
		out := b.createPiped()
		dir := b.controllerDir("memory")
		if got := cgroupKeyValue(t, dir, "memory.oom_control", "oom_kill_disable"); got != 1 {
			t.Fatalf("memory.oom_control oom_kill_disable = %d, want 1", got)
		}
		mustRun(t, "start", b.id)
		if got := nextLine(t, out); got != "started" {
			t.Fatalf("container said %q", got)
		}
		// The hog is not killed: it waits in the kernel under OOM, which
		// the cgroup reports; delete --force at the end kills it.
		waitUntil(t, "memory.oom_control under_oom 1", func() bool {
			return cgroupKeyValue(t, dir, "memory.oom_control", "under_oom") == 1
		})
		if n := cgroupKeyValue(t, dir, "memory.oom_control", "oom_kill"); n != 0 {
			t.Errorf("oom_kill = %d with the OOM killer disabled", n)
		}
	})
}

// 2. pids.limit lands in pids.max (the same file on v1 and v2) and stops
// forks past it: the init plus limit-1 background sleeps fill the cgroup,
// the next fork fails.
func TestCgroupPids(t *testing.T) {
	requireController(t, "pids")
	const limit = 10

	t.Run("value", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](limit)}
		b.create()
		if got := cgroupValue(t, b.controllerDir("pids"), "pids.max"); got != "10" {
			t.Errorf("pids.max = %s, want 10", got)
		}
	})

	t.Run("enforced", func(t *testing.T) {
		// busybox ash exits with status 2 when a fork fails.
		b := newBundle(t, "sh", "-c",
			`i=0; while [ $i -lt 20 ]; do sleep 100 & i=$((i+1)); echo "started $i"; done; echo "all started"`)
		b.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](limit)}
		stdout, stderr, code := b.run()
		started := 0
		for _, l := range lines(stdout) {
			if strings.HasPrefix(l, "started ") {
				started++
			}
		}
		if started != limit-1 || code == 0 || !strings.Contains(stderr, "can't fork") {
			t.Errorf("20 forks under pids.max 10: %d started (want %d: the init is the 10th task), exit status %d, stderr %q (want ash's \"can't fork\")",
				started, limit-1, code, stderr)
		}
	})
}

// 3. cpu shares, CFS quota and period, and cpuset cpus and mems land in
// their files — v1's cpu.shares and cfs_*_us; v2's cpu.weight (converted
// from the shares as runc converts them) and cpu.max; cpuset.cpus and
// cpuset.mems on both; the quota throttles a busy loop; the cpuset confines
// the process; an unset cpuset is the parent's.
func TestCgroupCPU(t *testing.T) {
	requireController(t, "cpu")
	requireController(t, "cpuset")
	v2 := unifiedHost()

	t.Run("values", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `grep Cpus_allowed_list /proc/self/status; grep Mems_allowed_list /proc/self/status`)
		b.spec.Linux.Resources.CPU = &specs.LinuxCPU{
			Shares: ptr[uint64](2000), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
			Cpus: "0", Mems: "0",
		}
		out := b.createPiped()
		cpu, cpuset := b.controllerDir("cpu"), b.controllerDir("cpuset")
		want := []struct{ dir, file, want string }{
			{cpu, "cpu.shares", "2000"},
			{cpu, "cpu.cfs_quota_us", "50000"},
			{cpu, "cpu.cfs_period_us", "100000"},
		}
		if v2 {
			want = []struct{ dir, file, want string }{
				// runc's shares-to-weight conversion since 1.3.2/1.4.0,
				// a quadratic in log2(shares) that maps 2, 1024 and
				// 262144 to 1, 100 and 10000: 2000 shares are weight 170
				// (runc#4896 shows the same pair; the linear formula of
				// older runc, 1 + (shares-2)*9999/262142, gave 77).
				{cpu, "cpu.weight", "170"},
				{cpu, "cpu.max", "50000 100000"},
			}
		}
		want = append(want, []struct{ dir, file, want string }{
			{cpuset, "cpuset.cpus", "0"},
			{cpuset, "cpuset.mems", "0"},
		}...)
		for _, c := range want {
			if got := cgroupValue(t, c.dir, c.file); got != c.want {
				t.Errorf("%s = %q, want %q", c.file, got, c.want)
			}
		}
		mustRun(t, "start", b.id)
		for _, want := range []string{"Cpus_allowed_list:\t0", "Mems_allowed_list:\t0"} {
			if got := nextLine(t, out); got != want {
				t.Errorf("in the container: %q, want %q", got, want)
			}
		}
	})

	t.Run("quota throttles", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `while :; do :; done`)
		b.spec.Linux.Resources.CPU = &specs.LinuxCPU{Quota: ptr[int64](10000), Period: ptr[uint64](100000)}
		b.start()
		dir := b.controllerDir("cpu")
		// A busy loop allowed 10 ms of every 100 ms is throttled in its
		// first period; the kernel counts it (cpu.stat on v1 and v2).
		waitUntil(t, "cpu.stat nr_throttled > 0 for a busy loop under a 10% quota", func() bool {
			return cgroupKeyValue(t, dir, "cpu.stat", "nr_throttled") > 0
		})
	})

	t.Run("cpuset inherited", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `grep Cpus_allowed_list /proc/self/status`)
		b.spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: ptr[uint64](512)} // no cpus, no mems
		out := b.createPiped()
		m, _ := controllerMount("cpuset")
		root, dir := m.dir, b.controllerDir("cpuset")
		// v1 copies the parent's cpus and mems into a new cpuset; v2
		// leaves cpuset.cpus empty and the cgroup has its parent's as
		// cpuset.*.effective (where the cpuset controller reaches it).
		cpus, files := "cpuset.cpus", []string{"cpuset.cpus", "cpuset.mems"}
		if v2 {
			cpus, files = "cpuset.cpus.effective", []string{"cpuset.cpus.effective", "cpuset.mems.effective"}
		}
		for _, f := range files {
			if v2 && gone(filepath.Join(dir, f)) {
				t.Logf("no %s in the container's cgroup: its parent does not give it the cpuset controller", f)
				continue
			}
			if got, want := cgroupValue(t, dir, f), cgroupValue(t, root, f); got != want {
				t.Errorf("%s = %q, want the root's %q", f, got, want)
			}
		}
		mustRun(t, "start", b.id)
		if got, want := nextLine(t, out), "Cpus_allowed_list:\t"+cgroupValue(t, root, cpus); got != want {
			t.Errorf("in the container: %q, want %q", got, want)
		}
	})
}

// 4. Device rules: a character device outside the allowed list can be made
// (mknod is allowed for all) but not opened; an allow rule opens it for the
// access it names only. /dev/kmsg (1:11) is the victim: opening it for
// writing needs no privilege, for reading CAP_SYSLOG (given here), so the
// device cgroup is the only thing that can refuse. From outside, v1 shows
// the rules in devices.list; on v2 they are an eBPF program attached to the
// cgroup, exactly one. An update (which sets the resources again, device
// rules included) leaves them as they were, for a process exec'd after it
// too: on v2 the program is replaced, not stacked or dropped.
func TestCgroupDevices(t *testing.T) {
	v2 := unifiedHost()
	if !v2 {
		requireController(t, "devices")
	}
	requireController(t, "pids") // for the update
	// $1 names the node, so that an exec'd process can run it again.
	const script = `mknod /dev/victim$1 c 1 11 && echo "mknod ok"
		( exec 3>/dev/victim$1 ) 2>/dev/null && echo "write ok" || echo "write refused"
		( exec 3</dev/victim$1 ) 2>/dev/null && echo "read ok" || echo "read refused"
		( exec 3<>/dev/null ) && echo "null ok"
		( exec 3</dev/urandom ) && echo "urandom ok"
		( exec 3</dev/victim$1 ) 2>&1 | grep -q "Operation not permitted" && echo "EPERM"`
	for _, c := range []struct {
		name   string
		rules  []specs.LinuxDeviceCgroup
		listed string // the rule devices.list must show, if any
		want   []string
	}{
		{"denied", nil, "", []string{"mknod ok", "write refused", "read refused", "null ok", "urandom ok", "EPERM"}},
		{"allowed w", []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "w"}},
			"c 1:11 w", []string{"mknod ok", "write ok", "read refused", "null ok", "urandom ok", "EPERM"}},
		{"allowed rw", []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](11), Access: "rw"}},
			"c 1:11 rw", []string{"mknod ok", "write ok", "read ok", "null ok", "urandom ok"}},
		// The config's rules come first and the default allowed devices
		// after them, as runc orders them: denying /dev/urandom in the
		// config does not outlast the default that allows it.
		{"urandom deny overridden", []specs.LinuxDeviceCgroup{{Allow: false, Type: "c", Major: ptr[int64](1), Minor: ptr[int64](9), Access: "rwm"}},
			"c 1:9 rwm", []string{"mknod ok", "write refused", "read refused", "null ok", "urandom ok", "EPERM"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", script+"\nexec sleep 3600", "sh", "-init")
			caps := append(slices.Clone(defaultCaps), "CAP_MKNOD", "CAP_SYSLOG")
			b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
			b.spec.Linux.Resources.Devices = append(b.spec.Linux.Resources.Devices, c.rules...)
			out := b.createPiped()
			seen := b.checkDeviceCgroup(c.listed)
			mustRun(t, "start", b.id)
			var got []string
			for range c.want {
				got = append(got, nextLine(t, out))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("in the container: %q, want %q (%s)", got, c.want, seen)
			}

			mustRun(t, "update", "--pids-limit", "100", b.id)
			if now := b.checkDeviceCgroup(c.listed); now != seen {
				t.Errorf("after update: %s, before: %s", now, seen)
			}
			if got := lines(mustRun(t, "exec", b.id, "sh", "-c", script+"\nexit 0", "sh", "-exec")); !slices.Equal(got, c.want) {
				t.Errorf("in a process exec'd after update: %q, want %q", got, c.want)
			}
		})
	}
}

// checkDeviceCgroup checks what the host shows of the container's device
// rules and returns it, for a message: on v1 devices.list, which must hold
// the default rules and listed, and neither allow everything nor 1:11
// without a rule for it; on v2 the device programs attached to the
// cgroup, which must be one (the rules are the kernel's to see, and the
// container's to feel).
func (b *bundle) checkDeviceCgroup(listed string) string {
	t := b.t
	t.Helper()
	if unifiedHost() {
		n := attachedDevicePrograms(t, b.cgroupIn(cgroupMountRoot))
		if n != 1 {
			t.Errorf("%d device programs attached to the container's cgroup, want 1", n)
		}
		return fmt.Sprintf("%d device program(s) attached", n)
	}
	list := lines(cgroupValue(t, b.controllerDir("devices"), "devices.list"))
	if slices.Contains(list, "a *:* rwm") {
		t.Fatalf("devices.list allows everything: %q", list)
	}
	for _, rule := range []string{"c 1:3 rwm", "c 1:9 rwm", "c *:* m", listed} {
		if rule != "" && !slices.Contains(list, rule) {
			t.Errorf("devices.list %q lacks %q", list, rule)
		}
	}
	if listed == "" && slices.ContainsFunc(list, func(r string) bool { return strings.HasPrefix(r, "c 1:11 ") }) {
		t.Errorf("devices.list %q allows 1:11 without a rule for it", list)
	}
	return fmt.Sprintf("devices.list %q", list)
}

// attachedDevicePrograms counts the BPF_PROG_TYPE_CGROUP_DEVICE programs
// attached to the cgroup2 directory dir itself (BPF_PROG_QUERY).
func attachedDevicePrograms(t *testing.T, dir string) int {
	t.Helper()
	f, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(f.Fd()), Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatalf("BPF_PROG_QUERY on %s: %v", dir, err)
	}
	return len(res.Programs)
}

// wholeDiskOf returns "major:minor" of the whole block device holding path,
// or a reason why there is none (an overlay or tmpfs root).
func wholeDiskOf(path string) (string, string) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", err.Error()
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	sys := "/sys/dev/block/" + dev
	if gone(sys) {
		return "", fmt.Sprintf("%s is on device %s, which is not a block device", path, dev)
	}
	if !gone(filepath.Join(sys, "partition")) {
		// A partition: throttling takes the whole disk, its parent.
		data, err := os.ReadFile(filepath.Join(sys, "..", "dev"))
		if err != nil {
			return "", err.Error()
		}
		dev = strings.TrimSpace(string(data))
	}
	return dev, ""
}

// probeFiles returns which of files (in their order) a new cgroup with
// controller ctrl has, from a probe cgroup of the test's own below
// cgroupParent (on v2 with ctrl enabled in cgroupParent's
// cgroup.subtree_control). The probe is removed again, and cgroupParent
// too if the probe made it, so that the runtime finds things as it would
// have without the probe.
func probeFiles(t *testing.T, b *bundle, ctrl string, files ...string) []string {
	t.Helper()
	m, ok := controllerMount(ctrl)
	if !ok {
		t.Fatalf("no hierarchy holds the %s controller", ctrl)
	}
	parent := filepath.Join(m.dir, cgroupParent)
	if gone(parent) {
		if err := os.Mkdir(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := rmdirCgroup(parent); err != nil {
				t.Error(err)
			}
		}()
	}
	if m.v2() {
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+"+ctrl), 0o644); err != nil {
			t.Fatalf("enabling %s in %s/cgroup.subtree_control: %v", ctrl, parent, err)
		}
	}
	probe := filepath.Join(parent, b.id+"-probe")
	if err := os.Mkdir(probe, 0o755); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := rmdirCgroup(probe); err != nil {
			t.Error(err)
		}
	}()
	var out []string
	for _, f := range files {
		if !gone(filepath.Join(probe, f)) {
			out = append(out, f)
		}
	}
	return out
}

// 5. blockIO: the weight lands in v1's blkio.weight or, under BFQ,
// blkio.bfq.weight; on v2 in io.bfq.weight as it is or, without BFQ, in
// io.weight converted as runc converts it (1 + (weight-10)*9999/990: 500
// is 4950); a kernel with neither refuses the setting at create. A read
// throttle for the root disk lands in blkio.throttle.read_bps_device or
// io.max.
func TestCgroupBlkio(t *testing.T) {
	v2 := unifiedHost()
	ctrl := "blkio"
	if v2 {
		ctrl = "io"
	}
	requireController(t, ctrl)

	t.Run("weight", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		type weightFile struct{ name, want string }
		candidates := []weightFile{{"blkio.weight", "500"}, {"blkio.bfq.weight", "500"}}
		if v2 {
			candidates = []weightFile{{"io.bfq.weight", "500"}, {"io.weight", "4950"}}
		}
		// Which weight file a new cgroup has, from a probe of our own.
		have := probeFiles(t, b, ctrl, candidates[0].name, candidates[1].name)
		var file weightFile
		for _, f := range candidates {
			if slices.Contains(have, f.name) {
				file = f
				break
			}
		}
		b.spec.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: ptr[uint16](500)}
		if file.name == "" {
			t.Logf("this kernel has neither %s nor %s: create must refuse the weight", candidates[0].name, candidates[1].name)
			b.write()
			msg := mustFail(t, "create", "--bundle", b.dir, b.id)
			b.assertNothingLeft()
			b.assertNoCgroup()
			hullOnly(t)
			if !strings.Contains(msg, "linux.resources.blockIO.weight") {
				t.Errorf("error %q does not name linux.resources.blockIO.weight", msg)
			}
			return
		}
		t.Logf("a new cgroup here has %s", file.name)
		b.create()
		// A bare number, or "default N" then per-device lines.
		first, _, _ := strings.Cut(cgroupValue(t, b.controllerDir(ctrl), file.name), "\n")
		got := strings.Fields(first)
		if len(got) == 0 || got[len(got)-1] != file.want {
			t.Errorf("%s = %q, want weight %s", file.name, got, file.want)
		}
	})

	t.Run("throttle", func(t *testing.T) {
		dev, why := wholeDiskOf("/")
		if dev == "" {
			t.Skip("no block device to throttle: " + why)
		}
		var major, minor int64
		if _, err := fmt.Sscanf(dev, "%d:%d", &major, &minor); err != nil {
			t.Fatal(err)
		}
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.BlockIO = &specs.LinuxBlockIO{
			ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 1 << 20}},
		}
		b.create()
		file, want := "blkio.throttle.read_bps_device", dev+" 1048576"
		if v2 {
			file, want = "io.max", dev+" rbps=1048576 wbps=max riops=max wiops=max"
		}
		if got := cgroupValue(t, b.controllerDir(ctrl), file); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	})
}

// 6. A resource whose controller this host lacks is refused at create with
// one line naming the field and the controller, and nothing is left: no
// state, no cgroup directory in any hierarchy. runc 1.1 skips such a
// resource silently, so this is hull's promise (design §5). "Lacks": no v1
// hierarchy of it on a v1 or hybrid host, not in the root's
// cgroup.controllers on a v2 one (which never has net_cls or net_prio).
func TestCgroupMissingController(t *testing.T) {
	requireSuite(t)
	for _, c := range []struct {
		name       string
		controller string
		set        func(r *specs.LinuxResources)
		field      string
	}{
		{"rdma", "rdma", func(r *specs.LinuxResources) {
			r.Rdma = map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: ptr[uint32](3)}}
		}, "linux.resources.rdma"},
		{"net_cls", "net_cls", func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{ClassID: ptr[uint32](0x100001)}
		}, "linux.resources.network.classID"},
		{"net_prio", "net_prio", func(r *specs.LinuxResources) {
			r.Network = &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}
		}, "linux.resources.network.priorities"},
		{"hugetlb", "hugetlb", func(r *specs.LinuxResources) {
			r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}
		}, "linux.resources.hugepageLimits"},
	} {
		t.Run(c.name, func(t *testing.T) {
			hullOnly(t)
			if m, ok := controllerMount(c.controller); ok {
				t.Skipf("this host has the %s controller (hierarchy at %s)", c.controller, m.dir)
			}
			b := newBundle(t, "sleep", "3600")
			c.set(b.spec.Linux.Resources)
			b.write()
			msg := mustFail(t, "create", "--bundle", b.dir, b.id)
			t.Logf("error: %s", msg)
			if !strings.Contains(msg, c.field) || !strings.Contains(msg, c.controller) {
				t.Errorf("error %q, want it to name the field %s and the controller %s", msg, c.field, c.controller)
			}
			b.assertNoCgroup()
			b.assertNothingLeft()
			if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
				t.Errorf("state after the refused create: ok=%v stderr=%q", ok, stderr)
			}
		})
	}
}

// linux.resources.unified: on a v2 host a raw key lands in its file as
// written ("pids.max": "7"); on a v1 or hybrid host the field is refused (it
// needs cgroup v2, as runc says too). A key that is not a plain file name
// of the cgroup directory ("/" or "..") is refused on every host. Each
// refusal is one line naming linux.resources.unified (runc's: "unified")
// and leaves nothing.
func TestCgroupUnified(t *testing.T) {
	requireSuite(t)
	refused := func(t *testing.T, b *bundle) {
		t.Helper()
		b.write()
		msg := mustFail(t, "create", "--bundle", b.dir, b.id)
		t.Logf("error: %s", msg)
		b.assertNoCgroup()
		b.assertNothingLeft()
		want := "unified" // runc: "cannot use unified on cgroup v1"
		if isHull() {
			want = "linux.resources.unified"
		}
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}

	t.Run("raw key", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.Unified = map[string]string{"pids.max": "7"}
		if !unifiedHost() {
			refused(t, b)
			return
		}
		requireController(t, "pids")
		b.create()
		if got := cgroupValue(t, b.controllerDir("pids"), "pids.max"); got != "7" {
			t.Errorf("pids.max = %q, want the unified value 7", got)
		}
	})

	for _, c := range []struct{ name, key string }{
		{"parent", "../pids.max"},
		{"subdir", "sub/pids.max"},
		{"dotdot", ".."},
	} {
		t.Run("refused "+c.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "3600")
			b.spec.Linux.Resources.Unified = map[string]string{c.key: "7"}
			refused(t, b)
		})
	}
}

// procCgroupPaths maps each mounted hierarchy (its mount point, as
// cgroupHierarchies lists it) to pid's cgroup in it, from
// /proc/<pid>/cgroup: "0::/x" is the cgroup2 hierarchy's, "4:memory:/x"
// the memory one's.
func procCgroupPaths(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	mounts := cgroupMounts()
	out := map[string]string{}
	for _, l := range lines(string(data)) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			t.Fatalf("/proc/%d/cgroup: %q", pid, l)
		}
		for _, m := range mounts {
			if m.key == parts[1] {
				out[m.dir] = parts[2]
			}
		}
	}
	return out
}

// 7. After create the init is in the container's cgroup in every
// hierarchy: on a v1 or hybrid host each v1 controller, name=systemd and
// the cgroup2 tree, which tracks the container's processes there; on a v2
// host the one cgroup2 hierarchy.
func TestCgroupEveryHierarchy(t *testing.T) {
	requireSuite(t)
	hiers := cgroupHierarchies()
	if len(hiers) == 0 {
		t.Skip("no cgroup hierarchy mounted under /sys/fs/cgroup")
	}
	b := newBundle(t, "sleep", "3600")
	b.create()
	pid := mustState(t, b.id).Pid
	holdPid(t, pid)
	own := procCgroupPaths(t, pid)
	for _, h := range hiers {
		dir := b.cgroupIn(h)
		if pids := cgroupPids(t, dir); !slices.Contains(pids, pid) {
			t.Errorf("%s/cgroup.procs = %v, want the init %d", dir, pids, pid)
		}
		if own[h] != b.spec.Linux.CgroupsPath {
			t.Errorf("/proc/%d/cgroup puts it at %q in the hierarchy at %s, want %q", pid, own[h], h, b.spec.Linux.CgroupsPath)
		}
	}
}

// 8. delete removes the container's directory in every hierarchy, and the
// parents the runtime made for it; a parent that existed is kept. (A parent
// made for one container that another one shares: cgroups_failing_test.go.)
func TestCgroupDeleteRemoves(t *testing.T) {
	requireSuite(t)

	t.Run("created parents", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		top := cgroupParent + "/" + b.id + "-top"
		b.spec.Linux.CgroupsPath = top + "/mid/" + b.id
		t.Cleanup(func() { // runc leaves the parents
			run(t, "delete", "--force", b.id)
			removeEverywhere(t, top)
		})
		b.start()
		for _, d := range b.cgroupDirs() {
			if gone(d) {
				t.Fatalf("%s missing after create", d)
			}
		}
		mustRun(t, "delete", "--force", b.id)
		b.assertNoCgroup()
		hullOnly(t) // runc removes the container's directory only
		for _, h := range cgroupHierarchies() {
			if d := filepath.Join(h, top); !gone(d) {
				t.Errorf("%s, made for the container, is left after delete", d)
			}
		}
	})

	t.Run("existing parent kept", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		keep := cgroupParent + "/" + b.id + "-keep"
		makeCgroups(t, b, keep)
		b.spec.Linux.CgroupsPath = keep + "/" + b.id
		b.start()
		mustRun(t, "delete", "--force", b.id)
		b.assertNoCgroup()
		for _, h := range cgroupHierarchies() {
			if d := filepath.Join(h, keep); gone(d) {
				t.Errorf("%s existed before the container and was removed with it", d)
			}
		}
	})
}

// removeEverywhere removes the cgroup rel (below cgroupParent) and what is
// below it in every hierarchy, after the test's containers are gone.
func removeEverywhere(t *testing.T, rel string) {
	t.Helper()
	for _, h := range cgroupHierarchies() {
		if err := rmdirCgroup(filepath.Join(h, rel)); err != nil {
			t.Error(err)
		}
	}
}

// fileSize is the size of path, 0 when it does not exist yet.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// requireFreezer skips unless the host can freeze a cgroup: v1's freezer
// controller, or on a v2 host cgroup.freeze, which every non-root cgroup2
// cgroup has (Linux 5.2+).
func requireFreezer(t *testing.T) {
	t.Helper()
	if unifiedHost() {
		requireSuite(t)
		return
	}
	requireController(t, "freezer")
}

// freezerDir is the container's cgroup that pause freezes: in the v1
// freezer hierarchy, or the cgroup2 one.
func (b *bundle) freezerDir() string {
	b.t.Helper()
	if unifiedHost() {
		return b.cgroupIn(cgroupMountRoot)
	}
	return b.controllerDir("freezer")
}

// freezerState is what the container's cgroup says of its freezing: v1's
// freezer.state (FROZEN, FREEZING, THAWED), v2's cgroup.events "frozen"
// key ("frozen 1" once every task is frozen).
func (b *bundle) freezerState() string {
	b.t.Helper()
	if unifiedHost() {
		return fmt.Sprintf("frozen %d", cgroupKeyValue(b.t, b.freezerDir(), "cgroup.events", "frozen"))
	}
	return cgroupValue(b.t, b.freezerDir(), "freezer.state")
}

// freezerStates is what freezerState says of a frozen and of a thawed
// cgroup.
func freezerStates() (frozen, thawed string) {
	if unifiedHost() {
		return "frozen 1", "frozen 0"
	}
	return "FROZEN", "THAWED"
}

// 9. pause freezes every process (the cgroup says so — v1's freezer.state
// FROZEN, v2's cgroup.events frozen 1 —, a writer stops writing, state
// says paused) and resume thaws them; pausing a paused or stopped
// container and resuming a running one are refused.
func TestCgroupPauseResume(t *testing.T) {
	requireFreezer(t)
	frozen, thawed := freezerStates()
	host := tempDir(t)
	count := filepath.Join(host, "count")
	// A writer and a child that writes too, so the whole tree must freeze.
	// They append without pause (builtins only: a few MB a minute), so any
	// runtime call in between shows growth unless they are frozen.
	b := newBundle(t, "sh", "-c", `writer() { while :; do echo "$1" >> /data/count; done; }
		writer child & writer init`)
	b.addMount(specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "rw"}})
	st := b.start()
	waitUntil(t, "the container writing", func() bool { return fileSize(t, count) > 0 })

	mustRun(t, "pause", b.id)
	if got := mustState(t, b.id); got.Status != "paused" || got.Pid != st.Pid {
		t.Errorf("state after pause: %+v, want paused with pid %d", got, st.Pid)
	}
	if got := b.freezerState(); got != frozen {
		t.Errorf("the cgroup says %q after pause, want %q", got, frozen)
	}
	before := fileSize(t, count)
	// Events in between, not a sleep: two runtime calls, each a process
	// start and a look at the container.
	msg := mustFail(t, "pause", b.id)
	t.Logf("pause of a paused container: %s", msg)
	if got := mustState(t, b.id); got.Status != "paused" {
		t.Errorf("state after the refused second pause: %s, want paused", got.Status)
	}
	if after := fileSize(t, count); after != before {
		t.Errorf("the paused container wrote: %d bytes, then %d", before, after)
	}

	mustRun(t, "resume", b.id)
	if got := mustState(t, b.id); got.Status != "running" {
		t.Errorf("state after resume: %s, want running", got.Status)
	}
	if got := b.freezerState(); got != thawed {
		t.Errorf("the cgroup says %q after resume, want %q", got, thawed)
	}
	waitUntil(t, "the resumed container writing again", func() bool { return fileSize(t, count) > before })
	msg = mustFail(t, "resume", b.id)
	t.Logf("resume of a running container: %s", msg)

	mustRun(t, "kill", b.id, "KILL")
	waitStopped(t, b.id, st.Pid)
	msg = mustFail(t, "pause", b.id)
	t.Logf("pause of a stopped container: %s", msg)
	mustFail(t, "resume", b.id)
	mustRun(t, "delete", b.id)
	b.assertNoCgroup()
}

// exec into a paused container is refused, and with --ignore-paused the
// process joins the frozen cgroup and runs once the container is resumed.
func TestCgroupExecPaused(t *testing.T) {
	requireFreezer(t)
	b, st := startedContainer(t)
	mustRun(t, "pause", b.id)
	msg := mustFailExec(t, b.id, "true")
	t.Logf("exec into a paused container: %s", msg)
	if !strings.Contains(msg, "paused") {
		t.Errorf("error %q does not say the container is paused", msg)
	}

	freezer := b.freezerDir()
	out, done := backgroundRuntime(t, "exec", "--ignore-paused", b.id, "echo", "ran")
	// The exec'd process joins the frozen cgroup and freezes there: resume
	// only once it is in, so it is the flag that let it through.
	waitUntil(t, "the exec'd process in the container's frozen cgroup", func() bool {
		select {
		case r := <-done:
			t.Fatalf("exec --ignore-paused into the paused container ended (status %d) before resume: %s", r.code, r.stderr)
		default:
		}
		return len(cgroupPids(t, freezer)) > 1
	})
	mustRun(t, "resume", b.id)
	select {
	case r := <-done:
		if r.code != 0 {
			t.Fatalf("exec --ignore-paused: exit status %d: %s", r.code, r.stderr)
		}
	case <-time.After(runtimeTimeout):
		t.Fatalf("exec --ignore-paused did not return within %v of resume", runtimeTimeout)
	}
	if got := readPipe(t, out); got != "ran\n" {
		t.Errorf("exec --ignore-paused printed %q, want \"ran\\n\"", got)
	}
	if now := mustState(t, b.id); now.Status != "running" || now.Pid != st.Pid {
		t.Errorf("container after the exec: %+v", now)
	}
}

// containerProcs maps the pids in the container's cgroup (see
// trackingDir) to their command lines.
func containerProcs(t *testing.T, b *bundle) map[int]string {
	t.Helper()
	out := map[int]string{}
	for _, p := range cgroupPids(t, b.trackingDir()) {
		out[p] = cmdline(p)
	}
	return out
}

// pidOf returns the pid in procs whose command line is cmd, or 0.
func pidOf(procs map[int]string, cmd string) int {
	for p, c := range procs {
		if c == cmd {
			return p
		}
	}
	return 0
}

// 10. kill --all signals every process in the container's cgroup: TERM
// kills a child that does not ignore it and spares one that does; KILL
// ends them all. With the host's pid namespace only the cgroup knows the
// container's processes. (After the init has exited: cgroups_failing_test.go.)
func TestCgroupKillAll(t *testing.T) {
	requireSuite(t)
	const script = `trap "" TERM
		(trap - TERM; exec sleep 1000) &
		sleep 1001 &
		wait`
	for _, hostPidNS := range []bool{false, true} {
		name := map[bool]string{false: "own pid namespace", true: "host pid namespace"}[hostPidNS]
		t.Run(name, func(t *testing.T) {
			b := newBundle(t, "sh", "-c", script)
			if hostPidNS {
				b.removeNamespace(specs.PIDNamespace)
			}
			st := b.start()
			var procs map[int]string
			waitUntil(t, "both sleeps in the container's cgroup", func() bool {
				procs = containerProcs(t, b)
				return pidOf(procs, "sleep 1000") != 0 && pidOf(procs, "sleep 1001") != 0
			})
			fds := map[int]int{}
			for p := range procs {
				fds[p] = holdPid(t, p)
			}
			termable, ignoring := pidOf(procs, "sleep 1000"), pidOf(procs, "sleep 1001")

			mustRun(t, "kill", "--all", b.id, "TERM")
			if !pidfdExited(fds[termable], waitTimeout) {
				t.Fatalf("kill --all TERM: %d (sleep 1000) did not exit", termable)
			}
			// The signal is discarded at sending for a process that
			// ignores it, so once kill --all returned these had theirs.
			for _, p := range []int{ignoring, st.Pid} {
				if pidfdExited(fds[p], 0) {
					t.Errorf("kill --all TERM ended %d (%s), which ignores TERM", p, procs[p])
				}
			}

			mustRun(t, "kill", "--all", b.id, "KILL")
			for p, fd := range fds {
				if !pidfdExited(fd, waitTimeout) {
					t.Errorf("kill --all KILL: %d (%s) still alive", p, procs[p])
				}
			}
			waitStopped(t, b.id, st.Pid)
			mustRun(t, "delete", b.id)
			b.assertNoCgroup()
		})
	}
}

// 11. A relative cgroupsPath lands under the caller's own cgroup in every
// hierarchy, and an empty one is <caller's cgroup>/<id>. The caller is a
// shell moved first into a cgroup of this run's in every hierarchy (never
// the test's own cgroup, design §1), which then execs the runtime.
func TestCgroupRelativePath(t *testing.T) {
	requireSuite(t)
	for _, c := range []struct{ name, path string }{
		// Named at random: runc 1.1 puts it at the root of the cgroup2
		// hierarchy (below), where only a name of ours may be cleaned up.
		{"relative", "rel-" + randomHex(4) + "/inner"},
		{"empty", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "3600")
			caller := cgroupParent + "/" + b.id + "-caller"
			makeCgroups(t, b, caller)
			want := caller + "/" + c.path
			if c.path == "" {
				want = caller + "/" + b.id
			}
			b.spec.Linux.CgroupsPath = c.path
			b.write()
			// runc 1.1.5 on a hybrid host resolves a relative path in the
			// cgroup2 hierarchy from its root, not from the caller's
			// cgroup, and removes only the container's directory there.
			runcStray := ""
			if !isHull() {
				runcStray = hybridCgroup2()
			}
			if runcStray != "" {
				top := strings.Split(c.path, "/")[0]
				if c.path == "" {
					top = b.id
				}
				stray := filepath.Join(runcStray, top)
				if !gone(stray) {
					t.Skipf("%s exists already: not creating a container that might use it", stray)
				}
				t.Cleanup(func() {
					if err := rmdirCgroup(stray); err != nil {
						t.Error(err)
					}
				})
			}
			createAsCaller(t, b, caller)
			pid := mustState(t, b.id).Pid
			holdPid(t, pid)
			own := procCgroupPaths(t, pid)
			for _, h := range cgroupHierarchies() {
				if h == runcStray {
					t.Logf("not checked for %s: in the cgroup2 hierarchy it is at %q", filepath.Base(runtimeBin), own[h])
					continue
				}
				dir := filepath.Join(h, want)
				if pids := cgroupPids(t, dir); !slices.Contains(pids, pid) {
					t.Errorf("%s/cgroup.procs = %v, want the init %d", dir, pids, pid)
				}
				if own[h] != want {
					t.Errorf("/proc/%d/cgroup: at %q in the hierarchy at %s, want %q", pid, own[h], h, want)
				}
			}
			mustRun(t, "delete", "--force", b.id)
			for _, h := range cgroupHierarchies() {
				if d := filepath.Join(h, want); !gone(d) && h != runcStray {
					t.Errorf("%s is left after delete", d)
				}
			}
		})
	}
}

// hybridCgroup2 is where a hybrid host mounts its cgroup2 hierarchy (beside
// the v1 ones), "" on a v1-only or a unified host.
func hybridCgroup2() string {
	if unifiedHost() {
		return ""
	}
	for _, m := range cgroupMounts() {
		if m.v2() {
			return m.dir
		}
	}
	return ""
}

// createAsCaller runs `create` for b from a shell that first moves itself
// into the cgroup caller (made by makeCgroups) in every hierarchy.
func createAsCaller(t *testing.T, b *bundle, caller string) {
	t.Helper()
	var procs []string
	for _, h := range cgroupHierarchies() {
		procs = append(procs, filepath.Join(h, caller, "cgroup.procs"))
	}
	_, stderr, code := runWith(t, runOpts{
		via: []string{"/bin/sh", "-c", `for f in $CALLER_PROCS; do echo $$ > "$f" || exit 125; done; exec "$0" "$@"`},
		env: []string{"CALLER_PROCS=" + strings.Join(procs, " ")},
	}, "create", "--bundle", b.dir, b.id)
	if code != 0 {
		t.Fatalf("create from the caller's cgroup: exit status %d: %s", code, stderr)
	}
}

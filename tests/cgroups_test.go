package tests

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cgroups (issue 5, design §5) on this hybrid host: every linux.resources
// value lands in its v1 file AND the kernel enforces it; the container is
// tracked in every hierarchy (the cgroup2 one included); pause, resume and
// kill --all act on the cgroup; delete removes what the runtime created.
//
// The bundles' cgroupsPath is absolute (cgroupParent/<id>), so the
// container's directory in the hierarchy mounted at /sys/fs/cgroup/<h> is
// /sys/fs/cgroup/<h>/<cgroupsPath>, for hull and runc alike. Nothing here
// touches a cgroup outside this run's cgroupParent (design §1).

const cgroupMountRoot = "/sys/fs/cgroup"

// cgroupDir is the container's directory in the hierarchy mounted at
// /sys/fs/cgroup/<hier> ("memory", "systemd", "unified", …).
func (b *bundle) cgroupDir(hier string) string {
	b.t.Helper()
	p := b.spec.Linux.CgroupsPath
	if !filepath.IsAbs(p) {
		b.t.Fatalf("cgroupDir: cgroupsPath %q is not absolute", p)
	}
	return filepath.Join(cgroupMountRoot, hier, p)
}

// requireHierarchy skips unless /sys/fs/cgroup/<hier> is a mounted cgroup
// hierarchy.
func requireHierarchy(t *testing.T, hier string) {
	t.Helper()
	requireSuite(t)
	if !slices.Contains(cgroupHierarchies(), filepath.Join(cgroupMountRoot, hier)) {
		t.Skipf("no cgroup hierarchy mounted at %s/%s on this host", cgroupMountRoot, hier)
	}
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
// missing directory on the way, each new cpuset one given its parent's cpus
// and mems (a cpuset cgroup starts empty and no task may join it). At the
// end of the test it force-deletes b's container, which may live below,
// and removes what it made below cgroupParent, with anything a runtime
// left in it; cgroupParent itself is the harness's to remove.
func makeCgroups(t *testing.T, b *bundle, rel string) {
	t.Helper()
	if !strings.HasPrefix(rel, cgroupParent+"/") {
		t.Fatalf("makeCgroups: %s is not below this run's %s", rel, cgroupParent)
	}
	var made []string // below cgroupParent, parents first
	t.Cleanup(func() {
		if _, stderr, code := run(t, "delete", "--force", b.id); code != 0 && !strings.Contains(stderr, "does not exist") {
			t.Errorf("delete --force %s: %s", b.id, stderr)
		}
		for i := len(made) - 1; i >= 0; i-- {
			if err := rmdirCgroup(made[i]); err != nil {
				t.Error(err)
			}
		}
	})
	for _, h := range cgroupHierarchies() {
		var todo []string
		for d := filepath.Join(h, rel); d != h && gone(d); d = filepath.Dir(d) {
			todo = append([]string{d}, todo...)
		}
		for _, d := range todo {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if d != filepath.Join(h, cgroupParent) {
				made = append(made, d)
			}
			if filepath.Base(h) != "cpuset" {
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

// 1. Memory: limit, swap (memsw), reservation and swappiness land in their
// v1 files; the limit OOM-kills a process that outgrows it; with the OOM
// killer disabled the process waits under OOM instead.
func TestCgroupMemory(t *testing.T) {
	requireHierarchy(t, "memory")
	const limit = 32 << 20
	// awk doubles a string up to 128 MiB: with no limit it ends at once
	// (exit 0); under 32 MiB it is OOM-killed.
	const hog = `awk 'BEGIN { s = "x"; while (length(s) < 100000000) s = s s }'`

	t.Run("values", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{
			Limit: ptr[int64](limit), Swap: ptr[int64](limit),
			Reservation: ptr[int64](16 << 20), Swappiness: ptr[uint64](10),
		}
		b.create()
		dir := b.cgroupDir("memory")
		for file, want := range map[string]string{
			"memory.limit_in_bytes":      "33554432",
			"memory.soft_limit_in_bytes": "16777216",
			"memory.swappiness":          "10",
		} {
			if got := cgroupValue(t, dir, file); got != want {
				t.Errorf("%s = %s, want %s", file, got, want)
			}
		}
		// Swap equal to the limit: memory+swap is the same 32 MiB (no swap
		// here, but the accounting file exists where swapaccount is on).
		if gone(filepath.Join(dir, "memory.memsw.limit_in_bytes")) {
			t.Log("no memory.memsw.limit_in_bytes: swap accounting is off; swap not checked")
		} else if got := cgroupValue(t, dir, "memory.memsw.limit_in_bytes"); got != "33554432" {
			t.Errorf("memory.memsw.limit_in_bytes = %s, want 33554432", got)
		}
		if got := cgroupKeyValue(t, dir, "memory.oom_control", "oom_kill_disable"); got != 0 {
			t.Errorf("oom_kill_disable = %d without disableOOMKiller", got)
		}
	})

	t.Run("oom kill", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", hog+`; echo "hog exit $?"; exec sleep 3600`)
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](limit), Swap: ptr[int64](limit)}
		out := b.createPiped()
		dir := b.cgroupDir("memory")
		if got := cgroupValue(t, dir, "memory.limit_in_bytes"); got != "33554432" {
			t.Errorf("memory.limit_in_bytes = %s, want 33554432", got)
		}
		mustRun(t, "start", b.id)
		if got := nextLine(t, out); got != "hog exit 137" {
			t.Errorf("the process growing past 32 MiB: %q, want it SIGKILLed (hog exit 137)", got)
		}
		if n := cgroupKeyValue(t, dir, "memory.oom_control", "oom_kill"); n < 1 {
			t.Errorf("memory.oom_control oom_kill = %d, want the OOM killer to have acted in the container's cgroup", n)
		}
		// The peak stayed within the limit. (memory.failcnt is not used:
		// this 6.x kernel leaves it 0 on v1 even after an OOM kill.)
		if peak, _ := strconv.ParseInt(cgroupValue(t, dir, "memory.max_usage_in_bytes"), 10, 64); peak > limit || peak == 0 {
			t.Errorf("memory.max_usage_in_bytes = %d, want at most the limit %d", peak, limit)
		}
		if st := mustState(t, b.id); st.Status != "running" {
			t.Errorf("the container's init (not the hog) should still run: %+v", st)
		}
	})

	t.Run("oom killer disabled", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `echo started; `+hog+`; echo "hog exit $?"; exec sleep 3600`)
		b.spec.Linux.Resources.Memory = &specs.LinuxMemory{
			Limit: ptr[int64](limit), Swap: ptr[int64](limit), DisableOOMKiller: ptr(true),
		}
		out := b.createPiped()
		dir := b.cgroupDir("memory")
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

// 2. pids.limit lands in pids.max and stops forks past it: the init plus
// limit-1 background sleeps fill the cgroup, the next fork fails.
func TestCgroupPids(t *testing.T) {
	requireHierarchy(t, "pids")
	const limit = 10

	t.Run("value", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		b.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: ptr[int64](limit)}
		b.create()
		if got := cgroupValue(t, b.cgroupDir("pids"), "pids.max"); got != "10" {
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
// their files; the quota throttles a busy loop; the cpuset confines the
// process; an unset cpuset is the parent's.
func TestCgroupCPU(t *testing.T) {
	requireHierarchy(t, "cpu")
	requireHierarchy(t, "cpuset")

	t.Run("values", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `grep Cpus_allowed_list /proc/self/status; grep Mems_allowed_list /proc/self/status`)
		b.spec.Linux.Resources.CPU = &specs.LinuxCPU{
			Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000),
			Cpus: "0", Mems: "0",
		}
		out := b.createPiped()
		cpu, cpuset := b.cgroupDir("cpu"), b.cgroupDir("cpuset")
		for _, c := range []struct{ dir, file, want string }{
			{cpu, "cpu.shares", "512"},
			{cpu, "cpu.cfs_quota_us", "50000"},
			{cpu, "cpu.cfs_period_us", "100000"},
			{cpuset, "cpuset.cpus", "0"},
			{cpuset, "cpuset.mems", "0"},
		} {
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
		dir := b.cgroupDir("cpu")
		// A busy loop allowed 10 ms of every 100 ms is throttled in its
		// first period; the kernel counts it.
		waitUntil(t, "cpu.stat nr_throttled > 0 for a busy loop under a 10% quota", func() bool {
			return cgroupKeyValue(t, dir, "cpu.stat", "nr_throttled") > 0
		})
	})

	t.Run("cpuset inherited", func(t *testing.T) {
		b := newBundle(t, "sh", "-c", `grep Cpus_allowed_list /proc/self/status`)
		b.spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: ptr[uint64](512)} // no cpus, no mems
		out := b.createPiped()
		root := filepath.Join(cgroupMountRoot, "cpuset")
		dir := b.cgroupDir("cpuset")
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if got, want := cgroupValue(t, dir, f), cgroupValue(t, root, f); got != want {
				t.Errorf("%s = %q, want the root's %q", f, got, want)
			}
		}
		mustRun(t, "start", b.id)
		if got, want := nextLine(t, out), "Cpus_allowed_list:\t"+cgroupValue(t, root, "cpuset.cpus"); got != want {
			t.Errorf("in the container: %q, want %q", got, want)
		}
	})
}

// 4. Device rules: a character device outside the allowed list can be made
// (mknod is allowed for all) but not opened; an allow rule opens it for the
// access it names only. /dev/kmsg (1:11) is the victim: opening it for
// writing needs no privilege, for reading CAP_SYSLOG (given here), so the
// device cgroup is the only thing that can refuse.
func TestCgroupDevices(t *testing.T) {
	requireHierarchy(t, "devices")
	const script = `mknod /dev/victim c 1 11 && echo "mknod ok"
		( exec 3>/dev/victim ) 2>/dev/null && echo "write ok" || echo "write refused"
		( exec 3</dev/victim ) 2>/dev/null && echo "read ok" || echo "read refused"
		( exec 3<>/dev/null ) && echo "null ok"
		( exec 3</dev/urandom ) && echo "urandom ok"
		( exec 3</dev/victim ) 2>&1 | grep -q "Operation not permitted" && echo "EPERM"`
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
			b := newBundle(t, "sh", "-c", script)
			caps := append(slices.Clone(defaultCaps), "CAP_MKNOD", "CAP_SYSLOG")
			b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
			b.spec.Linux.Resources.Devices = append(b.spec.Linux.Resources.Devices, c.rules...)
			out := b.createPiped()
			list := lines(cgroupValue(t, b.cgroupDir("devices"), "devices.list"))
			if slices.Contains(list, "a *:* rwm") {
				t.Fatalf("devices.list allows everything: %q", list)
			}
			for _, rule := range []string{"c 1:3 rwm", "c 1:9 rwm", "c *:* m", c.listed} {
				if rule != "" && !slices.Contains(list, rule) {
					t.Errorf("devices.list %q lacks %q", list, rule)
				}
			}
			if c.listed == "" && slices.ContainsFunc(list, func(r string) bool { return strings.HasPrefix(r, "c 1:11 ") }) {
				t.Errorf("devices.list %q allows 1:11 without a rule for it", list)
			}
			mustRun(t, "start", b.id)
			var got []string
			for range c.want {
				got = append(got, nextLine(t, out))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("in the container: %q, want %q (devices.list %q)", got, c.want, list)
			}
		})
	}
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

// 5. blkio: the weight lands in blkio.weight or, under BFQ, in
// blkio.bfq.weight; a kernel with neither refuses the setting at create. A
// read throttle for the root disk lands in blkio.throttle.read_bps_device.
func TestCgroupBlkio(t *testing.T) {
	requireHierarchy(t, "blkio")

	t.Run("weight", func(t *testing.T) {
		b := newBundle(t, "sleep", "3600")
		// Which weight file a new blkio cgroup has, from a probe of our own.
		probe := filepath.Join(cgroupMountRoot, "blkio", cgroupParent, b.id+"-probe")
		if err := os.MkdirAll(probe, 0o755); err != nil {
			t.Fatal(err)
		}
		var weightFile string
		for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
			if !gone(filepath.Join(probe, f)) {
				weightFile = f
				break
			}
		}
		if err := rmdirCgroup(probe); err != nil {
			t.Fatal(err)
		}
		b.spec.Linux.Resources.BlockIO = &specs.LinuxBlockIO{Weight: ptr[uint16](500)}
		if weightFile == "" {
			t.Log("this kernel has neither blkio.weight nor blkio.bfq.weight: create must refuse the weight")
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
		b.create()
		// blkio.weight holds the number; blkio.bfq.weight "default N".
		got := strings.Fields(cgroupValue(t, b.cgroupDir("blkio"), weightFile))
		if len(got) == 0 || got[len(got)-1] != "500" {
			t.Errorf("%s = %q, want weight 500", weightFile, got)
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
		if got, want := cgroupValue(t, b.cgroupDir("blkio"), "blkio.throttle.read_bps_device"), dev+" 1048576"; got != want {
			t.Errorf("blkio.throttle.read_bps_device = %q, want %q", got, want)
		}
	})
}

// 6. A resource whose controller this host lacks is refused at create with
// one line naming the field and the controller, and nothing is left: no
// state, no cgroup directory in any hierarchy. runc 1.1 skips such a
// resource silently, so this is hull's promise (design §5).
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
			for _, h := range cgroupHierarchies() {
				for _, ctrl := range strings.Split(filepath.Base(h), ",") {
					if ctrl == c.controller {
						t.Skipf("this host mounts the %s controller at %s", c.controller, h)
					}
				}
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

// procCgroups parses /proc/<pid>/cgroup into hierarchy mount name → path
// ("unified" for the cgroup2 line, "systemd" for name=systemd).
func procCgroups(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range lines(string(data)) {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			t.Fatalf("/proc/%d/cgroup: %q", pid, l)
		}
		name := strings.TrimPrefix(parts[1], "name=")
		if name == "" {
			name = "unified"
		}
		out[name] = parts[2]
	}
	return out
}

// 7. After create the init is in the container's cgroup in every
// hierarchy: each v1 controller, name=systemd and the cgroup2 tree, which
// tracks the container's processes on a hybrid host.
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
	own := procCgroups(t, pid)
	for _, h := range hiers {
		name := filepath.Base(h)
		dir := b.cgroupDir(name)
		if pids := cgroupPids(t, dir); !slices.Contains(pids, pid) {
			t.Errorf("%s/cgroup.procs = %v, want the init %d", dir, pids, pid)
		}
		if own[name] != b.spec.Linux.CgroupsPath {
			t.Errorf("/proc/%d/cgroup puts it at %q in %s, want %q", pid, own[name], name, b.spec.Linux.CgroupsPath)
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
		for _, h := range cgroupHierarchies() {
			if d := b.cgroupDir(filepath.Base(h)); gone(d) {
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

// 9. pause freezes every process (the v1 freezer says FROZEN, a writer
// stops writing, state says paused) and resume thaws them; pausing a paused
// or stopped container and resuming a running one are refused.
func TestCgroupPauseResume(t *testing.T) {
	requireHierarchy(t, "freezer")
	host := tempDir(t)
	count := filepath.Join(host, "count")
	// A writer and a child that writes too, so the whole tree must freeze.
	// They append without pause (builtins only: a few MB a minute), so any
	// runtime call in between shows growth unless they are frozen.
	b := newBundle(t, "sh", "-c", `writer() { while :; do echo "$1" >> /data/count; done; }
		writer child & writer init`)
	b.addMount(specs.Mount{Destination: "/data", Type: "bind", Source: host, Options: []string{"rbind", "rw"}})
	st := b.start()
	freezer := b.cgroupDir("freezer")
	waitUntil(t, "the container writing", func() bool { return fileSize(t, count) > 0 })

	mustRun(t, "pause", b.id)
	if got := mustState(t, b.id); got.Status != "paused" || got.Pid != st.Pid {
		t.Errorf("state after pause: %+v, want paused with pid %d", got, st.Pid)
	}
	if got := cgroupValue(t, freezer, "freezer.state"); got != "FROZEN" {
		t.Errorf("freezer.state = %s after pause, want FROZEN", got)
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
	if got := cgroupValue(t, freezer, "freezer.state"); got != "THAWED" {
		t.Errorf("freezer.state = %s after resume, want THAWED", got)
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
	requireHierarchy(t, "freezer")
	b, st := startedContainer(t)
	mustRun(t, "pause", b.id)
	msg := mustFailExec(t, b.id, "true")
	t.Logf("exec into a paused container: %s", msg)
	if !strings.Contains(msg, "paused") {
		t.Errorf("error %q does not say the container is paused", msg)
	}

	freezer := b.cgroupDir("freezer")
	out, done := backgroundRuntime(t, "exec", "--ignore-paused", b.id, "echo", "ran")
	// The exec'd process joins the frozen cgroup and freezes there: resume
	// only once it is in, so it is the flag that let it through.
	waitUntil(t, "the exec'd process in the container's freezer cgroup", func() bool {
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

// containerProcs maps the pids in the container's cgroup (the pids
// hierarchy, or the unified one) to their command lines.
func containerProcs(t *testing.T, b *bundle) map[int]string {
	t.Helper()
	dir := b.cgroupDir("pids")
	if gone(filepath.Join(cgroupMountRoot, "pids")) {
		dir = b.cgroupDir("unified")
	}
	out := map[int]string{}
	for _, p := range cgroupPids(t, dir) {
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
			if !isHull() {
				// runc 1.1.5 on a hybrid host resolves a relative path in the
				// cgroup2 hierarchy from its root, not from the caller's
				// cgroup, and removes only the container's directory.
				top := strings.Split(c.path, "/")[0]
				if c.path == "" {
					top = b.id
				}
				stray := filepath.Join(cgroupMountRoot, "unified", top)
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
			own := procCgroups(t, pid)
			for _, h := range cgroupHierarchies() {
				name := filepath.Base(h)
				if name == "unified" && !isHull() {
					t.Logf("not checked for %s: in the cgroup2 hierarchy it is at %q", filepath.Base(runtimeBin), own[name])
					continue
				}
				dir := filepath.Join(h, want)
				if pids := cgroupPids(t, dir); !slices.Contains(pids, pid) {
					t.Errorf("%s/cgroup.procs = %v, want the init %d", dir, pids, pid)
				}
				if own[name] != want {
					t.Errorf("/proc/%d/cgroup: %s at %q, want %q", pid, name, own[name], want)
				}
			}
			mustRun(t, "delete", "--force", b.id)
			for _, h := range cgroupHierarchies() {
				if d := filepath.Join(h, want); !gone(d) && (isHull() || filepath.Base(h) != "unified") {
					t.Errorf("%s is left after delete", d)
				}
			}
		})
	}
}

// createAsCaller runs `create` for b from a shell that first moves itself
// into the cgroup caller (made by makeCgroups) in every hierarchy.
func createAsCaller(t *testing.T, b *bundle, caller string) {
	t.Helper()
	var procs []string
	for _, h := range cgroupHierarchies() {
		procs = append(procs, filepath.Join(h, caller, "cgroup.procs"))
	}
	dir := scratch(t)
	// Files, not pipes: the container keeps the runtime's stdio open.
	outF, err := os.CreateTemp(dir, "stdout-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(dir, "stderr-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(errF.Name())
	defer errF.Close()
	ctx, cancel := context.WithTimeout(context.Background(), runtimeTimeout)
	defer cancel()
	rt := runtimeCommand(ctx, "create", "--bundle", b.dir, b.id)
	cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c",
		`for f in $CALLER_PROCS; do echo $$ > "$f" || exit 125; done; exec "$0" "$@"`}, rt.Args...)...)
	cmd.Env = append(rt.Env, "CALLER_PROCS="+strings.Join(procs, " "))
	cmd.Stdout, cmd.Stderr = outF, errF
	err = cmd.Run()
	stderr, _ := os.ReadFile(errF.Name())
	if ctx.Err() != nil {
		t.Fatalf("create from the caller's cgroup: no answer within %v (killed): %s", runtimeTimeout, stderr)
	}
	if code, _ := exitStatus(err); code != 0 {
		t.Fatalf("create from the caller's cgroup: exit status %d: %v: %s", code, err, stderr)
	}
}

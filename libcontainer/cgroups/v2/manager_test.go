package v2

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// These tests run on a fake hierarchy in a temporary directory: plain files
// stand for the control files (a write replaces the start of the file, and
// nothing reacts to it), so they check what hull reads and writes where,
// not what the kernel does with it. The kernel side is for the VM tests.

// tree makes files (path → content) under a new root.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// fakeManager manages root/a/b/c, hull having created b and c.
func fakeManager(t *testing.T, root string) (*Manager, *asm.Instructions) {
	rec := &cgroups.Record{
		Layout:  cgroups.Unified,
		Paths:   map[string]string{cgroups.UnifiedKey: filepath.Join(root, "a/b/c")},
		Created: map[string]string{cgroups.UnifiedKey: filepath.Join(root, "a/b")},
	}
	m := New(rec)
	m.root = root
	var prog asm.Instructions
	m.attach = func(insts asm.Instructions) error { prog = insts; return nil }
	return m, &prog
}

func TestCreateAndSet(t *testing.T) {
	root := tree(t, map[string]string{
		"cgroup.controllers":       "cpuset cpu io memory pids",
		"cgroup.subtree_control":   "memory pids",
		"a/cgroup.controllers":     "memory pids",
		"a/cgroup.subtree_control": "memory",
		// b exists in the fake only so that it has control files; the
		// record says hull creates it.
		"a/b/cgroup.controllers":     "memory pids",
		"a/b/cgroup.subtree_control": "",
	})
	m, prog := fakeManager(t, root)
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	if !cgroups.DirExists(m.Dir()) || m.Dir() != filepath.Join(root, "a/b/c") {
		t.Fatalf("Create did not make %s", m.Dir())
	}
	// In b, hull's own parent, every offered controller is enabled, so
	// that the container is accounted without limits too.
	bCtl := filepath.Join(root, "a/b/cgroup.subtree_control")
	if want := []string{bCtl + ": +memory", bCtl + ": +pids"}; !reflect.DeepEqual(m.Enabled(), want) {
		t.Errorf("Create enabled %q, want %q", m.Enabled(), want)
	}

	for f, v := range map[string]string{"memory.max": "", "memory.swap.max": "", "pids.max": "", "memory.high": ""} {
		os.WriteFile(filepath.Join(m.Dir(), f), []byte(v), 0o644)
	}
	os.WriteFile(bCtl, []byte("memory"), 0o644) // as if only memory were on in b
	m.enabled = nil
	warnings, err := m.Set(&specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr[int64](1 << 20), Swap: ptr[int64](2 << 20)},
		Pids:    &specs.LinuxPids{Limit: ptr[int64](64)},
		Unified: map[string]string{"memory.high": "900000"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"memory.max": "1048576", "memory.swap.max": "1048576", "pids.max": "64", "memory.high": "900000"} {
		if got := read(t, filepath.Join(m.Dir(), f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	// pids: on at the root already, missing in a (not hull's: reported)
	// and in b (hull's: not reported).
	aCtl := filepath.Join(root, "a/cgroup.subtree_control")
	if want := []string{aCtl + ": +pids", bCtl + ": +pids"}; !reflect.DeepEqual(m.Enabled(), want) {
		t.Errorf("Set enabled %q, want %q", m.Enabled(), want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "linux.resources.pids.limit: enabled the pids controller in "+aCtl) {
		t.Errorf("warnings %q: want one report of the pids controller enabled in %s", warnings, aCtl)
	}
	if len(*prog) == 0 {
		t.Errorf("no device program attached")
	}
}

func TestSetControllerMissing(t *testing.T) {
	root := tree(t, map[string]string{
		"cgroup.controllers":         "cpu memory pids",
		"cgroup.subtree_control":     "cpu memory pids",
		"a/cgroup.controllers":       "cpu memory pids",
		"a/cgroup.subtree_control":   "memory pids",
		"a/b/cgroup.controllers":     "memory pids",
		"a/b/cgroup.subtree_control": "",
		"a/b/c/":                     "",
	})
	m, _ := fakeManager(t, root)
	_, err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr[uint64](512)}}, nil)
	want := "linux.resources.cpu.shares: the cpu controller is not available in " + filepath.Join(root, "a/b/cgroup.controllers") +
		": enable it in the parent's cgroup.subtree_control (" + filepath.Join(root, "a/cgroup.subtree_control") + ")"
	if err == nil || err.Error() != want {
		t.Errorf("error\n %v\nwant\n %s", err, want)
	}
	_, err = m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1}}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.hugepageLimits[0].limit: the hugetlb controller is not available in "+filepath.Join(root, "cgroup.controllers")+": this kernel lacks it") {
		t.Errorf("a controller the root lacks: %v", err)
	}
}

func TestSetFileErrors(t *testing.T) {
	root := tree(t, map[string]string{
		"cgroup.controllers":         "io memory hugetlb",
		"cgroup.subtree_control":     "io memory hugetlb",
		"a/cgroup.controllers":       "io memory hugetlb",
		"a/cgroup.subtree_control":   "io memory hugetlb",
		"a/b/cgroup.controllers":     "io memory hugetlb",
		"a/b/cgroup.subtree_control": "io memory hugetlb",
		"a/b/c/io.weight":            "",
		"a/b/c/memory.max":           "",
		"a/b/c/hugetlb.2MB.max":      "",
		"a/b/c/sub/":                 "",
	})
	m, _ := fakeManager(t, root)
	dir := m.Dir()

	// No BFQ: the converted weight goes to io.weight. No rsvd file (before
	// 5.7): skipped. No memory.swap.max (no swap accounting) for -1: fine.
	_, err := m.Set(&specs.LinuxResources{
		BlockIO:        &specs.LinuxBlockIO{Weight: ptr[uint16](500)},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}},
		Memory:         &specs.LinuxMemory{Limit: ptr[int64](-1)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "io.weight")); got != "4950" {
		t.Errorf("io.weight = %q, want 4950", got)
	}

	for _, tc := range []struct {
		r    *specs.LinuxResources
		want string
	}{
		{&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1}}},
			"config.json: linux.resources.hugepageLimits[0].limit: this kernel has no hugetlb.1GB.max (no such hugepage size here"},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](100), Swap: ptr[int64](200)}},
			"config.json: linux.resources.memory.swap: this kernel has no memory.swap.max (no swap accounting"},
		{&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr[uint16](5)}},
			"config.json: linux.resources.blockIO.weight: this kernel has no io.bfq.weight (a weight outside 10-1000 needs the BFQ scheduler"},
		{&specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}},
			`linux.resources.unified["memory.high"]: the container's cgroup has no file memory.high`},
		{&specs.LinuxResources{Unified: map[string]string{"sub": "1"}},
			`linux.resources.unified["sub"]: ` + filepath.Join(dir, "sub") + " is not a control file"},
	} {
		_, err := m.Set(tc.r, nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("error\n %v\nwant it to start with\n %s", err, tc.want)
		}
	}

	// Per-device weights: to BFQ when it takes them, else to io.weight.
	wd := &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{
		{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: ptr[uint16](100)}}}}
	os.WriteFile(filepath.Join(dir, "io.bfq.weight"), []byte("100\n"), 0o644) // BFQ before 5.4
	if _, err := m.Set(wd, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "io.weight")); got != "8:0 910" {
		t.Errorf("old BFQ: io.weight = %q, want the converted per-device weight", got)
	}
	os.WriteFile(filepath.Join(dir, "io.bfq.weight"), []byte("default 100\n"), 0o644)
	if _, err := m.Set(wd, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(dir, "io.bfq.weight")); !strings.HasPrefix(got, "8:0 100") {
		t.Errorf("BFQ with per-device weights: io.bfq.weight = %q", got)
	}
	os.Remove(filepath.Join(dir, "io.bfq.weight"))

	// Device rules are checked before anything is written.
	_, err = m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "x", Access: "rwm"}}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.devices[0].type") {
		t.Errorf("bad device rule: %v", err)
	}
}

func TestSetKeepsQuotaAndChecksUsage(t *testing.T) {
	root := tree(t, map[string]string{
		"cgroup.controllers": "cpu memory", "cgroup.subtree_control": "cpu memory",
		"a/cgroup.controllers": "cpu memory", "a/cgroup.subtree_control": "cpu memory",
		"a/b/cgroup.controllers": "cpu memory", "a/b/cgroup.subtree_control": "cpu memory",
		"a/b/c/cpu.max":        "20000 100000\n",
		"a/b/c/memory.current": "5000\n",
		"a/b/c/memory.max":     "",
	})
	m, _ := fakeManager(t, root)
	if _, err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr[uint64](50000)}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(m.Dir(), "cpu.max")); !strings.HasPrefix(got, "20000 50000") {
		t.Errorf("a period alone: cpu.max = %q, want the quota kept (20000 50000)", got)
	}
	_, err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](4096), CheckBeforeUpdate: ptr(true)}}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.memory.limit: 4096 is at or below the container's memory usage 5000") {
		t.Errorf("checkBeforeUpdate: %v", err)
	}
	if _, err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr[int64](8192), CheckBeforeUpdate: ptr(true)}}, nil); err != nil {
		t.Errorf("checkBeforeUpdate above usage: %v", err)
	}
}

func TestJoin(t *testing.T) {
	root := tree(t, map[string]string{"a/b/c/cgroup.procs": "", "a/b/c/sub/cgroup.procs": ""})
	m, _ := fakeManager(t, root)
	if err := m.Join(42, nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(m.Dir(), "cgroup.procs")); got != "42" {
		t.Errorf("cgroup.procs = %q", got)
	}
	if err := m.Join(43, map[string]string{"": "sub"}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(m.Dir(), "sub/cgroup.procs")); got != "43" {
		t.Errorf("sub/cgroup.procs = %q", got)
	}
	for sub, want := range map[string]string{
		"../x":    "must stay inside",
		"missing": "the sub-cgroup must exist",
	} {
		if err := m.Join(1, map[string]string{"": sub}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Join into %q: %v, want %q", sub, err, want)
		}
	}
	if err := m.Join(1, map[string]string{"memory": "sub"}); err == nil || !strings.Contains(err.Error(), "give the sub-cgroup as PATH, without a controller") {
		t.Errorf("Join with a controller: %v", err)
	}
}

func TestFreezePausedPids(t *testing.T) {
	root := tree(t, map[string]string{
		"a/b/c/cgroup.freeze": "0\n",
		"a/b/c/cgroup.events": "populated 1\nfrozen 1\n",
		"a/b/c/cgroup.procs":  "12\n34\n",
	})
	m, _ := fakeManager(t, root)
	if m.Paused() {
		t.Fatal("paused before Freeze")
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if !m.Paused() {
		t.Error("not paused after Freeze")
	}
	os.WriteFile(filepath.Join(m.Dir(), "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if m.Paused() {
		t.Error("paused after Thaw")
	}
	pids, err := m.Pids()
	if err != nil || !reflect.DeepEqual(pids, []int{12, 34}) {
		t.Errorf("Pids = %v, %v", pids, err)
	}
	os.RemoveAll(m.Dir())
	if pids, err := m.Pids(); err != nil || pids != nil {
		t.Errorf("Pids of a removed cgroup = %v, %v; want none", pids, err)
	}
	if err := m.Freeze(); err == nil {
		t.Error("Freeze of a removed cgroup succeeded")
	}
}

func TestDestroy(t *testing.T) {
	// Empty directories stand for cgroups (a real one is removed with its
	// control files; a plain one only when empty).
	root := tree(t, map[string]string{"a/b/c/sub/": ""})
	m, _ := fakeManager(t, root)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"a/b/c", "a/b"} {
		if cgroups.DirExists(filepath.Join(root, d)) {
			t.Errorf("%s is left", d)
		}
	}
	if !cgroups.DirExists(filepath.Join(root, "a")) {
		t.Error("a, which hull did not create, is gone")
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("a second Destroy: %v", err)
	}

	// A parent hull created that another container now uses stays.
	root = tree(t, map[string]string{"a/b/c/": "", "a/b/other/": ""})
	m, _ = fakeManager(t, root)
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if cgroups.DirExists(filepath.Join(root, "a/b/c")) || !cgroups.DirExists(filepath.Join(root, "a/b/other")) {
		t.Error("want c removed and the shared parent b kept")
	}
}

func TestStats(t *testing.T) {
	root := tree(t, map[string]string{
		"a/b/c/cpu.stat":                 "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 5\nnr_throttled 2\nthrottled_usec 7\n",
		"a/b/c/memory.current":           "4096\n",
		"a/b/c/memory.max":               "8192\n",
		"a/b/c/memory.peak":              "6000\n",
		"a/b/c/memory.events":            "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n",
		"a/b/c/memory.stat":              "anon 1000\nfile 2000\n",
		"a/b/c/memory.swap.current":      "100\n",
		"a/b/c/memory.swap.max":          "max\n",
		"a/b/c/pids.current":             "3\n",
		"a/b/c/pids.max":                 "max\n",
		"a/b/c/io.stat":                  "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n",
		"a/b/c/hugetlb.2MB.current":      "0\n",
		"a/b/c/hugetlb.2MB.events":       "max 4\n",
		"a/b/c/hugetlb.2MB.max":          "max\n",
		"a/b/c/hugetlb.2MB.rsvd.current": "2097152\n",
		"a/b/c/hugetlb.1GB.current":      "0\n",
	})
	m, _ := fakeManager(t, root)
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := &cgroups.Stats{
		CPU: cgroups.CPU{
			Usage:      cgroups.CPUUsage{Total: 100000, User: 60000, Kernel: 40000},
			Throttling: cgroups.Throttling{Periods: 5, ThrottledPeriods: 2, ThrottledTime: 7000},
		},
		Memory: cgroups.Memory{
			Cache:   2000,
			Usage:   cgroups.MemoryEntry{Usage: 4096, Limit: 8192, Max: 6000, Failcnt: 3},
			Swap:    cgroups.MemoryEntry{Usage: 4196, Limit: math.MaxUint64},
			Raw:     map[string]uint64{"anon": 1000, "file": 2000},
			OOM:     2,
			OOMKill: 1,
		},
		Pids: cgroups.Pids{Current: 3},
		Blkio: cgroups.Blkio{
			IoServiceBytesRecursive: []cgroups.BlkioEntry{{Major: 8, Op: "Read", Value: 10}, {Major: 8, Op: "Write", Value: 20}},
			IoServicedRecursive:     []cgroups.BlkioEntry{{Major: 8, Op: "Read", Value: 1}, {Major: 8, Op: "Write", Value: 2}},
		},
		Hugetlb: map[string]cgroups.Hugetlb{"2MB": {Usage: 2097152, Failcnt: 4}, "1GB": {}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Stats:\n got %+v\nwant %+v", s, want)
	}

	// A limited swap is reported as memory+swap, as v1 has it.
	os.WriteFile(filepath.Join(m.Dir(), "memory.swap.max"), []byte("1000\n"), 0o644)
	os.Remove(filepath.Join(m.Dir(), "pids.current"))
	os.WriteFile(filepath.Join(m.Dir(), "cgroup.procs"), []byte("1\n2\n"), 0o644)
	s, _ = m.Stats()
	if s.Memory.Swap.Limit != 9192 || s.Pids.Current != 2 {
		t.Errorf("swap limit %d (want 9192), pids without the controller %d (want 2)", s.Memory.Swap.Limit, s.Pids.Current)
	}
}

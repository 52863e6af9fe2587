package cgroups

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const hybridMountinfo = `23 1 0:21 / /sys rw - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridSelf = `4:memory:/process_api/abc
2:cpuacct:/
1:cpu:/
9:name=systemd:/
0::/
`

func TestParseHybrid(t *testing.T) {
	h, err := parse([]byte(hybridMountinfo), []byte(hybridSelf))
	if err != nil {
		t.Fatal(err)
	}
	if h.Layout != Hybrid {
		t.Fatalf("layout = %s, want hybrid", h.Layout)
	}
	var keys []string
	for _, hy := range h.Hierarchies {
		keys = append(keys, hy.Key)
	}
	want := []string{"cpu", "cpuacct", "memory", "name=systemd", UnifiedKey}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	if h.Hierarchies[2].Own != "/process_api/abc" {
		t.Fatalf("own memory cgroup = %q", h.Hierarchies[2].Own)
	}
}

func TestParseLayouts(t *testing.T) {
	unified := "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n"
	h, err := parse([]byte(unified), []byte("0::/user.slice\n"))
	if err != nil || h.Layout != Unified || h.Hierarchies[0].Own != "/user.slice" {
		t.Fatalf("unified: %+v, %v", h, err)
	}
	legacy := "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
	h, err = parse([]byte(legacy), []byte("1:cpu,cpuacct:/\n"))
	if err != nil || h.Layout != Legacy || h.Hierarchies[0].Key != "cpu,cpuacct" || !h.Hierarchies[0].Has("cpuacct") {
		t.Fatalf("legacy: %+v, %v", h, err)
	}
	if _, err := parse([]byte("1 0 0:1 / / rw - ext4 /dev/vda rw\n"), nil); err == nil {
		t.Fatal("no cgroup mounts: want an error")
	}
}

func TestResolve(t *testing.T) {
	mnt := t.TempDir()
	for _, d := range []string{"memory/process_api/abc", "cpu/existing/c"} {
		if err := os.MkdirAll(filepath.Join(mnt, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h := &Host{Layout: Legacy, Hierarchies: []Hierarchy{
		{Key: "memory", Mount: filepath.Join(mnt, "memory"), Root: "/", Own: "/process_api/abc"},
		{Key: "cpu", Mount: filepath.Join(mnt, "cpu"), Root: "/", Own: "/"},
	}}
	rec, err := h.Resolve("", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Paths["memory"]; got != filepath.Join(mnt, "memory/process_api/abc/c1") {
		t.Errorf("empty path, memory = %s", got)
	}
	rec, err = h.Resolve("/existing/c", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Created["cpu"]; ok {
		t.Errorf("an existing directory is recorded as created: %v", rec.Created)
	}
	if got := rec.Created["memory"]; got != filepath.Join(mnt, "memory/existing") {
		t.Errorf("topmost created in memory = %s", got)
	}
	dirs := rec.Dirs("memory")
	want := []string{filepath.Join(mnt, "memory/existing/c"), filepath.Join(mnt, "memory/existing")}
	if !reflect.DeepEqual(dirs, want) {
		t.Errorf("Dirs = %v, want %v", dirs, want)
	}
	if rec.Dirs("cpu") != nil {
		t.Errorf("Dirs of a pre-existing cgroup = %v, want none", rec.Dirs("cpu"))
	}
	for _, bad := range []string{"/a/../../b", "/"} {
		if _, err := h.Resolve(bad, "c1"); err == nil {
			t.Errorf("Resolve(%q) accepted", bad)
		}
	}
}

// A cgroup that is gone has no process. (Removal while its events are read,
// ENODEV, needs a real cgroup: the systemd VM tests meet it.)
func TestWaitUnpopulatedGone(t *testing.T) {
	if err := WaitUnpopulated(filepath.Join(t.TempDir(), "gone"), time.Second); err != nil {
		t.Fatalf("missing cgroup: %v", err)
	}
}

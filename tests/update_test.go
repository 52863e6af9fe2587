package tests

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// update changes a running container's limits, from flags and from a
// resources JSON on stdin (docker's form), and the new values are in force.
func TestUpdate(t *testing.T) {
	b, st := startedContainer(t)
	mustRun(t, "update", "--memory", "64m", "--pids-limit", "20", b.id)
	if got := pidControlFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
		t.Errorf("memory limit after update --memory 64m = %q", got)
	}
	if got := pidControlFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "20" {
		t.Errorf("pids.max after update --pids-limit 20 = %q", got)
	}
	cmd := runtimeCommand(context.Background(), "update", "--resources", "-", b.id)
	cmd.Stdin = strings.NewReader(`{"pids": {"limit": 7}}`)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update --resources -: %v: %s", err, out)
	}
	if got := pidControlFile(t, st.Pid, "pids", "pids.max", "pids.max"); got != "7" {
		t.Errorf("pids.max after update --resources - = %q", got)
	}
	if got := pidControlFile(t, st.Pid, "memory", "memory.limit_in_bytes", "memory.max"); got != "67108864" {
		t.Errorf("memory limit changed by an update that did not name it: %q", got)
	}
	if _, stderr, code := run(t, "update", "--memory", "lots", b.id); code == 0 || !strings.Contains(stderr, "--memory") {
		t.Errorf("update --memory lots: exit %d, %q; want a refusal naming the flag", code, stderr)
	}
}

// pidControlFile reads a control file of pid's cgroup: the v1 controller's
// file, or the v2 one on a unified host.
func pidControlFile(t *testing.T, pid int, controller, v1File, v2File string) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(data)) {
		parts := strings.SplitN(l, ":", 3)
		var path string
		switch {
		case parts[1] == "" && unifiedHost():
			path = filepath.Join("/sys/fs/cgroup", parts[2], v2File)
		case parts[1] == controller:
			path = filepath.Join("/sys/fs/cgroup", controller, parts[2], v1File)
		default:
			continue
		}
		v, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(v))
	}
	t.Fatalf("no %s cgroup for pid %d", controller, pid)
	return ""
}

// unifiedHost reports whether /sys/fs/cgroup is itself the cgroup2 mount.
func unifiedHost() bool {
	var st syscall.Statfs_t
	return syscall.Statfs("/sys/fs/cgroup", &st) == nil && st.Type == 0x63677270 // CGROUP2_SUPER_MAGIC
}

package tests

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A container's cgroup outliving what is expected of it: shared parents
// and processes left after the init exited.

// A parent directory that create made for one container and a second
// container then shares: deleting the first must succeed and leave the
// second whole.
func TestCgroupDeleteSharedParent(t *testing.T) {
	requireSuite(t)
	// a's create makes the parent; b is created in it too.
	a := newBundle(t, "sleep", "3600")
	b := newBundle(t, "sleep", "3600")
	shared := cgroupParent + "/" + a.id + "-shared"
	t.Cleanup(func() {
		run(t, "delete", "--force", b.id)
		run(t, "delete", "--force", a.id)
		removeEverywhere(t, shared) // runc leaves the parent
	})
	a.spec.Linux.CgroupsPath = shared + "/a"
	b.spec.Linux.CgroupsPath = shared + "/b"
	a.start()
	st := b.start()
	if _, stderr, code := run(t, "delete", "--force", a.id); code != 0 {
		t.Errorf("delete --force of a container whose parent cgroup a sibling shares: exit status %d: %s", code, stderr)
		if left, _, ok := queryState(t, a.id); ok {
			t.Errorf("and the container is left as %q", left.Status)
		}
	}
	a.assertNoCgroup()
	if now := mustState(t, b.id); now.Status != "running" || now.Pid != st.Pid {
		t.Errorf("the sibling after delete: %+v, want running with pid %d", now, st.Pid)
	}
	for _, d := range b.cgroupDirs() {
		if !slices.Contains(cgroupPids(t, d), st.Pid) {
			t.Errorf("the sibling's %s lost its init %d", d, st.Pid)
		}
	}
	mustRun(t, "delete", "--force", b.id)
	b.assertNoCgroup()
}

// Once the init of a container in the host's pid namespace has exited, its
// children are still in the cgroup; containerd's runc shim then calls
// `kill --all ID KILL` to end them (it does so whenever the config has no
// pid namespace), and runc 1.1 signals the cgroup's processes although the
// container is stopped.
func TestCgroupKillAllAfterInitExit(t *testing.T) {
	requireSuite(t)
	b := newBundle(t, "sh", "-c", `sleep 1000 & echo "child $!"`)
	b.removeNamespace(specs.PIDNamespace)
	out := b.createPiped()
	st := mustState(t, b.id)
	mustRun(t, "start", b.id)
	child, err := strconv.Atoi(strings.TrimPrefix(nextLine(t, out), "child "))
	if err != nil {
		t.Fatal(err)
	}
	fd := holdPid(t, child)
	waitStopped(t, b.id, st.Pid)
	// $! is printed once the child is forked, maybe before it execs sleep.
	waitUntil(t, fmt.Sprintf("the child %d as sleep 1000 in the container's cgroup after its init exited", child), func() bool {
		procs := containerProcs(t, b)
		if _, ok := procs[child]; !ok {
			t.Fatalf("container's cgroup after its init exited: %v, want the child %d", procs, child)
		}
		return procs[child] == "sleep 1000"
	})
	mustRun(t, "kill", "--all", b.id, "KILL")
	if !pidfdExited(fd, waitTimeout) {
		t.Errorf("kill --all KILL after the init exited: child %d still alive", child)
	}
	mustRun(t, "delete", b.id)
	b.assertNoCgroup()
}

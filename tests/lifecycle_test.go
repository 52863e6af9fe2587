package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// trapTerm is a container process that exits on SIGTERM (a pid namespace's
// init only receives the signals it has a handler for) and says "ready" once
// the handler is in place.
var trapTerm = []string{"sh", "-c", `trap "exit 0" TERM; echo ready; sleep 3600 & wait`}

// The whole OCI lifecycle: create → created → start → running → kill →
// stopped → delete → gone.
func TestLifecycle(t *testing.T) {
	b := newBundle(t, trapTerm...)
	pidFile := filepath.Join(b.dir, "init.pid")
	stdout := b.createPiped("--pid-file", pidFile)

	st := mustState(t, b.id)
	if st.Status != "created" || st.Pid <= 0 || st.ID != b.id || st.Bundle != b.dir {
		t.Fatalf("state after create = %+v, want status created, pid > 0, id %s, bundle %s", st, b.id, b.dir)
	}
	if st.OCIVersion == "" {
		t.Errorf("state has no ociVersion: %+v", st)
	}

	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9]+$`).Match(raw) {
		t.Errorf("pid file %q: want bare digits, no newline", raw)
	}
	if pid, _ := strconv.Atoi(string(raw)); pid != st.Pid {
		t.Errorf("pid file says %s, state says %d", raw, st.Pid)
	}

	mustRun(t, "start", b.id)
	running := waitStatus(t, b.id, "running")
	if running.Pid != st.Pid {
		t.Errorf("pid changed from %d to %d on start", st.Pid, running.Pid)
	}

	waitLine(t, stdout, "ready")
	mustRun(t, "kill", b.id) // SIGTERM by default
	waitStopped(t, b.id, st.Pid)

	mustRun(t, "delete", b.id)
	_, stderr, ok := queryState(t, b.id)
	if ok || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state after delete: ok=%v stderr=%q, want an error saying it does not exist", ok, stderr)
	}
}

// kill takes the signal by name, by name with SIG, and by number (containerd
// passes numbers, podman names).
func TestKillSignalForms(t *testing.T) {
	for _, sig := range []string{"KILL", "9", "SIGKILL"} {
		t.Run(sig, func(t *testing.T) {
			b, st := startedContainer(t)
			mustRun(t, "kill", b.id, sig)
			waitStopped(t, b.id, st.Pid)
			mustRun(t, "delete", b.id)
		})
	}
}

// kill --all signals every process of the container.
func TestKillAll(t *testing.T) {
	b, st := startedContainer(t)
	mustRun(t, "kill", "--all", b.id, "KILL")
	waitStopped(t, b.id, st.Pid)
	mustRun(t, "delete", b.id)
}

// delete --force removes a container whatever its state.
func TestDeleteForce(t *testing.T) {
	cases := map[string]func(t *testing.T) *bundle{
		"running": func(t *testing.T) *bundle { b, _ := startedContainer(t); return b },
		"created": func(t *testing.T) *bundle {
			b := newBundle(t, "sleep", "3600")
			b.create()
			return b
		},
		// A v1-frozen init cannot die of SIGKILL until thawed: delete
		// --force waited its 10 s bound and failed.
		"paused": func(t *testing.T) *bundle {
			b, _ := startedContainer(t)
			mustRun(t, "pause", b.id)
			return b
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			b := setup(t)
			pidfd, err := unix.PidfdOpen(mustState(t, b.id).Pid, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(pidfd)
			mustRun(t, "delete", "--force", b.id)
			if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
				t.Errorf("state after delete --force: ok=%v stderr=%q", ok, stderr)
			}
			if !pidfdExited(pidfd, 0) {
				t.Errorf("the container's init is still alive after delete --force returned")
			}
		})
	}
}

// list shows the containers of the --root, as a table, as JSON and as ids.
func TestList(t *testing.T) {
	b, st := startedContainer(t)

	table := lines(mustRun(t, "list"))
	if len(table) < 2 || strings.Join(strings.Fields(table[0]), " ") != "ID PID STATUS BUNDLE CREATED OWNER" {
		t.Fatalf("list table header: %q", table)
	}
	found := false
	for _, row := range table[1:] {
		f := strings.Fields(row)
		if len(f) >= 4 && f[0] == b.id {
			found = true
			if f[1] != strconv.Itoa(st.Pid) || f[2] != "running" || f[3] != b.dir {
				t.Errorf("list row %q, want pid %d, running, bundle %s", row, st.Pid, b.dir)
			}
		}
	}
	if !found {
		t.Errorf("list does not show %s:\n%s", b.id, strings.Join(table, "\n"))
	}

	var list []containerState
	out := mustRun(t, "list", "--format", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("list --format json: %v\n%s", err, out)
	}
	found = false
	for _, c := range list {
		if c.ID == b.id {
			found = true
			if c.Pid != st.Pid || c.Status != "running" || c.Bundle != b.dir {
				t.Errorf("list json entry %+v, want pid %d, running, bundle %s", c, st.Pid, b.dir)
			}
		}
	}
	if !found {
		t.Errorf("list --format json does not show %s: %s", b.id, out)
	}

	quiet := lines(mustRun(t, "list", "--quiet"))
	if !contains(quiet, b.id) {
		t.Errorf("list --quiet %q does not show %s", quiet, b.id)
	}
	for _, l := range quiet {
		if strings.ContainsAny(l, " \t") {
			t.Errorf("list --quiet line %q is not a bare id", l)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

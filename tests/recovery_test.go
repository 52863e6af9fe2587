package tests

// Recovery: what hull can still undo when its own records are damaged.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// delete --force cleans up a created container whose state.json is
// corrupt (design §9: runc 1.1.5 failed here and left its init and cgroups
// behind): the init, found by the pid recorded before the corruption, is
// killed and the state directory goes.
func TestDeleteForceTruncatedState(t *testing.T) {
	hullOnly(t)
	b := newBundle(t, "sleep", "3600")
	b.create()
	st := mustState(t, b.id)
	pidfd := holdPid(t, st.Pid)
	stateFile := filepath.Join(stateRoot, b.id, "state.json")
	if _, err := os.Stat(stateFile); err != nil {
		t.Fatalf("hull's state layout changed (<root>/<id>/state.json): %v", err)
	}
	if err := os.WriteFile(stateFile, []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, ok := queryState(t, b.id); ok {
		t.Errorf("state of a container with a corrupt state.json succeeded")
	} else {
		t.Logf("state: %s", strings.TrimSpace(stderr))
	}

	_, stderr, code := run(t, "delete", "--force", b.id)
	if code != 0 {
		t.Errorf("delete --force after a truncated state.json: exit status %d: %s", code, stderr)
	}
	if !pidfdExited(pidfd, waitTimeout) {
		t.Errorf("the container's init %d is still alive after delete --force", st.Pid)
	}
	if _, err := os.Stat(filepath.Join(stateRoot, b.id)); err == nil {
		t.Errorf("the state directory %s is still there after delete --force", filepath.Join(stateRoot, b.id))
	}
}

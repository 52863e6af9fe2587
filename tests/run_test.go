package tests

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// `run` is create + start + wait: the container's output reaches the
// runtime's stdout and its exit status becomes the runtime's.
func TestRunOutputAndExitCode(t *testing.T) {
	b := newBundle(t, "sh", "-c", "echo hello from inside; exit 3")
	stdout, stderr, code := b.run()
	if code != 3 {
		t.Fatalf("exit status %d, want 3 (stderr: %s)", code, stderr)
	}
	if stdout != "hello from inside\n" {
		t.Errorf("stdout %q, want %q", stdout, "hello from inside\n")
	}
}

// A container killed by a signal makes `run` exit with 128+signal, as a
// shell reports it.
func TestRunExitCodeOfSignal(t *testing.T) {
	b := newBundle(t, "sh", "-c", "kill -9 $$")
	// Without a pid namespace: the kernel ignores a SIGKILL that a
	// namespace's init sends to itself, so sh must not be pid 1.
	b.removeNamespace(specs.PIDNamespace)
	_, stderr, code := b.run()
	if code != 128+9 {
		t.Fatalf("exit status %d, want 137 (stderr: %s)", code, stderr)
	}
}

// `run --detach` returns once the container runs, leaving it running.
func TestRunDetach(t *testing.T) {
	b := newBundle(t, "sleep", "3600")
	b.write()
	mustRun(t, "run", "--detach", "--bundle", b.dir, b.id)
	st := mustState(t, b.id)
	if st.Status != "running" {
		t.Fatalf("status %q after run --detach, want running", st.Status)
	}
	mustRun(t, "kill", b.id, "KILL")
	waitStopped(t, b.id, st.Pid)
	mustRun(t, "delete", b.id)
	if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state after delete: ok=%v stderr=%q, want an error saying it does not exist", ok, stderr)
	}
}

// `run` of a terminal container without --console-socket, in the
// foreground, gives it a pty and copies between the pty and run's own stdio,
// as runc does; the exit status passes through.
func TestRunTerminalProxy(t *testing.T) {
	hullOnly(t) // runc needs a terminal on its own stdin for this
	b := newBundle(t, "sh", "-c", `test -t 0 && test -t 1 && echo "on a tty: $(tty)"; exit 4`)
	b.spec.Process.Terminal = true
	stdout, stderr, code := b.run()
	if code != 4 {
		t.Fatalf("exit status %d, want 4 (stderr: %s)", code, stderr)
	}
	if !strings.Contains(stdout, "on a tty: /dev/pts/") {
		t.Errorf("the container's output through the pty: %q, want it to see a tty", stdout)
	}
}

package tests

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Regression tests for runc's CVE classes (design §6), named after the CVE.
// CVE-2022-29162 (inheritable capabilities by default) is TestCapabilities'
// default-root case.

// CVE-2019-5736: the container overwrote the runtime's binary through
// /proc/<init>/exe. While a created container waits for start, its pid 1
// is still the runtime's own process; a process exec'd into the container
// must not be able to open that executable at all.
//
// hull's defence is an init that is non-dumpable until it execs the
// payload: the init's main thread already holds only the config's
// capabilities while it waits, so with the default config nothing but
// that stops the exec'd root process. runc 1.1.5 instead runs its init from
// a sealed memfd copy of itself, which the container may read.
func TestCVE_2019_5736_InitExeNotReachable(t *testing.T) {
	hullOnly(t)
	b := newBundle(t, "sleep", "3600")
	b.create()
	st := mustState(t, b.id)
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", st.Pid)); err == nil {
		t.Logf("pid 1 of the created container runs %s", exe)
	}
	stdout, stderr, code := run(t, "exec", b.id, "sh", "-c", "cat /proc/1/exe >/dev/null")
	if code == 0 {
		t.Fatalf("a process in the container read /proc/1/exe, the runtime's binary, while the container was created")
	}
	if !strings.Contains(stderr, "Permission denied") {
		t.Errorf("reading /proc/1/exe: exit status %d, want permission denied\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// cwdCheck prints cwd-inside when the process's working directory is
// reachable from its root (pwd -P finds it and names the same directory),
// and cwd-outside with a listing of .. otherwise.
const cwdCheck = `if p=$(pwd -P) && [ "$(stat -c %d:%i .)" = "$(stat -c %d:%i "$p")" ]; then
	echo "cwd-inside $p"
else
	echo "cwd-outside: pwd -P says '$p'"; ls -la ..
fi`

// checkCwdOutcome judges a run whose process was cwdCheck: refused by the
// runtime, or run inside the container; never outside.
func checkCwdOutcome(t *testing.T, stdout, stderr string, code int) {
	t.Helper()
	switch {
	case strings.Contains(stdout, "cwd-outside"):
		t.Errorf("the process's working directory is outside the container:\n%s", stdout)
	case strings.Contains(stdout, "cwd-inside"):
		if code != 0 {
			t.Errorf("exit status %d after the check ran (stderr: %s)", code, stderr)
		}
		t.Logf("ran inside the container: %s", strings.TrimSpace(stdout))
	case code == 0:
		t.Errorf("exit status 0 but the check printed nothing: stdout %q, stderr %q", stdout, stderr)
	default:
		t.Logf("refused (exit status %d): %s", code, strings.TrimSpace(stderr))
	}
}

// CVE-2024-21626: a runtime fd leaked into the init let process.cwd =
// /proc/self/fd/N put the process in a host directory. Whatever fds the
// runtime holds, the cwd is refused or lands inside the container.
func TestCVE_2024_21626_CwdThroughLeakedFd(t *testing.T) {
	for fd := 3; fd <= 8; fd++ {
		cwd := fmt.Sprintf("/proc/self/fd/%d", fd)
		t.Run(fmt.Sprintf("create-fd%d", fd), func(t *testing.T) {
			b := newBundle(t, "sh", "-c", cwdCheck)
			b.spec.Process.Cwd = cwd
			stdout, stderr, code := b.run()
			checkCwdOutcome(t, stdout, stderr, code)
		})
	}
	b, _ := startedContainer(t)
	for fd := 3; fd <= 8; fd++ {
		cwd := fmt.Sprintf("/proc/self/fd/%d", fd)
		t.Run(fmt.Sprintf("exec-fd%d", fd), func(t *testing.T) {
			stdout, stderr, code := run(t, "exec", "--cwd", cwd, b.id, "sh", "-c", cwdCheck)
			checkCwdOutcome(t, stdout, stderr, code)
		})
	}
}

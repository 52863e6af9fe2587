package tests

import (
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The init of a container is hull's C code alone when the parent can build
// the filesystem on a thread of its own (no user or time namespace, no hook
// that runs inside the container, no --no-pivot): a created container's
// init then has one thread. Otherwise the Go init builds it, and its
// runtime has several threads. Both must work the same from outside, which
// the rest of the suite checks.
func TestInitModel(t *testing.T) {
	hullOnly(t)
	for _, c := range []struct {
		name   string
		setup  func(b *bundle)
		goInit bool
	}{
		{"default config", func(*bundle) {}, false},
		{"terminal", func(b *bundle) { b.spec.Process.Terminal = true }, false},
		{"user namespace", func(b *bundle) {
			b.setNamespace(specs.UserNamespace, "")
			mapRootTo100000(b)
		}, true},
		{"createContainer hook", func(b *bundle) {
			b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "sleep", "3600")
			c.setup(b)
			if b.spec.Process.Terminal {
				sock, _ := consoleSocket(t)
				b.create("--console-socket", sock)
			} else {
				b.create()
			}
			pid := mustState(t, b.id).Pid
			threads := statusField(t, pid, "Threads")
			if c.goInit && threads == "1" {
				t.Errorf("the init (pid %d) has 1 thread: want the Go init", pid)
			}
			if !c.goInit && threads != "1" {
				t.Errorf("the init (pid %d) has %s threads: want the C init, with one", pid, threads)
			}
		})
	}
}

func statusField(t *testing.T, pid int, field string) string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return ""
}

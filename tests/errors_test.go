package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bad input: create fails with exit status 1 and a one-line error, and
// leaves nothing behind — no state, mount, process or cgroup — without any
// cleanup by the test.
func TestCreateBadInput(t *testing.T) {
	for _, c := range []struct {
		name string
		// breakIt spoils the bundle and returns the --bundle argument.
		breakIt func(b *bundle) string
		// want: substrings of which the error must contain one.
		want []string
		// hullWants: substrings hull's error must contain (it names the
		// config field, design §3).
		hullWants []string
	}{
		{
			name:    "missing bundle dir",
			breakIt: func(b *bundle) string { return filepath.Join(b.dir, "no-such-dir") },
		},
		{
			name:    "missing config.json",
			breakIt: func(b *bundle) string { return b.dir },
		},
		{
			name: "invalid JSON",
			breakIt: func(b *bundle) string {
				writeConfig(b, `{"ociVersion": "1.3.0", "process": {`)
				return b.dir
			},
		},
		{
			name: "empty process.args",
			breakIt: func(b *bundle) string {
				b.spec.Process.Args = nil
				b.write()
				return b.dir
			},
			hullWants: []string{"process.args"},
		},
		{
			name: "unknown namespace type",
			breakIt: func(b *bundle) string {
				b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
				b.write()
				return b.dir
			},
			hullWants: []string{"linux.namespaces["},
		},
		{
			// Engines map these words to exit status 127 (design §2), so
			// the failure must come at create, worded like runc's.
			name: "executable not in PATH",
			breakIt: func(b *bundle) string {
				b.spec.Process.Args = []string{"no-such-program"}
				b.write()
				return b.dir
			},
			want: []string{"executable file not found in $PATH", "no such file or directory"},
		},
		{
			name: "missing executable path",
			breakIt: func(b *bundle) string {
				b.spec.Process.Args = []string{"/bin/no-such-program"}
				b.write()
				return b.dir
			},
			want: []string{"no such file or directory"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t, "true")
			bundleArg := c.breakIt(b)
			msg := mustFail(t, "create", "--bundle", bundleArg, b.id)
			t.Logf("error: %s", msg)
			if len(c.want) > 0 && !containsAny(msg, c.want) {
				t.Errorf("error %q, want one of %q", msg, c.want)
			}
			b.assertNothingLeft()
			if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
				t.Errorf("state after a failed create: ok=%v stderr=%q", ok, stderr)
			}
			if len(c.hullWants) > 0 {
				hullOnly(t)
				if !containsAny(msg, c.hullWants) {
					t.Errorf("error %q does not name the field %q", msg, c.hullWants)
				}
			}
		})
	}
}

// writeConfig stores raw text as the bundle's config.json.
func writeConfig(b *bundle, text string) {
	b.t.Helper()
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), []byte(text), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// A second create with an id in use fails and leaves the first container
// as it was.
func TestCreateDuplicateID(t *testing.T) {
	b := newBundle(t, "sleep", "3600")
	b.create()
	before := mustState(t, b.id)
	mustFail(t, "create", "--bundle", b.dir, b.id)
	if after := mustState(t, b.id); after.Status != "created" || after.Pid != before.Pid {
		t.Errorf("first container after the duplicate create: %+v, want created with pid %d", after, before.Pid)
	}
}

// Every verb refuses an id that does not exist, saying so.
func TestUnknownID(t *testing.T) {
	b := newBundle(t, "true") // for the leak check only
	for _, verb := range [][]string{{"state"}, {"start"}, {"kill"}, {"kill", "KILL"}, {"delete"}} {
		t.Run(strings.Join(verb, "-"), func(t *testing.T) {
			args := append([]string{verb[0], b.id + "-missing"}, verb[1:]...)
			if msg := mustFail(t, args...); !strings.Contains(msg, "does not exist") {
				t.Errorf("%v: error %q, want it to say the container does not exist", args, msg)
			}
		})
	}
}

// Verbs refuse a container in the wrong state and leave it as it was.
func TestWrongState(t *testing.T) {
	t.Run("start stopped", func(t *testing.T) {
		b := stoppedContainer(t)
		mustFail(t, "start", b.id)
		if st := mustState(t, b.id); st.Status != "stopped" {
			t.Errorf("status %q, want stopped", st.Status)
		}
	})
	t.Run("kill stopped", func(t *testing.T) {
		b := stoppedContainer(t)
		mustFail(t, "kill", b.id, "KILL")
	})
	t.Run("start running", func(t *testing.T) {
		b, _ := startedContainer(t)
		mustFail(t, "start", b.id)
		if st := mustState(t, b.id); st.Status != "running" {
			t.Errorf("status %q, want running", st.Status)
		}
	})
	t.Run("delete running", func(t *testing.T) {
		b, _ := startedContainer(t)
		mustFail(t, "delete", b.id)
		if st := mustState(t, b.id); st.Status != "running" {
			t.Errorf("status %q, want running", st.Status)
		}
	})
}

// stoppedContainer creates and starts a container that exits at once, and
// waits for it to be stopped.
func stoppedContainer(t *testing.T) *bundle {
	t.Helper()
	b := newBundle(t, "true")
	b.create()
	pid := mustState(t, b.id).Pid
	mustRun(t, "start", b.id)
	waitStopped(t, b.id, pid)
	return b
}

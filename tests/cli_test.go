package tests

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// readPipe reads r to its end (every write end closed), within waitTimeout.
func readPipe(t *testing.T, r *os.File) string {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading the pipe: %v (a write end is still open somewhere)", err)
	}
	return string(data)
}

// --preserve-fds N hands the runtime's fds 3..3+N-1 to the process, for run
// and exec; without it they stay out (CVE-2024-21626 class).
func TestPreserveFds(t *testing.T) {
	const script = `echo via-fd3 >&3 2>/dev/null; if [ -e /proc/self/fd/3 ]; then echo fd3-open; else echo fd3-closed; fi`
	running, _ := startedContainer(t)
	for _, verb := range []string{"run", "exec"} {
		for _, preserve := range []bool{true, false} {
			name := verb + "-without"
			if preserve {
				name = verb + "-preserve-fds-1"
			}
			t.Run(name, func(t *testing.T) {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				var args []string
				if verb == "run" {
					b := newBundle(t, "sh", "-c", script)
					b.write()
					args = []string{"run", "--bundle", b.dir}
					if preserve {
						args = append(args, "--preserve-fds", "1")
					}
					args = append(args, b.id)
				} else {
					args = []string{"exec"}
					if preserve {
						args = append(args, "--preserve-fds", "1")
					}
					args = append(args, running.id, "sh", "-c", script)
				}
				stdout, stderr, code := runWith(t, runOpts{extraFiles: []*os.File{w}}, args...)
				w.Close()
				if code != 0 {
					t.Fatalf("%s: exit status %d: %s", verb, code, stderr)
				}
				got := readPipe(t, r)
				want, wantOut := "", "fd3-closed"
				if preserve {
					want, wantOut = "via-fd3\n", "fd3-open"
				}
				if got != want || strings.TrimSpace(stdout) != wantOut {
					t.Errorf("pipe got %q, process said %q; want %q and %s", got, strings.TrimSpace(stdout), want, wantOut)
				}
			})
		}
	}
}

// --version names hull and the runtime-spec version it implements, in
// runc's layout (tools parse it, design §11).
func TestVersion(t *testing.T) {
	requireSuite(t)
	hullOnly(t)
	for _, flag := range []string{"--version", "-v"} {
		out := mustRun(t, flag)
		l := lines(out)
		if len(l) == 0 || !strings.HasPrefix(l[0], "hull version ") {
			t.Errorf("%s: first line %q, want \"hull version ...\"", flag, out)
		}
		if !contains(l, "spec: "+specs.Version) {
			t.Errorf("%s: %q has no line \"spec: %s\"", flag, out, specs.Version)
		}
	}
}

// `spec` writes a config.json that `run` accepts once made non-interactive,
// and never overwrites one.
func TestSpec(t *testing.T) {
	b := newBundle(t) // for its directory, id and leak check
	mustRun(t, "spec", "--bundle", b.dir)
	path := filepath.Join(b.dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var typed specs.Spec
	if err := json.Unmarshal(data, &typed); err != nil {
		t.Fatalf("spec wrote invalid JSON: %v", err)
	}
	if typed.Process == nil || !typed.Process.Terminal || typed.Root == nil {
		t.Fatalf("default config: want a terminal process and a root: %s", data)
	}
	// Change only what a user would: no terminal, a command, the rootfs,
	// and a cgroup of this run's (never the caller's, design §1).
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	process := cfg["process"].(map[string]any)
	process["terminal"] = false
	process["args"] = []string{"sh", "-c", "echo spec-ok"}
	cfg["root"].(map[string]any)["path"] = rootfsDir
	cfg["linux"].(map[string]any)["cgroupsPath"] = cgroupParent + "/" + b.id
	edited, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeConfig(b, string(edited))
	stdout, stderr, code := run(t, "run", "--bundle", b.dir, b.id)
	if code != 0 || stdout != "spec-ok\n" {
		t.Errorf("run of the default config: exit status %d, stdout %q, want 0 and spec-ok (stderr: %s)", code, stdout, stderr)
	}

	t.Logf("error: %s", mustFail(t, "spec", "--bundle", b.dir))
	if after, _ := os.ReadFile(path); !bytes.Equal(after, edited) {
		t.Errorf("spec changed the existing config.json")
	}
}

// With --log F --log-format json a successful create logs no error line
// (containerd reports the last one as the failure, design §2).
func TestLogJSONSuccess(t *testing.T) {
	b := newBundle(t, "sleep", "3600")
	b.write()
	logFile := filepath.Join(b.dir, "log.json")
	mustRun(t, "--log", logFile, "--log-format", "json", "create", "--bundle", b.dir, b.id)
	data, err := os.ReadFile(logFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range lines(string(data)) {
		var entry struct {
			Level string `json:"level"`
		}
		if err := json.Unmarshal([]byte(l), &entry); err != nil {
			t.Errorf("log line is not JSON: %q", l)
		} else if entry.Level == "error" {
			t.Errorf("error line in the log of a successful create: %s", l)
		}
	}
}

// An unknown global flag is a one-line usage error with exit status 1.
func TestUnknownGlobalFlag(t *testing.T) {
	requireSuite(t)
	hullOnly(t) // runc prints its whole help
	if msg := mustFail(t, "--no-such-flag", "list"); !strings.Contains(msg, "no-such-flag") {
		t.Errorf("error %q does not name the flag", msg)
	}
}

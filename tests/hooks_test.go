package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Hooks run in the runtime's namespaces (here: the test's), so they are the
// host's /bin/sh writing into the test's directory.

// hookEnv is every hook's environment: hooks get only what the config says.
var hookEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}

// recordingHook is a hook that stores the state JSON it gets on stdin in
// dir/name.json.
func recordingHook(dir, name string) specs.Hook {
	return specs.Hook{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `cat > "$1"`, "sh", filepath.Join(dir, name+".json")},
		Env:  hookEnv,
	}
}

// failingHook is a hook that exits with status 3.
var failingHook = specs.Hook{
	Path: "/bin/sh",
	Args: []string{"sh", "-c", "echo hook-failed >&2; exit 3"},
	Env:  hookEnv,
}

// hookState reads what recordingHook stored; ok is false when the hook has
// not run.
func hookState(t *testing.T, dir, name string) (st specs.State, ok bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if os.IsNotExist(err) {
		return st, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("hooks.%s got no state JSON on stdin: %v: %q", name, err, data)
	}
	return st, true
}

// Each kind of runtime-namespace hook runs at its step and gets the state
// with the container's id and its init's pid.
func TestHooksRun(t *testing.T) {
	dir := tempDir(t)
	b := newBundle(t, "sleep", "3600")
	b.spec.Hooks = &specs.Hooks{
		Prestart:      []specs.Hook{recordingHook(dir, "prestart")},
		CreateRuntime: []specs.Hook{recordingHook(dir, "createRuntime")},
		Poststart:     []specs.Hook{recordingHook(dir, "poststart")},
		Poststop:      []specs.Hook{recordingHook(dir, "poststop")},
	}
	checkHook := func(name string, pid int) {
		t.Helper()
		st, ok := hookState(t, dir, name)
		if !ok {
			t.Errorf("hooks.%s did not run", name)
			return
		}
		if st.ID != b.id || (pid != 0 && st.Pid != pid) {
			t.Errorf("hooks.%s got id %q pid %d, want id %q pid %d", name, st.ID, st.Pid, b.id, pid)
		}
		t.Logf("hooks.%s got status %q", name, st.Status)
	}

	b.create()
	init := mustState(t, b.id).Pid
	checkHook("prestart", init)
	checkHook("createRuntime", init)
	if _, ok := hookState(t, dir, "poststop"); ok {
		t.Errorf("hooks.poststop ran at create")
	}
	if isHull() {
		// runc 1.1.5 runs poststart at the end of create (design §9).
		if _, ok := hookState(t, dir, "poststart"); ok {
			t.Errorf("hooks.poststart ran before start")
		}
	}

	mustRun(t, "start", b.id)
	checkHook("poststart", init)

	mustRun(t, "kill", b.id, "KILL")
	waitStopped(t, b.id, init)
	mustRun(t, "delete", b.id)
	checkHook("poststop", 0)
}

// A failing prestart hook fails create, naming the hook, and leaves
// nothing behind.
func TestHookPrestartFails(t *testing.T) {
	dir := tempDir(t)
	b := newBundle(t, "sleep", "3600")
	b.spec.Hooks = &specs.Hooks{
		Prestart:  []specs.Hook{failingHook},
		Poststart: []specs.Hook{recordingHook(dir, "poststart")},
	}
	b.write()
	msg := mustFail(t, "create", "--bundle", b.dir, b.id)
	t.Logf("error: %s", msg)
	b.assertNothingLeft()
	if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state after the failed create: ok=%v stderr=%q", ok, stderr)
	}
	if _, ok := hookState(t, dir, "poststart"); ok {
		t.Errorf("hooks.poststart ran after a failing prestart hook")
	}
	hullOnly(t)
	if !strings.Contains(msg, "hooks.prestart[0]") {
		t.Errorf("error %q does not name hooks.prestart[0]", msg)
	}
}

// A failing poststop hook does not fail delete; the container is gone.
func TestHookPoststopFails(t *testing.T) {
	dir := tempDir(t)
	b := newBundle(t, "true")
	b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{failingHook, recordingHook(dir, "poststop")}}
	b.create()
	pid := mustState(t, b.id).Pid
	mustRun(t, "start", b.id)
	waitStopped(t, b.id, pid)
	_, stderr, code := run(t, "delete", b.id)
	if code != 0 {
		t.Errorf("delete with a failing poststop hook: exit status %d: %s", code, stderr)
	}
	if _, stderr, ok := queryState(t, b.id); ok || !strings.Contains(stderr, "does not exist") {
		t.Errorf("state after delete: ok=%v stderr=%q", ok, stderr)
	}
	// runc 1.1.5 stops at the first failing poststop hook; the spec says
	// to log the failure and go on.
	hullOnly(t)
	if _, ok := hookState(t, dir, "poststop"); !ok {
		t.Errorf("hooks.poststop[1] did not run after hooks.poststop[0] failed")
	}
}

// createContainer hooks run in the container's mount namespace before
// pivot_root (paths resolve in the runtime's filesystem), startContainer
// hooks inside the container after start; both get the init's host pid.
func TestHooksInContainer(t *testing.T) {
	b := newBundle(t)
	b.addMount(specs.Mount{Destination: "/hookout", Type: "tmpfs", Source: "tmpfs"})
	out := filepath.Join(b.spec.Root.Path, "hookout")
	record := func(file string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Env: hookEnv, Args: []string{"sh", "-c",
			`{ readlink /proc/self/ns/mnt; sed 's/.*"pid":\([0-9]*\).*/\1/'; echo; } > "$1"`, "sh", file}}
	}
	b.spec.Hooks = &specs.Hooks{
		CreateContainer: []specs.Hook{record(filepath.Join(out, "createContainer"))},
		StartContainer:  []specs.Hook{record("/hookout/startContainer")},
	}
	got := b.sh(`readlink /proc/self/ns/mnt; cat /hookout/createContainer /hookout/startContainer`)
	lines := strings.Fields(got)
	if len(lines) != 5 {
		t.Fatalf("want the container's mnt ns, then ns and pid from each hook; got %q", got)
	}
	for i, hook := range []string{"createContainer", "startContainer"} {
		if ns := lines[1+2*i]; ns != lines[0] {
			t.Errorf("hooks.%s ran in %s, the container's mount namespace is %s", hook, ns, lines[0])
		}
		// Inside its pid namespace the init is 1: the hooks must get the
		// host's view.
		if pid := lines[2+2*i]; pid == "0" || pid == "1" || pid != lines[2] {
			t.Errorf("hooks.%s got pid %q, want the init's host pid (the same for both hooks)", hook, pid)
		}
	}
}

// Package tests drives a runtime binary through the runc CLI contract and
// checks the containers it makes from inside and outside. Everything lives in
// _test.go files so nothing here ships with hull.
//
// The runtime is $HULL_RUNTIME (default ../hull, built when missing), so the
// same suite can be pointed at Debian's runc to prove the tests themselves.
package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// runtimeTimeout bounds one runtime invocation: a hang is a failure, but
	// the bound is generous because the machine is shared and noisy.
	runtimeTimeout = 60 * time.Second
	// waitTimeout bounds waiting for a state transition.
	waitTimeout = 30 * time.Second
	// markerEnv is set in the runtime's environment so tests can prove the
	// container does not inherit it.
	markerEnv = "HULL_TEST_MARKER=runtime-env-leaked"
)

var (
	// skipReason is set when the suite cannot run here; every helper that
	// touches the system skips with it.
	skipReason string
	// runtimeBin is the absolute path of the runtime under test.
	runtimeBin string
	// suiteDir holds everything the suite makes on disk (mode 0755 so a
	// user-namespaced container can traverse to its rootfs).
	suiteDir string
	// rootfsDir is the shared read-mostly busybox rootfs.
	rootfsDir string
	// stateRoot is passed as --root on every call.
	stateRoot string
	// cgroupParent is the absolute cgroup every container of this run lives
	// under, in every hierarchy; only it is removed at the end.
	cgroupParent string
	// idCounter keeps container ids unique across the whole run.
	idCounter atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "integration tests need root (containers, mounts, cgroups)"
		return m.Run()
	}
	var err error
	suiteDir, err = os.MkdirTemp("", "hull-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	defer func() {
		if err := removeUnlessMounted(suiteDir); err != nil {
			fmt.Fprintln(os.Stderr, "tests:", err)
		}
	}()
	if err := os.Chmod(suiteDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		return 1
	}
	runtimeBin, err = findRuntime()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests: FATAL:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "tests: runtime under test: %s\n", runtimeBin)
	rootfsDir = filepath.Join(suiteDir, "rootfs")
	if err := buildRootfs(rootfsDir); err != nil {
		fmt.Fprintln(os.Stderr, "tests: building the busybox rootfs:", err)
		return 1
	}
	stateRoot = filepath.Join(suiteDir, "state")
	// Let the runtime make whatever it keeps in an empty --root before the
	// first test's snapshot, so that is not counted as a leak.
	if out, err := exec.Command(runtimeBin, "--root", stateRoot, "list").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "tests: warning: %s list on an empty root: %v: %s\n", runtimeBin, err, out)
	}
	cgroupParent = "/hull-test-" + randomHex(4)
	code := m.Run()
	if err := removeCgroupParent(); err != nil {
		fmt.Fprintln(os.Stderr, "tests: FAIL: cgroups left behind:", err)
		code = 1
	}
	return code
}

// findRuntime resolves $HULL_RUNTIME, or ../hull, building it from the
// repository root when it is missing so `go test ./tests/` works alone.
func findRuntime() (string, error) {
	if p := os.Getenv("HULL_RUNTIME"); p != "" {
		if !strings.Contains(p, "/") {
			return exec.LookPath(p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("HULL_RUNTIME: %w", err)
		}
		return filepath.Abs(p)
	}
	if _, err := os.Stat("../hull"); err == nil {
		return filepath.Abs("../hull")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("../hull is missing and no go toolchain to build it: %w", err)
	}
	out := filepath.Join(suiteDir, "hull")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	cmd.Dir = ".."
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("../hull is missing and `go build -o %s .` in the repository root failed: %v\n%s", out, err, msg)
	}
	return out, nil
}

// isHull reports whether the runtime under test is hull, for checks of
// promises hull makes beyond runc's behaviour.
func isHull() bool { return filepath.Base(runtimeBin) == "hull" }

// hullOnly skips a test (or the rest of it) that checks something hull
// promises and runc does not do.
func hullOnly(t *testing.T) {
	t.Helper()
	if !isHull() {
		t.Skipf("hull-only check; runtime under test is %s", filepath.Base(runtimeBin))
	}
}

// requireSuite skips when the suite cannot run on this machine.
func requireSuite(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// newID names a container after its test, so a leftover says where it came
// from, and numbers it so ids never repeat within a run.
func newID(t *testing.T) string {
	name := unsafeIDChars.ReplaceAllString(t.Name(), "-")
	if len(name) > 48 {
		name = name[:48]
	}
	return fmt.Sprintf("%s-%d", strings.ToLower(name), idCounter.Add(1))
}

var scratchDirs sync.Map // *testing.T → string

// scratch returns the test's own directory under suiteDir, made on first
// use. It is removed at the end of the test unless something is still
// mounted below it: removing through a leaked bind mount could delete files
// that are not ours.
func scratch(t *testing.T) string {
	t.Helper()
	requireSuite(t)
	if d, ok := scratchDirs.Load(t); ok {
		return d.(string)
	}
	d := mkdirTemp(t, suiteDir, unsafeIDChars.ReplaceAllString(t.Name(), "-")+"-")
	scratchDirs.Store(t, d)
	t.Cleanup(func() {
		scratchDirs.Delete(t)
		if err := removeUnlessMounted(d); err != nil {
			t.Error(err)
		}
	})
	return d
}

// tempDir makes a fresh 0755 directory in the test's scratch directory.
func tempDir(t *testing.T) string {
	t.Helper()
	return mkdirTemp(t, scratch(t), "d")
}

func mkdirTemp(t *testing.T, parent, pattern string) string {
	t.Helper()
	d, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		t.Fatal(err)
	}
	// 0755: a container whose root is mapped to an unprivileged host uid
	// must still be able to reach a rootfs below here.
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// removeUnlessMounted deletes dir, refusing when a mount point lies below it.
func removeUnlessMounted(dir string) error {
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if m.mountPoint == dir || strings.HasPrefix(m.mountPoint, dir+"/") {
			return fmt.Errorf("not removing %s: %s is still mounted below it", dir, m.mountPoint)
		}
	}
	return os.RemoveAll(dir)
}

// run invokes the runtime with the suite's --root before args and returns
// its output and exit status (128+signal when it was killed). A run that
// outlives runtimeTimeout is killed and fails the test.
func run(t *testing.T, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	return runWith(t, runOpts{}, args...)
}

// runOpts are what a few tests hand the runtime beyond arguments.
type runOpts struct {
	stdin      *os.File   // nil: the host's /dev/null
	stdout     *os.File   // nil: captured and returned
	extraFiles []*os.File // inherited as fds 3, 4, …
	// via runs the runtime through this command (its argv then follows,
	// as arguments), with env added to the environment.
	via []string
	env []string
}

// runWith is run with extra files for the runtime process.
func runWith(t *testing.T, opts runOpts, args ...string) (stdout, stderr string, exitCode int) {
	t.Helper()
	dir := scratch(t)
	// Files, not pipes: a container started by create or run --detach keeps
	// the runtime's stdio open, and a pipe would hold Wait until it exits.
	outF, err := os.CreateTemp(dir, "stdout-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(outF.Name())
	defer outF.Close()
	errF, err := os.CreateTemp(dir, "stderr-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(errF.Name())
	defer errF.Close()

	ctx, cancel := context.WithTimeout(context.Background(), runtimeTimeout)
	defer cancel()
	cmd := runtimeCommand(ctx, args...)
	if len(opts.via) > 0 {
		wrapped := exec.CommandContext(ctx, opts.via[0], append(opts.via[1:], cmd.Args...)...)
		wrapped.Env = cmd.Env
		cmd = wrapped
	}
	cmd.Env = append(cmd.Env, opts.env...)
	if opts.stdin != nil {
		cmd.Stdin = opts.stdin
	}
	cmd.ExtraFiles = opts.extraFiles
	cmd.Stdout = outF
	if opts.stdout != nil {
		cmd.Stdout = opts.stdout
	}
	cmd.Stderr = errF
	runErr := cmd.Run()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	stdout, stderr = string(o), string(e)
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no answer within %v (killed)\nstdout: %s\nstderr: %s",
			filepath.Base(runtimeBin), strings.Join(args, " "), runtimeTimeout, stdout, stderr)
	}
	code, ok := exitStatus(runErr)
	if !ok {
		t.Fatalf("starting %s: %v", runtimeBin, runErr)
	}
	return stdout, stderr, code
}

// runtimeCommand is the runtime invoked with the suite's --root before args
// and the marker in its environment, for tests that manage the process
// themselves (run in the background, many at once); run is the usual way.
func runtimeCommand(ctx context.Context, args ...string) *exec.Cmd {
	argv := append([]string{"--root", stateRoot}, args...)
	cmd := exec.CommandContext(ctx, runtimeBin, argv...)
	cmd.Env = append(os.Environ(), markerEnv)
	return cmd
}

// exitStatus turns the error of a finished exec.Cmd into its exit status,
// 128+signal when it was killed, as a shell reports it; ok is false when
// the command did not run at all.
func exitStatus(err error) (code int, ok bool) {
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, true
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return exitErr.ExitCode(), true
	default:
		return -1, false
	}
}

// mustRun is run for calls that must succeed; it returns stdout.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != 0 {
		t.Fatalf("%s %s: exit status %d\nstdout: %s\nstderr: %s",
			filepath.Base(runtimeBin), strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// mustFail is run for calls that must be refused: exit status 1 and a
// one-line error on stderr (design §2). It returns that line.
func mustFail(t *testing.T, args ...string) string {
	t.Helper()
	return mustFailWith(t, 1, args...)
}

// mustFailWith is mustFail for calls whose refusal has exit status want
// (runc's exec exits 255).
func mustFailWith(t *testing.T, want int, args ...string) string {
	t.Helper()
	stdout, stderr, code := run(t, args...)
	if code != want {
		t.Fatalf("%s %s: exit status %d, want %d\nstdout: %s\nstderr: %s",
			filepath.Base(runtimeBin), strings.Join(args, " "), code, want, stdout, stderr)
	}
	msg := strings.TrimRight(stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Errorf("%s %s: want a one-line error on stderr, got %q",
			filepath.Base(runtimeBin), strings.Join(args, " "), stderr)
	}
	if strings.Contains(msg, "goroutine ") || strings.Contains(msg, "panic:") {
		t.Errorf("stack trace on stderr: %q", stderr)
	}
	return msg
}

// buildRootfs makes a busybox-static rootfs at dir: the binary, one symlink
// per applet, users and groups the process tests rely on, and the usual
// top-level directories (mount points included, so runtimes need not write
// into the shared rootfs).
func buildRootfs(dir string) error {
	for _, d := range []string{"bin", "etc", "proc", "sys", "dev", "tmp", "root", "mnt", "data", "home/tester"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\n" +
			"tester:x:1000:1000:tester:/home/tester:/bin/sh\n" +
			"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
		"etc/group": "root:x:0:\n" +
			"tester:x:1000:\n" +
			"extra:x:1001:tester\n" +
			"nogroup:x:65534:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

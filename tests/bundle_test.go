package tests

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// bundle is one OCI bundle and the id of the container made from it. Tests
// change spec freely; it is written to config.json by every helper that
// hands the bundle to the runtime.
type bundle struct {
	t      *testing.T
	dir    string
	id     string
	spec   *specs.Spec
	before snapshot // the system before the bundle was made
}

// defaultCaps is `runc spec`'s capability set. Ambient is left out: the
// kernel only raises an ambient capability that is also inheritable, and
// runc's default leaves inheritable empty (CVE-2022-29162), so runc's
// default ambient list is a silent no-op.
var defaultCaps = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// newBundle makes a bundle in a fresh directory whose config is `runc spec`'s
// default with terminal false, a writable root on the shared rootfs, args as
// process.args and an absolute cgroupsPath under this run's cgroupParent. It
// registers the end-of-test leak check. Each bundle is for one container id.
func newBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	scratch(t) // registered first so it is removed after the leak check
	b := &bundle{t: t, dir: tempDir(t), id: newID(t)}
	b.spec = defaultSpec(b.id, args)
	b.before = checkNoLeaksAtEnd(t, b.dir, b.id)
	return b
}

// assertNothingLeft fails unless the system is as it was before the bundle
// was made, without cleaning up first: proof that the runtime itself cleaned
// up after a failure.
func (b *bundle) assertNothingLeft() {
	b.t.Helper()
	assertNothingLeft(b.t, b.before, b.dir)
}

func defaultSpec(id string, args []string) *specs.Spec {
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			User: specs.User{UID: 0, GID: 0},
			Args: args,
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  defaultCaps,
				Effective: defaultCaps,
				Permitted: defaultCaps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfsDir},
		Hostname: "hull",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
				Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs",
				Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
				Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			// Absolute, so nothing lands under the caller's cgroup (design §1).
			CgroupsPath: cgroupParent + "/" + id,
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
				"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
				"/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{
				"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
			},
		},
	}
}

// write stores the spec as the bundle's config.json.
func (b *bundle) write() {
	b.t.Helper()
	data, err := json.MarshalIndent(b.spec, "", "\t")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// ownRootfs gives the bundle a private copy of the rootfs, for tests that
// write to it or change its ownership.
func (b *bundle) ownRootfs() string {
	b.t.Helper()
	dir := filepath.Join(b.dir, "rootfs")
	if err := buildRootfs(dir); err != nil {
		b.t.Fatal(err)
	}
	b.spec.Root.Path = dir
	return dir
}

// setNamespace adds a namespace of type typ (joining path when not empty),
// replacing an entry of the same type.
func (b *bundle) setNamespace(typ specs.LinuxNamespaceType, path string) {
	b.dropNamespace(typ)
	b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
	if typ == specs.UTSNamespace && path != "" {
		// Setting a hostname in a joined UTS namespace would rename its
		// owner; runc refuses the combination.
		b.clearHostname()
	}
}

// removeNamespace drops the namespace of type typ from the config. Without
// a UTS namespace of its own the container may not set a hostname (the spec
// requires an error), so that goes too.
func (b *bundle) removeNamespace(typ specs.LinuxNamespaceType) {
	b.dropNamespace(typ)
	if typ == specs.UTSNamespace {
		b.clearHostname()
	}
}

func (b *bundle) dropNamespace(typ specs.LinuxNamespaceType) {
	var kept []specs.LinuxNamespace
	for _, ns := range b.spec.Linux.Namespaces {
		if ns.Type != typ {
			kept = append(kept, ns)
		}
	}
	b.spec.Linux.Namespaces = kept
}

func (b *bundle) clearHostname() {
	b.spec.Hostname = ""
	b.spec.Domainname = ""
}

// addMount appends a mount to the spec.
func (b *bundle) addMount(m specs.Mount) {
	b.spec.Mounts = append(b.spec.Mounts, m)
}

// run writes the config and runs the container in the foreground to its
// end, returning what the runtime (and so the container) printed.
func (b *bundle) run(extra ...string) (stdout, stderr string, exitCode int) {
	b.t.Helper()
	b.write()
	return run(b.t, append(append([]string{"run", "--bundle", b.dir}, extra...), b.id)...)
}

// output runs the container with args as process.args, requires exit status
// 0 and returns its stdout.
func (b *bundle) output(args ...string) string {
	b.t.Helper()
	b.spec.Process.Args = args
	stdout, stderr, code := b.run()
	if code != 0 {
		b.t.Fatalf("container %v: exit status %d\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
	}
	return stdout
}

// sh runs script with the container's sh and returns its stdout; a non-zero
// exit fails the test.
func (b *bundle) sh(script string) string {
	b.t.Helper()
	return b.output("sh", "-c", script)
}

// create writes the config and creates the container, which must succeed.
func (b *bundle) create(extra ...string) {
	b.t.Helper()
	b.write()
	mustRun(b.t, append(append([]string{"create", "--bundle", b.dir}, extra...), b.id)...)
}

// createPiped is create with the runtime's stdout, and so the container's,
// on a pipe; it returns the read end, closed at the end of the test. The
// container can then say when it is ready instead of the test guessing.
func (b *bundle) createPiped(extra ...string) *os.File {
	b.t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { r.Close() })
	defer w.Close() // only the container keeps a write end
	b.write()
	args := append(append([]string{"create", "--bundle", b.dir}, extra...), b.id)
	if _, stderr, code := runWith(b.t, runOpts{stdout: w}, args...); code != 0 {
		b.t.Fatalf("create: exit status %d: %s", code, stderr)
	}
	return r
}

// waitLine reads lines from r until want, within waitTimeout.
func waitLine(t *testing.T, r *os.File, want string) {
	t.Helper()
	if err := r.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() == want {
			return
		}
	}
	t.Fatalf("no line %q from the container: %v", want, sc.Err())
}

// containerState is the runtime's `state` output (runtime-spec state plus
// the fields runc adds and the engines read).
type containerState struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     string            `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations"`
}

// queryState asks the runtime for id's state; ok is false when it refused.
func queryState(t *testing.T, id string) (st containerState, stderr string, ok bool) {
	t.Helper()
	stdout, stderr, code := run(t, "state", id)
	if code != 0 {
		return st, stderr, false
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("state %s: not JSON: %v\n%s", id, err, stdout)
	}
	return st, stderr, true
}

// mustState is queryState for a container that must exist.
func mustState(t *testing.T, id string) containerState {
	t.Helper()
	st, stderr, ok := queryState(t, id)
	if !ok {
		t.Fatalf("state %s failed: %s", id, stderr)
	}
	return st
}

// waitStatus waits for id to reach status, polling `state` with backoff up
// to waitTimeout; it is only for state transitions the test has caused.
func waitStatus(t *testing.T, id, status string) containerState {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	delay := time.Millisecond
	for {
		st, _, ok := queryState(t, id)
		if ok && st.Status == status {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s did not become %q within %v (last: %+v)", id, status, waitTimeout, st)
		}
		time.Sleep(delay)
		delay = min(2*delay, 100*time.Millisecond)
	}
}

// waitStopped waits for the container's init (pid, from state) to exit,
// through a pidfd rather than polling, then for the runtime to say stopped.
func waitStopped(t *testing.T, id string, pid int) containerState {
	t.Helper()
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		if !pidfdExited(fd, waitTimeout) {
			t.Errorf("pid %d of %s did not exit within %v", pid, id, waitTimeout)
		}
		unix.Close(fd)
	}
	return waitStatus(t, id, "stopped")
}

// pidfdExited reports whether the process behind fd exits within timeout
// (0: has it exited already).
func pidfdExited(fd int, timeout time.Duration) bool {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(timeout/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		return err == nil && n > 0
	}
}

// startedContainer creates and starts a long-running container and waits
// for it to be running.
func startedContainer(t *testing.T) (*bundle, containerState) {
	t.Helper()
	b := newBundle(t, "sleep", "3600")
	return b, b.start()
}

// start creates and starts the bundle's container and waits for it to be
// running, for tests that change the spec of a long-running container.
func (b *bundle) start() containerState {
	b.t.Helper()
	b.create()
	mustRun(b.t, "start", b.id)
	return waitStatus(b.t, b.id, "running")
}

// lines returns the non-empty trimmed lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// fieldOf returns the value of "Key:\tvalue" in a /proc status-like text.
func fieldOf(t *testing.T, text, key string) string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %q in:\n%s", key, text)
	return ""
}

package tests

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hostname is set in the container's UTS namespace.
func TestHostname(t *testing.T) {
	b := newBundle(t)
	b.spec.Hostname = "box"
	if got := strings.TrimSpace(b.output("hostname")); got != "box" {
		t.Errorf("hostname = %q, want box", got)
	}
}

// domainname is set in the container's UTS namespace (runtime-spec 1.1;
// runc 1.1.5 ignores it).
func TestDomainname(t *testing.T) {
	hullOnly(t)
	b := newBundle(t)
	b.spec.Domainname = "example.org"
	if got := strings.TrimSpace(b.output("cat", "/proc/sys/kernel/domainname")); got != "example.org" {
		t.Errorf("domainname = %q, want example.org", got)
	}
}

// linux.sysctl is applied inside the container's namespaces, not the host's.
func TestSysctl(t *testing.T) {
	const path = "/proc/sys/net/ipv4/ip_forward"
	hostBefore, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b := newBundle(t)
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	if got := strings.TrimSpace(b.output("cat", path)); got != "1" {
		t.Errorf("ip_forward inside = %q, want 1", got)
	}
	if hostAfter, _ := os.ReadFile(path); string(hostAfter) != string(hostBefore) {
		t.Errorf("host ip_forward changed from %q to %q", hostBefore, hostAfter)
	}
}

// process.user sets uid, gid, supplementary groups and umask.
func TestUser(t *testing.T) {
	umask := uint32(0o027)
	b := newBundle(t)
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001}, Umask: &umask}
	out := b.sh("cat /proc/self/status; echo umask: $(umask)")
	for key, want := range map[string]string{
		"Uid":    "1000 1000 1000 1000",
		"Gid":    "1000 1000 1000 1000",
		"Groups": "1001",
		"umask":  "0027",
	} {
		if got := strings.Join(strings.Fields(fieldOf(t, out, key)), " "); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

// capMask turns capability names into the bit mask /proc/self/status shows.
func capMask(t *testing.T, names []string) uint64 {
	t.Helper()
	bits := map[string]uint{
		"CAP_CHOWN":            unix.CAP_CHOWN,
		"CAP_KILL":             unix.CAP_KILL,
		"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE,
		"CAP_AUDIT_WRITE":      unix.CAP_AUDIT_WRITE,
	}
	var m uint64
	for _, n := range names {
		bit, ok := bits[n]
		if !ok {
			t.Fatalf("capMask: add %s to the table", n)
		}
		m |= 1 << bit
	}
	return m
}

// The five capability sets match the config after the kernel's execve rules.
func TestCapabilities(t *testing.T) {
	four := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"}
	kill := []string{"CAP_KILL"}
	for _, c := range []struct {
		name string
		uid  uint32
		caps specs.LinuxCapabilities
		// want maps CapBnd, CapEff, … to the sets expected in them.
		want map[string][]string
	}{
		{
			// As root the kernel fills permitted and effective from the
			// bounding set at execve; inheritable stays empty by default
			// (CVE-2022-29162).
			name: "default-root",
			caps: specs.LinuxCapabilities{Bounding: defaultCaps, Effective: defaultCaps, Permitted: defaultCaps},
			want: map[string][]string{"CapBnd": defaultCaps, "CapPrm": defaultCaps, "CapEff": defaultCaps, "CapInh": nil, "CapAmb": nil},
		},
		{
			// As a user only the ambient set survives execve, so every set
			// is told apart.
			name: "ambient-user",
			uid:  1000,
			caps: specs.LinuxCapabilities{Bounding: four, Effective: four, Permitted: four, Inheritable: kill, Ambient: kill},
			want: map[string][]string{"CapBnd": four, "CapPrm": kill, "CapEff": kill, "CapInh": kill, "CapAmb": kill},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBundle(t)
			b.spec.Process.User = specs.User{UID: c.uid, GID: c.uid}
			caps := c.caps
			b.spec.Process.Capabilities = &caps
			status := b.output("cat", "/proc/self/status")
			for field, names := range c.want {
				got, err := strconv.ParseUint(fieldOf(t, status, field), 16, 64)
				if err != nil {
					t.Fatal(err)
				}
				if want := capMask(t, names); got != want {
					t.Errorf("%s = %016x, want %016x %v", field, got, want, names)
				}
			}
		})
	}
}

// process.rlimits set soft and hard limits.
func TestRlimits(t *testing.T) {
	b := newBundle(t)
	b.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 2048}}
	if got := lines(b.sh("ulimit -n; ulimit -Hn")); strings.Join(got, " ") != "512 2048" {
		t.Errorf("ulimit -n, -Hn = %q, want 512 2048", got)
	}
}

// noNewPrivileges sets the no_new_privs bit, and only when asked.
func TestNoNewPrivileges(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		t.Run(strconv.FormatBool(nnp), func(t *testing.T) {
			b := newBundle(t)
			b.spec.Process.NoNewPrivileges = nnp
			want := map[bool]string{true: "1", false: "0"}[nnp]
			if got := fieldOf(t, b.output("cat", "/proc/self/status"), "NoNewPrivs"); got != want {
				t.Errorf("NoNewPrivs = %s, want %s", got, want)
			}
		})
	}
}

// process.oomScoreAdj is applied to the container's process.
func TestOOMScoreAdj(t *testing.T) {
	adj := 123
	b := newBundle(t)
	b.spec.Process.OOMScoreAdj = &adj
	if got := strings.TrimSpace(b.output("cat", "/proc/self/oom_score_adj")); got != "123" {
		t.Errorf("oom_score_adj = %q, want 123", got)
	}
}

// process.env is the environment (runc adds HOME when missing); nothing of
// the runtime's own environment leaks in (design §6).
func TestEnv(t *testing.T) {
	b := newBundle(t)
	b.spec.Process.Env = []string{"PATH=/bin", "FOO=bar baz", "EMPTY="}
	got := lines(b.output("env"))
	for _, want := range b.spec.Process.Env {
		if !contains(got, want) {
			t.Errorf("env lacks %q: %q", want, got)
		}
	}
	for _, kv := range got {
		name, _, _ := strings.Cut(kv, "=")
		if name != "HOME" && !contains(b.spec.Process.Env, kv) {
			t.Errorf("unexpected variable %q in the container (marker from the runtime's env: %s)", kv, markerEnv)
		}
	}
}

// process.cwd is the working directory.
func TestCwd(t *testing.T) {
	b := newBundle(t)
	b.spec.Process.Cwd = "/tmp"
	if got := strings.TrimSpace(b.output("pwd")); got != "/tmp" {
		t.Errorf("pwd = %q, want /tmp", got)
	}
}

// Descriptors the runtime inherited beyond stdio do not reach the container
// without --preserve-fds (CVE-2024-21626 class): the runtime gets the host's
// / as fd 3, and inside only 0, 1, 2 and ls's own directory are open.
func TestNoLeakedFds(t *testing.T) {
	hostRoot, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer hostRoot.Close()
	b := newBundle(t, "ls", "/proc/self/fd")
	b.write()
	stdout, stderr, code := runWith(t, runOpts{extraFiles: []*os.File{hostRoot}}, "run", "--bundle", b.dir, b.id)
	if code != 0 {
		t.Fatalf("run: exit status %d\nstderr: %s", code, stderr)
	}
	if got := lines(stdout); strings.Join(got, " ") != "0 1 2 3" {
		t.Errorf("open fds in the container: %q, want 0 1 2 3", got)
	}
}

// A /dev/null given as the container's stdio is never chowned to the
// container's user (design §6: the host's /dev/null once ended up owned by
// uid 1000). The test uses its own 1:3 node so a regression cannot touch
// the host's.
func TestStdioDevNullNotChowned(t *testing.T) {
	node := filepath.Join(tempDir(t), "null")
	if err := unix.Mknod(node, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(node, 0o666); err != nil {
		t.Fatal(err)
	}
	null, err := os.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()

	b := newBundle(t, "true")
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.write()
	if stdout, stderr, code := runWith(t, runOpts{stdin: null}, "run", "--bundle", b.dir, b.id); code != 0 {
		t.Fatalf("run: exit status %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	var st unix.Stat_t
	if err := unix.Stat(node, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o666 {
		t.Errorf("the null device given as stdin is now %d:%d mode %o, want 0:0 666",
			st.Uid, st.Gid, st.Mode&0o7777)
	}
}

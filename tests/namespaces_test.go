package tests

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// nsKinds maps the config's namespace types to their /proc/<pid>/ns names.
var nsKinds = []struct {
	typ  specs.LinuxNamespaceType
	proc string
}{
	{specs.PIDNamespace, "pid"},
	{specs.IPCNamespace, "ipc"},
	{specs.UTSNamespace, "uts"},
	{specs.MountNamespace, "mnt"},
	{specs.NetworkNamespace, "net"},
	{specs.CgroupNamespace, "cgroup"},
	{specs.UserNamespace, "user"},
}

// hostNS is the test process's own namespace of the given kind.
func hostNS(t *testing.T, proc string) string {
	t.Helper()
	link, err := os.Readlink("/proc/self/ns/" + proc)
	if err != nil {
		t.Fatal(err)
	}
	return link
}

// containerNS runs the bundle and returns its namespace of the given kind.
func containerNS(b *bundle, proc string) string {
	b.t.Helper()
	return strings.TrimSpace(b.output("readlink", "/proc/self/ns/"+proc))
}

// mapRootTo100000 makes the bundle's user namespace map root to host uid
// and gid 100000 (65536 ids).
func mapRootTo100000(b *bundle) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.spec.Linux.UIDMappings = m
	b.spec.Linux.GIDMappings = m
}

// A configured namespace without a path is a new one.
func TestNamespacesNew(t *testing.T) {
	for _, k := range nsKinds {
		t.Run(k.proc, func(t *testing.T) {
			b := newBundle(t)
			b.setNamespace(k.typ, "")
			if k.typ == specs.UserNamespace {
				mapRootTo100000(b)
			}
			if got, host := containerNS(b, k.proc), hostNS(t, k.proc); got == host {
				t.Errorf("container's %s namespace is the host's (%s)", k.proc, got)
			}
		})
	}
}

// The user namespace gets the configured id mappings.
func TestUserNamespaceMappings(t *testing.T) {
	b := newBundle(t)
	b.setNamespace(specs.UserNamespace, "")
	mapRootTo100000(b)
	out := lines(b.sh("cat /proc/self/uid_map /proc/self/gid_map"))
	if len(out) != 2 {
		t.Fatalf("uid_map + gid_map: %q", out)
	}
	for i, name := range []string{"uid_map", "gid_map"} {
		if f := strings.Fields(out[i]); strings.Join(f, " ") != "0 100000 65536" {
			t.Errorf("%s = %q, want 0 100000 65536", name, out[i])
		}
	}
}

// A namespace type left out of the config is shared with the runtime's
// caller (the mount namespace cannot be left out).
func TestNamespacesSharedWhenAbsent(t *testing.T) {
	for _, k := range nsKinds {
		if k.typ == specs.MountNamespace || k.typ == specs.UserNamespace {
			continue
		}
		t.Run(k.proc, func(t *testing.T) {
			b := newBundle(t)
			b.removeNamespace(k.typ)
			if got, host := containerNS(b, k.proc), hostNS(t, k.proc); got != host {
				t.Errorf("container's %s namespace %s, want the host's %s", k.proc, got, host)
			}
		})
	}
}

// nsHolder starts a process in new namespaces (unshare(1) flags such as
// --net) and returns its pid once the namespaces exist. It is killed, by
// pid, when the test ends.
func nsHolder(t *testing.T, unshareFlags ...string) int {
	t.Helper()
	requireSuite(t)
	args := append(unshareFlags, "/bin/sh", "-c", "echo ready; exec sleep 3600")
	cmd := exec.Command("unshare", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The line comes after unshare(2), so the namespaces exist by then; EOF
	// means unshare failed.
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("unshare %v: no ready line (%q, %v)", unshareFlags, line, err)
	}
	return cmd.Process.Pid
}

// A namespace with a path is joined, not made.
func TestNamespacesJoinByPath(t *testing.T) {
	holder := nsHolder(t, "--net", "--uts", "--ipc")
	for _, k := range []struct {
		typ  specs.LinuxNamespaceType
		proc string
	}{
		{specs.NetworkNamespace, "net"},
		{specs.UTSNamespace, "uts"},
		{specs.IPCNamespace, "ipc"},
	} {
		t.Run(k.proc, func(t *testing.T) {
			path := fmt.Sprintf("/proc/%d/ns/%s", holder, k.proc)
			want, err := os.Readlink(path)
			if err != nil {
				t.Fatal(err)
			}
			if want == hostNS(t, k.proc) {
				t.Fatalf("holder's %s namespace is the host's: unshare did not work", k.proc)
			}
			b := newBundle(t)
			b.setNamespace(k.typ, path)
			if got := containerNS(b, k.proc); got != want {
				t.Errorf("container's %s namespace %s, want the joined %s", k.proc, got, want)
			}
		})
	}
}

package v2

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// TestKernel drives a real cgroup v2 tree: limits land in the files, the
// device program is enforced and replaced (never stacked) on update, freeze,
// stats, kill and removal work. It creates /sys/fs/cgroup/hull-v2-test-PID
// and removes it. It runs only where asked (HULL_TEST_CGROUP2=1), as root,
// on a unified host: the VM of `make test-vm`, never a shared machine whose
// cgroups are not the test's.
//
// In the VM: go test -c -o v2.test ./libcontainer/cgroups/v2 and run
// HULL_TEST_CGROUP2=1 ./v2.test -test.run TestKernel -test.v
func TestKernel(t *testing.T) {
	if os.Getenv("HULL_TEST_CGROUP2") != "1" {
		t.Skip("set HULL_TEST_CGROUP2=1 to run against the kernel (cgroup v2 host, root, a disposable machine)")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	host, err := cgroups.Detect()
	if err != nil || host.Layout != cgroups.Unified {
		t.Skipf("not a unified cgroup v2 host (%v)", err)
	}
	parent := fmt.Sprintf("/hull-v2-test-%d", os.Getpid())
	rec, err := host.Resolve(parent+"/c1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	m := New(rec)
	t.Cleanup(func() {
		if err := m.Destroy(); err != nil {
			t.Errorf("Destroy: %v", err)
		}
		if cgroups.DirExists(rec.Created[cgroups.UnifiedKey]) {
			t.Errorf("%s is left after Destroy", rec.Created[cgroups.UnifiedKey])
		}
	})
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	warnings, err := m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr[int64](64 << 20), Swap: ptr[int64](64 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptr[int64](32)},
		CPU:    &specs.LinuxCPU{Shares: ptr[uint64](512), Quota: ptr[int64](50000), Period: ptr[uint64](100000)},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("warnings %q, enabled %q", warnings, m.Enabled())
	for f, want := range map[string]string{"memory.max": "67108864", "pids.max": "32", "cpu.weight": "59", "cpu.max": "50000 100000"} {
		if got, _ := cgroups.ReadFile(m.Dir(), f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if got, err := cgroups.ReadFile(m.Dir(), "memory.swap.max"); err == nil && got != "0" {
		t.Errorf("memory.swap.max = %q, want 0 (swap = limit)", got)
	}

	// A device node with no driver behind it: the cgroup's refusal is
	// EPERM, getting past it ENXIO.
	node := fmt.Sprintf("/dev/hull-v2-test-%d", os.Getpid())
	if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(unix.Mkdev(42, 42))); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(node)
	if got := openIn(t, m, node); got != "EPERM" {
		t.Errorf("open of c 42:42 (not allowed): %s, want EPERM", got)
	}
	if got := openIn(t, m, "/dev/null"); got != "ok" {
		t.Errorf("open of /dev/null (a default): %s, want ok", got)
	}

	// Updates replace hull's program: one attached, whatever the count.
	allow := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true, Type: "c", Major: ptr[int64](42), Minor: ptr[int64](42), Access: "rw"}}}
	for range 5 {
		if _, err := m.Set(allow, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := attached(t, m.Dir()); n != 1 {
		t.Errorf("%d device programs attached after 6 Sets, want 1", n)
	}
	if got := openIn(t, m, node); got != "ENXIO" {
		t.Errorf("open of c 42:42 after allowing it: %s, want ENXIO (past the cgroup)", got)
	}
	if _, err := m.Set(nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := openIn(t, m, node); got != "EPERM" {
		t.Errorf("open of c 42:42 after the rule went away: %s, want EPERM", got)
	}

	// A long-running process: freeze, stats, kill.
	cmd := startIn(t, m, "sleep", "60")
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if !m.Paused() {
		t.Error("not paused after Freeze")
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if pids, _ := m.Pids(); len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Errorf("Pids = %v, want [%d]", pids, cmd.Process.Pid)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Memory.Usage.Usage == 0 || s.Pids.Current != 1 || s.Memory.Usage.Limit != 64<<20 || s.Pids.Limit != 32 {
		t.Errorf("Stats: memory %+v, pids %+v", s.Memory.Usage, s.Pids)
	}
	if err := m.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the process survived cgroup.kill")
	}
	startIn(t, m, "sleep", "60") // for Destroy to kill
}

// startIn starts a command inside the cgroup with CLONE_INTO_CGROUP, as
// the runtime starts the container's init.
func startIn(t *testing.T, m *Manager, name string, args ...string) *exec.Cmd {
	t.Helper()
	fd, err := unix.Open(m.Dir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s in %s: %v", name, m.Dir(), err)
	}
	return cmd
}

// openIn opens path read-write from a process in the cgroup (this test
// binary again, as TestKernelHelper) and returns "ok" or the errno's name.
func openIn(t *testing.T, m *Manager, path string) string {
	t.Helper()
	fd, err := unix.Open(m.Dir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command(os.Args[0], "-test.run=^TestKernelHelper$")
	cmd.Env = append(os.Environ(), "HULL_V2_HELPER_OPEN="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndex(line, "result:"); i >= 0 {
		return strings.Fields(line[i+len("result:"):])[0]
	}
	t.Fatalf("helper printed %q", out)
	return ""
}

func TestKernelHelper(t *testing.T) {
	path := os.Getenv("HULL_V2_HELPER_OPEN")
	if path == "" {
		t.Skip("a helper for TestKernel")
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err == nil {
		unix.Close(fd)
		fmt.Println("result:ok")
		return
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		fmt.Println("result:" + unix.ErrnoName(errno))
		return
	}
	fmt.Println("result:" + strconv.Quote(err.Error()))
}

func attached(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Programs)
}

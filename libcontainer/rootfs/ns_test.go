package rootfs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// The tests that mount run the code under test in a child: this test binary
// re-executed in a private mount namespace (Go's Unshareflags remounts "/"
// rprivate before the exec), so a bug cannot reach the host's mount table.
// The parent compares the host's mount table before and after.

const (
	childEnv    = "HULL_ROOTFS_TEST_CHILD"
	childMntEnv = "HULL_ROOTFS_TEST_PARENT_MNTNS"
)

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(runChild(cfg))
	}
	os.Exit(m.Run())
}

// childConfig is what a child gets: a scenario name and its inputs.
type childConfig struct {
	Scenario string            `json:"scenario"`
	Plan     spec.Plan         `json:"plan"`
	NoPivot  bool              `json:"noPivot,omitempty"`
	UserNS   bool              `json:"userNS,omitempty"`
	Console  bool              `json:"console,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"`
}

func (c *childConfig) options() Options {
	return Options{NoPivot: c.NoPivot, UserNS: c.UserNS, Console: c.Console}
}

func runChild(raw string) int {
	var c childConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: bad child config:", err)
		return 2
	}
	// Refuse to touch anything unless this really is a namespace of our own.
	if mine, err := os.Readlink("/proc/self/ns/mnt"); err != nil || mine == os.Getenv(childMntEnv) {
		fmt.Fprintln(os.Stderr, "FAIL: child is not in a private mount namespace")
		return 2
	}
	fn, ok := scenarios()[c.Scenario]
	if !ok {
		fmt.Fprintln(os.Stderr, "FAIL: no scenario", c.Scenario)
		return 2
	}
	if err := fn(&c); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	fmt.Println("OK")
	return 0
}

// nsFlags are the namespaces of a child besides its mount namespace.
type nsFlags struct {
	clone  uintptr
	userNS bool
}

// runChildScenario runs a scenario in a child and fails the test if it
// fails or if the host's mount table changed where this code could have
// mounted.
func runChildScenario(t *testing.T, c childConfig, ns nsFlags) string {
	t.Helper()
	out, err := runChildRaw(t, c, ns)
	if err != nil {
		t.Fatalf("scenario %s: %v\n%s", c.Scenario, err, out)
	}
	return out
}

func runChildRaw(t *testing.T, c childConfig, ns nsFlags) (string, error) {
	t.Helper()
	needRoot(t)
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	parentNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	before := hostMounts(t)
	// A child that hangs (a read from a pty mounted where a file should
	// be, say) fails the test instead of stalling it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw), childMntEnv+"="+parentNS)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:   ns.clone,
		Unshareflags: syscall.CLONE_NEWNS,
		Pdeathsig:    syscall.SIGKILL,
	}
	if ns.userNS {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	}
	out, runErr := cmd.CombinedOutput()
	checkHostMounts(t, before, hostMounts(t), c.Plan.Rootfs)
	return string(out), runErr
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
}

// hostMounts is the host's mount table, as "id mountpoint" -> line.
func hostMounts(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mounts := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			mounts[fields[0]+" "+fields[4]] = sc.Text()
		}
	}
	return mounts
}

// checkHostMounts fails on a change of the host's mount table at a place
// this code mounts (the rootfs, or the well-known destinations a wrongly
// resolved path would hit); other changes are someone else's on this
// shared machine and are only logged.
func checkHostMounts(t *testing.T, before, after map[string]string, rootfs string) {
	t.Helper()
	suspect := func(line string) bool {
		mp := strings.Fields(line)[4]
		if rootfs != "" && strings.HasPrefix(mp, filepath.Dir(rootfs)) {
			return true
		}
		for _, p := range []string{"/", "/proc", "/sys", "/dev", "/tmp", "/mnt", "/etc", "/run"} {
			if mp == p || strings.HasPrefix(mp, p+"/") && p != "/" && p != "/run" {
				return true
			}
		}
		return false
	}
	diff := func(a, b map[string]string, what string) {
		for k, line := range a {
			if _, ok := b[k]; ok {
				continue
			}
			if suspect(line) {
				t.Errorf("host mount table: %s: %s", what, line)
			} else {
				t.Logf("host mount table changed elsewhere (%s): %s", what, line)
			}
		}
	}
	diff(after, before, "mount appeared")
	diff(before, after, "mount disappeared")
}

// testRootfs makes a rootfs directory with a few entries and returns its
// real path.
func testRootfs(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"proc", "sys", "dev", "etc", "tmp", "mnt", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "marker"), "rootfs")
	return root
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checker collects failed checks inside a child.
type checker struct{ errs []string }

func (c *checker) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(c.errs, "\n  "))
}

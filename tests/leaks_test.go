package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Leak checking (design §9): every test compares what the system shows after
// it with a snapshot taken before it, so a runtime that leaves a mount, a
// process, a state directory or a cgroup behind fails the test that did it.

// mountEntry is one line of a mountinfo file.
type mountEntry struct {
	mountPoint string
	options    []string // per-mount options (rw, nosuid, …)
	optional   []string // shared:N, master:N, …
	fsType     string
	source     string
	superOpts  []string
}

// hasOption reports whether opt is among the per-mount or the superblock
// options.
func (m mountEntry) hasOption(opt string) bool {
	return contains(m.options, opt) || contains(m.superOpts, opt)
}

func readMountinfo(path string) ([]mountEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseMountinfo(string(data))
}

// parseMountinfo parses proc(5) mountinfo text, from the host or printed by a
// container.
func parseMountinfo(text string) ([]mountEntry, error) {
	var out []mountEntry
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("bad mountinfo line %q", line)
		}
		e := mountEntry{
			mountPoint: unescapeMountinfo(f[4]),
			options:    strings.Split(f[5], ","),
			optional:   f[6:sep],
			fsType:     f[sep+1],
			source:     unescapeMountinfo(f[sep+2]),
		}
		if len(f) > sep+3 {
			e.superOpts = strings.Split(f[sep+3], ",")
		}
		out = append(out, e)
	}
	return out, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// snapshot is what a test could leak, as seen at one moment.
type snapshot struct {
	mounts  map[string]int  // "mountpoint source fstype" → count
	states  map[string]bool // entries of the state root
	procs   map[int]string  // pid → cmdline of the processes we watch
	cgroups map[string]bool // directories below cgroupParent, per hierarchy
}

// takeSnapshot records the system as far as the test owns it. bundleDir
// lets it find runtime processes still working on this test's bundle.
func takeSnapshot(t *testing.T, bundleDir string) snapshot {
	t.Helper()
	s := snapshot{
		mounts:  map[string]int{},
		states:  map[string]bool{},
		procs:   watchedProcesses(bundleDir),
		cgroups: map[string]bool{},
	}
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	// In a private mount namespace (the Makefile runs the suite under
	// `unshare -m`) every mount is ours to account for; on the host's
	// namespace other users' mounts come and go, so watch only our tree.
	private := privateMountNamespace()
	for _, m := range mounts {
		if private || strings.HasPrefix(m.mountPoint, suiteDir+"/") || strings.HasPrefix(m.source, suiteDir+"/") {
			s.mounts[m.mountPoint+" "+m.source+" "+m.fsType]++
		}
	}
	if entries, err := os.ReadDir(stateRoot); err == nil {
		for _, e := range entries {
			s.states[e.Name()] = true
		}
	}
	for _, dir := range cgroupParentDirs() {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != dir {
				s.cgroups[path] = true
			}
			return nil
		})
	}
	return s
}

// privateMountNamespace reports whether the test runs in a mount namespace
// that one of its ancestors made (as `unshare -m go test` does), so no one
// else mounts in it.
func privateMountNamespace() bool {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return false
	}
	for pid := os.Getppid(); pid > 1; {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil {
			return false
		}
		if ns != self {
			return true
		}
		if pid, err = parentOf(pid); err != nil {
			return false
		}
	}
	return false
}

// parentOf returns the parent pid of pid.
func parentOf(pid int) (int, error) {
	_, ppid, err := procStat(pid)
	return ppid, err
}

// procStat reads the state letter and parent pid of pid from /proc.
func procStat(pid int) (state string, ppid int, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, err
	}
	// The fields after the parenthesised command: state ppid …
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) < 2 {
		return "", 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err
}

// watchedProcesses lists live processes that a test could leak: our own
// children, anything whose command line names the bundle (a runtime still
// working on it), and anything in one of this run's cgroups (a container's
// init, which is reparented away from us). Zombies are skipped: they have
// already exited and reaping them is their parent's business.
func watchedProcesses(bundleDir string) map[int]string {
	self := os.Getpid()
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		state, ppid, err := procStat(pid)
		if err != nil || state == "Z" || state == "X" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		cmd := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
		if ppid == self ||
			(bundleDir != "" && strings.Contains(cmd, bundleDir)) ||
			strings.Contains(string(cg), cgroupParent+"/") {
			out[pid] = cmd
		}
	}
	return out
}

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	dir string // where it is mounted
	// key is how /proc/<pid>/cgroup names it: "" for the cgroup2
	// hierarchy, else its v1 controllers as the kernel lists them
	// ("memory", "cpu,cpuacct") or "name=systemd".
	key string
}

// v2 reports whether the hierarchy is cgroup2.
func (m cgroupMount) v2() bool { return m.key == "" }

// cgroupMounts lists the hierarchies mounted at /sys/fs/cgroup (a unified
// host: that one cgroup2 hierarchy) or in the directories right below it
// (a v1 or hybrid host: one per v1 hierarchy, and the cgroup2 one, often
// at unified), each once. It reads /proc/self/mountinfo, so a file or a
// symlink (cpu -> cpu,cpuacct) is never taken for a hierarchy.
func cgroupMounts() []cgroupMount {
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	subsys := map[string]bool{}
	if data, err := os.ReadFile("/proc/cgroups"); err == nil {
		for _, l := range strings.Split(string(data), "\n") {
			if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
				subsys[f[0]] = true
			}
		}
	}
	var out []cgroupMount
	seen := map[string]bool{}
	for _, m := range mounts {
		if m.mountPoint != cgroupMountRoot && filepath.Dir(m.mountPoint) != cgroupMountRoot {
			continue
		}
		var key string
		switch m.fsType {
		case "cgroup2":
		case "cgroup":
			var ctrls []string
			for _, o := range m.superOpts {
				if subsys[o] || strings.HasPrefix(o, "name=") {
					ctrls = append(ctrls, o)
				}
			}
			if len(ctrls) == 0 {
				continue
			}
			key = strings.Join(ctrls, ",")
		default:
			continue
		}
		if seen[key] {
			continue // mounted twice: the first one
		}
		seen[key] = true
		out = append(out, cgroupMount{dir: m.mountPoint, key: key})
	}
	return out
}

// cgroupHierarchies lists the mount points of the cgroup hierarchies:
// just /sys/fs/cgroup on a unified (cgroup v2) host, else one directory
// per v1 hierarchy plus the cgroup2 one of a hybrid host.
func cgroupHierarchies() []string {
	var out []string
	for _, m := range cgroupMounts() {
		out = append(out, m.dir)
	}
	return out
}

// cgroupParentDirs lists cgroupParent in every hierarchy where it exists.
func cgroupParentDirs() []string {
	var out []string
	for _, h := range cgroupHierarchies() {
		d := filepath.Join(h, cgroupParent)
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// removeCgroupParent removes this run's cgroupParent from every hierarchy,
// children first. Only that name is touched: it is unique to this run and
// the containers made it through the runtime.
func removeCgroupParent() error {
	var failed []string
	for _, d := range cgroupParentDirs() {
		if err := rmdirTree(d); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}

// rmdirTree removes an empty cgroup directory tree bottom-up (cgroupfs only
// allows rmdir, and only of cgroups without processes or children).
func rmdirTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	if err := syscall.Rmdir(dir); err != nil {
		return fmt.Errorf("rmdir %s: %w", dir, err)
	}
	return nil
}

// leaksSince lists what exists now and did not in before, and the pids of
// the new processes among them.
func leaksSince(t *testing.T, before snapshot, bundleDir string) (leaks []string, pids []int) {
	t.Helper()
	now := takeSnapshot(t, bundleDir)
	for k, n := range now.mounts {
		if n > before.mounts[k] {
			leaks = append(leaks, "mount: "+k)
		}
	}
	for k := range now.states {
		if !before.states[k] {
			leaks = append(leaks, "state dir: "+filepath.Join(stateRoot, k))
		}
	}
	for pid, cmd := range now.procs {
		if _, ok := before.procs[pid]; !ok {
			leaks = append(leaks, fmt.Sprintf("process: %d %q", pid, cmd))
			pids = append(pids, pid)
		}
	}
	for k := range now.cgroups {
		if !before.cgroups[k] {
			leaks = append(leaks, "cgroup: "+k)
		}
	}
	sort.Strings(leaks)
	return leaks, pids
}

// assertNothingLeft fails the test when anything appeared since before,
// without cleaning up first: for checks that the runtime itself cleaned up
// after a failure. Leaked processes are then killed: they are ours (our
// children, or in this run's cgroups), and left alive they would keep their
// cgroups, and the next tests' checks, busy.
func assertNothingLeft(t *testing.T, before snapshot, bundleDir string) {
	t.Helper()
	leaks, pids := leaksSince(t, before, bundleDir)
	if len(leaks) > 0 {
		t.Errorf("left behind:\n  %s", strings.Join(leaks, "\n  "))
	}
	for _, pid := range pids {
		killAndWait(t, pid)
	}
}

// killAndWait SIGKILLs pid through a pidfd (so a recycled pid is never hit)
// and waits for it to exit.
func killAndWait(t *testing.T, pid int) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
		t.Errorf("killing leaked pid %d: %v", pid, err)
		return
	}
	if !pidfdExited(fd, waitTimeout) {
		t.Errorf("leaked pid %d survived SIGKILL for %v", pid, waitTimeout)
	}
}

// holdPid opens a pidfd on pid, a process the test caused that the leak
// check may not see (a container's init or a detached exec: reparented away
// from us, and in no cgroup of ours while the runtime makes none), and
// registers its SIGKILL through that pidfd at the end of the test, so a
// failing test leaves nothing running. It returns the pidfd, for the
// test's own checks that the process is gone.
func holdPid(t *testing.T, pid int) int {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	t.Cleanup(func() {
		defer unix.Close(fd)
		if pidfdExited(fd, 0) {
			return
		}
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil {
			t.Errorf("killing pid %d: %v", pid, err)
		} else if !pidfdExited(fd, waitTimeout) {
			t.Errorf("pid %d survived SIGKILL for %v", pid, waitTimeout)
		}
	})
	return fd
}

// checkNoLeaksAtEnd registers the end-of-test leak check: force-delete the
// test's container, then fail if anything else is left. It returns the
// snapshot it compares with.
func checkNoLeaksAtEnd(t *testing.T, bundleDir, id string) snapshot {
	t.Helper()
	before := takeSnapshot(t, bundleDir)
	t.Cleanup(func() {
		// Always, even when state cannot read the container: a half-made
		// one is exactly what delete --force must still clean (design §9).
		_, stderr, code := run(t, "delete", "--force", id)
		if code != 0 && !strings.Contains(stderr, "does not exist") {
			t.Errorf("cleanup: delete --force %s: exit status %d: %s", id, code, stderr)
		}
		assertNothingLeft(t, before, bundleDir)
	})
	return before
}

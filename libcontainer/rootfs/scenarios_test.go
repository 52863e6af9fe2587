package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Scenarios run in a child (see ns_test.go). Each builds the container's
// filesystem with the package's API and checks the result from inside.
func scenarios() map[string]func(*childConfig) error {
	return map[string]func(*childConfig) error{
		"full":           scenarioFull,
		"escape":         scenarioEscape,
		"prepare-error":  scenarioPrepareError,
		"devnull":        scenarioDevNull,
		"devnull-fake":   scenarioDevNullFake,
		"nopivot":        scenarioNoPivot,
		"userns":         scenarioUserNS,
		"sysctl-fake":    scenarioSysctlFakeProc,
		"console-target": scenarioConsoleTarget,
		"cgroupns":       scenarioCgroupNS,
	}
}

// scenarioFull is a container as docker or podman would ask for it, checked
// from inside once everything is done.
func scenarioFull(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	master, slave, err := openPty()
	if err != nil {
		return err
	}
	defer master.Close()
	defer slave.Close()
	if err := MountConsole(slave); err != nil {
		return err
	}
	if err := WriteSysctls(c.Plan.Sysctl); err != nil {
		return err
	}
	if err := Finish(&c.Plan); err != nil {
		return err
	}
	ch := &checker{}
	if wd, _ := os.Getwd(); wd != "/" {
		ch.errorf("cwd is %q, not /", wd)
	}
	checkContent(ch, "/marker", "rootfs")
	mounts, err := containerMounts()
	if err != nil {
		return err
	}
	for mp, want := range map[string]string{
		"/":                      "ro",
		"/proc":                  "proc rw nosuid nodev noexec",
		"/dev":                   "tmpfs ro nosuid",
		"/dev/pts":               "devpts rw nosuid noexec",
		"/dev/shm":               "tmpfs rw nosuid nodev noexec",
		"/dev/mqueue":            "mqueue rw",
		"/sys":                   "sysfs ro",
		"/sys/fs/cgroup":         "tmpfs ro nosuid nodev noexec",
		"/sys/fs/cgroup/memory":  "cgroup ro",
		"/sys/fs/cgroup/systemd": "cgroup ro",
		"/data":                  "ro",
		"/etc/bound.txt":         "rw",
		"/run":                   "tmpfs ro",
		"/run/sub":               "rw",
		"/proc/timer_list":       "",
		"/proc/sys":              "proc ro",
		"/proc/keys":             "proc ro",
		"/proc/irq":              "proc ro",
		"/sys/firmware":          "tmpfs ro",
		"/dev/console":           "devpts",
	} {
		checkMount(ch, mounts, mp, want)
	}
	if _, ok := mounts["/does/not/exist"]; ok {
		ch.errorf("a missing masked path was mounted")
	}
	checkNodeAt(ch, "/dev/null", unix.S_IFCHR|0o666, 1, 3)
	checkNodeAt(ch, "/dev/tty", unix.S_IFCHR|0o666, 5, 0)
	checkNodeAt(ch, "/dev/myfull", unix.S_IFCHR|0o600, 1, 7)
	checkNodeAt(ch, "/dev/fifo", unix.S_IFIFO|0o644, 0, 0)
	var st unix.Stat_t
	if err := unix.Lstat("/dev/myfull", &st); err != nil || st.Uid != 1 || st.Gid != 2 {
		ch.errorf("/dev/myfull owner %d:%d (%v), want 1:2", st.Uid, st.Gid, err)
	}
	for name, target := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/ptmx": "pts/ptmx",
	} {
		if got, err := os.Readlink(name); err != nil || got != target {
			ch.errorf("%s -> %q (%v), want %q", name, got, err, target)
		}
	}
	if err := unix.Stat("/dev/console", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 136 {
		ch.errorf("/dev/console is not the pty: mode %o rdev %d:%d (%v)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), err)
	}
	checkNodeAt(ch, "/proc/timer_list", unix.S_IFCHR|0o666, 1, 3)
	checkContent(ch, "/proc/timer_list", "")
	if entries, err := os.ReadDir("/sys/firmware"); err != nil || len(entries) != 0 {
		ch.errorf("/sys/firmware is not an empty directory: %v %v", entries, err)
	}
	checkContent(ch, "/proc/sys/kernel/msgmax", "12345\n")
	checkContent(ch, "/proc/sys/net/ipv4/ip_forward", "1\n")
	checkContent(ch, "/data/hello", "world")
	checkContent(ch, "/run/sub/hello", "world")
	checkContent(ch, "/etc/bound.txt", "bound-file")
	for _, p := range []string{"/newfile", "/data/new", "/sys/firmware/new", "/run/new", "/dev/new", "/sys/fs/cgroup/new"} {
		checkReadonly(ch, p)
	}
	if err := os.WriteFile("/proc/sys/kernel/msgmax", []byte("1"), 0); !errors.Is(err, unix.EROFS) {
		ch.errorf("write to the read-only /proc/sys: %v, want EROFS", err)
	}
	if f, err := os.CreateTemp("/dev/shm", "x"); err != nil {
		ch.errorf("/dev/shm is not writable: %v", err)
	} else {
		f.Close()
	}
	return ch.err()
}

// scenarioEscape mounts on destinations that are symlinks pointing out of
// the rootfs (CVE-2021-30465). Before pivot_root, while the host's tree is
// still visible, nothing may be mounted on the outside paths, and the
// mounts must be at the same paths inside the rootfs.
func scenarioEscape(c *childConfig) error {
	outside, outsideFile, rootfs := c.Extra["outside"], c.Extra["outsideFile"], c.Plan.Rootfs
	o := c.options()
	o.BeforePivot = func() error {
		ch := &checker{}
		mounts, err := containerMounts()
		if err != nil {
			return err
		}
		for mp := range mounts {
			if mp == outside || mp == outsideFile || strings.HasPrefix(mp, outside+"/") {
				ch.errorf("ESCAPED: something is mounted at %s, outside the rootfs", mp)
			}
		}
		for _, mp := range []string{rootfs + outside, rootfs + outside + "/sub", rootfs + outsideFile} {
			if _, ok := mounts[mp]; !ok {
				ch.errorf("nothing mounted at %s inside the rootfs", mp)
			}
		}
		checkContent(ch, filepath.Join(outside, "marker"), "outside")
		checkContent(ch, outsideFile, "outside-file")
		return ch.err()
	}
	if err := Prepare(&c.Plan, o); err != nil {
		return err
	}
	ch := &checker{}
	checkContent(ch, "/marker", "rootfs")
	checkContent(ch, outsideFile, "bound")
	return ch.err()
}

// scenarioPrepareError expects Prepare to fail with Extra["want"] in the
// message, and nothing mounted outside the rootfs.
func scenarioPrepareError(c *childConfig) error {
	err := Prepare(&c.Plan, c.options())
	if err == nil {
		return fmt.Errorf("Prepare succeeded, want an error containing %q", c.Extra["want"])
	}
	if !strings.Contains(err.Error(), c.Extra["want"]) {
		return fmt.Errorf("Prepare: %q, want it to contain %q", err, c.Extra["want"])
	}
	fmt.Println("error:", err)
	return nil
}

// scenarioDevNull: the image's /dev/null is a file or a symlink to a
// secret (CVE-2025-31133); /dev is not a mount, so Prepare creates the
// nodes in the image's /dev. Masking must use a real null device.
func scenarioDevNull(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	if err := Finish(&c.Plan); err != nil {
		return err
	}
	ch := &checker{}
	checkNodeAt(ch, "/dev/null", unix.S_IFCHR|0o666, 1, 3)
	checkNodeAt(ch, "/secret", unix.S_IFCHR|0o666, 1, 3)
	checkContent(ch, "/secret", "")
	checkContent(ch, "/secret2", "other-secret")
	return ch.err()
}

// scenarioDevNullFake: /dev is a bind mount of a directory whose "null" is
// a file or a symlink. Nothing replaces it, so Finish must refuse to mask
// with it rather than bind it over the masked path.
func scenarioDevNullFake(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	err := Finish(&c.Plan)
	ch := &checker{}
	want := `linux.maskedPaths[0] "/secret": the container's /dev/null is a`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "refusing") {
		ch.errorf("Finish: %v, want an error containing %q", err, want)
	}
	checkContent(ch, "/secret", "topsecret")
	checkContent(ch, "/secret2", "other-secret")
	return ch.err()
}

func scenarioNoPivot(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	if err := Finish(&c.Plan); err != nil {
		return err
	}
	ch := &checker{}
	checkContent(ch, "/marker", "rootfs")
	if wd, _ := os.Getwd(); wd != "/" {
		ch.errorf("cwd is %q", wd)
	}
	mounts, err := containerMounts()
	if err != nil {
		return err
	}
	checkMount(ch, mounts, "/proc", "proc")
	checkNodeAt(ch, "/proc/timer_list", unix.S_IFCHR|0o666, 1, 3)
	return ch.err()
}

// scenarioUserNS: in a user namespace without a network namespace, devices
// are bind mounts of the host's and /sys is the host's /sys bound.
func scenarioUserNS(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	if err := Finish(&c.Plan); err != nil {
		return err
	}
	ch := &checker{}
	mounts, err := containerMounts()
	if err != nil {
		return err
	}
	checkMount(ch, mounts, "/dev/null", "devtmpfs")
	checkMount(ch, mounts, "/dev/zero", "devtmpfs")
	checkMount(ch, mounts, "/sys", "sysfs ro nosuid nodev noexec")
	checkMount(ch, mounts, "/sys/fs/cgroup/memory", "cgroup ro")
	checkMount(ch, mounts, "/data", "ro")
	checkMount(ch, mounts, "/", "ro")
	checkNodeAt(ch, "/dev/null", unix.S_IFCHR|0o666, 1, 3)
	checkNodeAt(ch, "/proc/timer_list", unix.S_IFCHR|0o666, 1, 3)
	checkContent(ch, "/proc/timer_list", "")
	checkReadonly(ch, "/sys/fs/cgroup/memory/x")
	checkReadonly(ch, "/data/x")
	if f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0); err != nil {
		ch.errorf("open /dev/null: %v", err)
	} else {
		f.Close()
	}
	return ch.err()
}

// scenarioSysctlFakeProc: the container has no procfs, only the image's
// /proc directory with a file where the sysctl would be (CVE-2019-16884,
// CVE-2025-52881). The value must reach the kernel, not the file.
func scenarioSysctlFakeProc(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	if err := WriteSysctls(c.Plan.Sysctl); err != nil {
		return err
	}
	ch := &checker{}
	checkContent(ch, "/proc/sys/kernel/msgmax", "fake")
	if err := unix.Mount("proc", "/mnt", "proc", 0, ""); err != nil {
		return fmt.Errorf("mount a procfs to check: %w", err)
	}
	checkContent(ch, "/mnt/sys/kernel/msgmax", "4242\n")
	if err := WriteSysctls(map[string]string{"kernel..msgmax": "1"}); err == nil {
		ch.errorf("a sysctl key with an empty component was accepted")
	}
	return ch.err()
}

// scenarioConsoleTarget: /dev/console was swapped for a symlink after
// Prepare (CVE-2025-52565); MountConsole must refuse it, and refuse an fd
// that is not a pty slave.
func scenarioConsoleTarget(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	ch := &checker{}
	var st unix.Stat_t
	if err := unix.Lstat("/dev/console", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		ch.errorf("Prepare made no regular /dev/console: mode %o, %v", st.Mode, err)
	}
	notPty, err := os.Open("/marker")
	if err != nil {
		return err
	}
	defer notPty.Close()
	if err := MountConsole(notPty); err == nil || !strings.Contains(err.Error(), "not a pty") {
		ch.errorf("MountConsole(regular file): %v", err)
	}
	if err := os.Remove("/dev/console"); err != nil {
		return err
	}
	if err := os.Symlink("/etc/target", "/dev/console"); err != nil {
		return err
	}
	master, slave, err := openPty()
	if err != nil {
		return err
	}
	defer master.Close()
	defer slave.Close()
	if err := MountConsole(slave); err == nil || !strings.Contains(err.Error(), "symlink") {
		ch.errorf("MountConsole onto a symlink: %v", err)
	}
	mounts, err := containerMounts()
	if err != nil {
		return err
	}
	if _, ok := mounts["/etc/target"]; ok {
		ch.errorf("the pty was mounted on the symlink's target")
	}
	// Not read: a pty mounted there would block the read forever.
	if err := unix.Stat("/etc/target", &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != int64(len("target")) {
		ch.errorf("/etc/target changed: mode %o size %d (%v)", st.Mode, st.Size, err)
	}
	return ch.err()
}

// scenarioCgroupNS: with a cgroup namespace, the v1 hierarchies are new
// mounts rooted at the namespace's root, not binds of the host's tree.
func scenarioCgroupNS(c *childConfig) error {
	if err := Prepare(&c.Plan, c.options()); err != nil {
		return err
	}
	if err := Finish(&c.Plan); err != nil {
		return err
	}
	ch := &checker{}
	mounts, err := containerMounts()
	if err != nil {
		return err
	}
	checkMount(ch, mounts, "/sys/fs/cgroup", "tmpfs ro")
	checkMount(ch, mounts, "/sys/fs/cgroup/memory", "cgroup ro")
	checkMount(ch, mounts, "/sys/fs/cgroup/systemd", "cgroup ro")
	if _, err := os.Stat("/sys/fs/cgroup/memory/cgroup.procs"); err != nil {
		ch.errorf("the memory hierarchy is not mounted: %v", err)
	}
	if top := c.Extra["hostMemoryTop"]; top != "" {
		if _, err := os.Stat("/sys/fs/cgroup/memory/" + top); err == nil {
			ch.errorf("the host's memory hierarchy is visible: /sys/fs/cgroup/memory/%s exists", top)
		}
	}
	return ch.err()
}

// openPty allocates a pty from the container's /dev/ptmx. The master must
// stay open while the slave is used: closing it deletes the slave.
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err == nil {
		err = unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0)
	}
	if err == nil {
		slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|unix.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("allocate a pty: %w", err)
	}
	return master, slave, nil
}

type mountLine struct {
	fstype, opts string
}

// containerMounts reads /proc/self/mountinfo: mount point -> the topmost
// mount there.
func containerMounts() (map[string]mountLine, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]mountLine{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := 6
		for sep < len(fields) && fields[sep] != "-" {
			sep++
		}
		if sep+1 >= len(fields) {
			continue
		}
		out[fields[4]] = mountLine{fstype: fields[sep+1], opts: fields[5]}
	}
	return out, sc.Err()
}

// checkMount: want is "[fstype] [option...]"; a word that is a mount option
// is looked up in the per-mount options.
func checkMount(ch *checker, mounts map[string]mountLine, mp, want string) {
	m, ok := mounts[mp]
	if !ok {
		ch.errorf("nothing is mounted at %s", mp)
		return
	}
	opts := strings.Split(m.opts, ",")
	for i, w := range strings.Fields(want) {
		if i == 0 && !isMountOption(w) {
			if m.fstype != w {
				ch.errorf("%s is a %s mount, want %s", mp, m.fstype, w)
			}
			continue
		}
		found := false
		for _, o := range opts {
			found = found || o == w
		}
		if !found {
			ch.errorf("%s is mounted %s, want %s", mp, m.opts, w)
		}
	}
}

func isMountOption(w string) bool {
	switch w {
	case "ro", "rw", "nosuid", "nodev", "noexec", "relatime", "noatime":
		return true
	}
	return false
}

func checkNodeAt(ch *checker, path string, mode uint32, major, minor uint32) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		ch.errorf("%s: %v", path, err)
		return
	}
	if st.Mode != mode || (mode&unix.S_IFMT != unix.S_IFIFO && st.Rdev != unix.Mkdev(major, minor)) {
		ch.errorf("%s is %s %o %d:%d, want %o %d:%d", path, fileKind(st.Mode), st.Mode,
			unix.Major(st.Rdev), unix.Minor(st.Rdev), mode, major, minor)
	}
}

func checkContent(ch *checker, path, want string) {
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		ch.errorf("%s holds %q (%v), want %q", path, got, err, want)
	}
}

func checkReadonly(ch *checker, path string) {
	f, err := os.Create(path)
	if err == nil {
		f.Close()
		ch.errorf("%s could be created on a read-only mount", path)
	} else if !errors.Is(err, unix.EROFS) {
		ch.errorf("create %s: %v, want EROFS", path, err)
	}
}

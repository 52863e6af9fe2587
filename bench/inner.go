package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// bench is one benchmark run, inside the private mount namespace.
type bench struct {
	opt          *options
	dir          string // the temporary directory; everything on disk is in it
	rootfs       string
	bundles      string
	floor        string
	measure      string // the helper every timed call runs under
	cgroupParent string
	runtimes     []*runtimeBin // installed ones, hull first
	res          *results
	sinks        map[string]*sink // per runtime (and the floor)
	workerSinks  map[string]*sink // per runtime and throughput worker
	notes        []string
	loads        []loadMark
	started      time.Time

	liveMu sync.Mutex
	live   map[*container]bool // containers that may exist

	stop atomic.Bool
}

type loadMark struct {
	When    string `json:"when"`
	At      string `json:"at"`
	LoadAvg string `json:"loadavg"`
}

func (b *bench) stopping() bool { return b.stop.Load() }

func (b *bench) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, n)
	fmt.Println("note:", n)
}

func (b *bench) markLoad(when string) {
	data, _ := os.ReadFile("/proc/loadavg")
	m := loadMark{When: when, At: time.Now().Format(time.RFC3339), LoadAvg: strings.TrimSpace(string(data))}
	b.loads = append(b.loads, m)
	fmt.Printf("load %-16s %s  (%s)\n", when+":", m.LoadAvg, m.At)
}

// inner is the benchmark proper, run by the re-execution under unshare.
func inner(o *options) error {
	if err := checkPrivateMountNamespace(); err != nil {
		return err
	}
	b := &bench{
		opt:          o,
		cgroupParent: o.innerParent,
		res:          &results{series: map[string]map[string]*seriesResult{}, ended: map[string]bool{}},
		sinks:        map[string]*sink{},
		workerSinks:  map[string]*sink{},
		live:         map[*container]bool{},
		started:      time.Now(),
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for range sigs {
			if !b.stop.Swap(true) {
				fmt.Fprintln(os.Stderr, "bench: stopping after the calls under way; cleaning up")
			}
		}
	}()

	if err := detachCgroup2(b); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hull-bench-")
	if err != nil {
		return err
	}
	b.dir = dir
	defer b.removeDir()
	// On real hosts the runtimes' state lives under /run, a tmpfs (fsync
	// and metadata writes cost nothing there): so it does here, in this
	// private mount namespace, for every runtime alike.
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("tmpfs for the benchmark's state and bundles: %w", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	// Traversable by the containers' processes, whatever their user.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	b.rootfs = filepath.Join(dir, "rootfs")
	b.bundles = filepath.Join(dir, "bundles")
	if err := os.Mkdir(b.bundles, 0o755); err != nil {
		return err
	}
	if err := buildRootfs(b.rootfs); err != nil {
		return err
	}
	if b.floor, err = buildC(dir, "floor", floorSource); err != nil {
		return err
	}
	if b.measure, err = buildC(dir, "measure", measureSource); err != nil {
		return err
	}
	if err := b.findRuntimes(); err != nil {
		return err
	}
	for _, name := range append(b.runtimeNames(), floorName) {
		if b.sinks[name], err = newSink(dir, name); err != nil {
			return err
		}
		for w := 0; w < 2; w++ {
			k := fmt.Sprintf("%s-%d", name, w)
			if b.workerSinks[k], err = newSink(dir, k); err != nil {
				return err
			}
		}
	}

	runErr := b.runAll()
	if errs := b.cleanup(); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "bench: cleanup:", e)
		}
		runErr = errors.Join(runErr, errors.New("some containers could not be deleted (see above)"))
	}
	b.markLoad("end")
	b.report()
	if err := b.writeJSON(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	return runErr
}

// checkPrivateMountNamespace refuses to go on unless this process is in a
// mount namespace other than its parent's: it is about to unmount things.
func checkPrivateMountNamespace() error {
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return err
	}
	parent, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", os.Getppid()))
	if err != nil {
		return err
	}
	if self == parent {
		return errors.New("-inner is for the re-execution under `unshare -m`; run the benchmark without it")
	}
	return nil
}

// detachCgroup2 unmounts the cgroup2 hierarchy of a hybrid host in this
// private mount namespace: crun 1.8 refuses hybrid hosts, and every runtime
// must see the same cgroups, so all of them then see pure v1.
func detachCgroup2(b *bench) error {
	ms, err := readMounts()
	if err != nil {
		return err
	}
	v1 := false
	var v2 []string
	for _, m := range ms {
		switch m.fsType {
		case "cgroup":
			v1 = true
		case "cgroup2":
			v2 = append(v2, m.point)
		}
	}
	if !v1 || len(v2) == 0 {
		return nil
	}
	for _, p := range v2 {
		if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting %s in the benchmark's mount namespace: %w", p, err)
		}
	}
	b.note("hybrid cgroups: %s unmounted in the benchmark's private mount namespace (crun 1.8 refuses hybrid hosts), so every runtime sees and uses cgroup v1 only", strings.Join(v2, ", "))
	return nil
}

func (b *bench) runtimeNames() []string {
	var ns []string
	for _, rt := range b.runtimes {
		ns = append(ns, rt.name)
	}
	return ns
}

// findRuntimes resolves hull (required) and runc and crun (skipped with a
// note when missing), and lets each make its --root with an untimed list.
func (b *bench) findRuntimes() error {
	for _, c := range []struct{ name, path string }{{"hull", b.opt.hull}, {"runc", b.opt.runc}, {"crun", b.opt.crun}} {
		path, err := resolve(c.path)
		if err != nil {
			if c.name == "hull" {
				return fmt.Errorf("hull binary %s: %w (run `make` first or pass -hull)", c.path, err)
			}
			b.note("%s is not installed (%v): skipped", c.name, err)
			continue
		}
		rt := &runtimeBin{name: c.name, path: path, root: filepath.Join(b.dir, "state-"+c.name)}
		v, _ := exec.Command(path, "--version").CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(v)), "\n")
		rt.version = lines[0]
		if len(lines) > 1 && strings.HasPrefix(lines[1], "commit") {
			rt.version += ", " + lines[1]
		}
		if out, err := exec.Command(path, "--root", rt.root, "list").CombinedOutput(); err != nil {
			fmt.Printf("warning: %s list on an empty root: %v: %s\n", c.name, err, out)
		}
		b.runtimes = append(b.runtimes, rt)
	}
	return nil
}

func resolve(p string) (string, error) {
	if !strings.Contains(p, "/") {
		return exec.LookPath(p)
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", err
	}
	return abs, nil
}

func (b *bench) printHeader() {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	fmt.Printf("hull start-up benchmark, %s\n", b.started.Format("2006-01-02 15:04:05 MST"))
	fmt.Printf("host: %s, kernel %s, %d CPUs\n", osName(), strings.TrimSpace(string(kernel)), nproc())
	for _, rt := range b.runtimes {
		fmt.Printf("runtime %-5s %s (%s)\n", rt.name, rt.version, rt.path)
	}
	fmt.Printf("floor: %s (C: clone with 5 new namespaces, private /, bind rootfs, pivot_root, mount /proc, exec /bin/true)\n", b.floor)
	fmt.Printf("rounds %d (run, lifecycle, exec, scale), throughput %d round(s) of %d containers, scale with %d present\n",
		b.opt.rounds, b.opt.thrRounds, b.opt.thrCount, b.opt.scaleCount)
}

func osName() string {
	data, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "unknown OS"
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "unknown OS"
}

func nproc() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0
	}
	return set.Count()
}

// runAll runs the phases in turn; each interleaves the runtimes itself.
func (b *bench) runAll() error {
	b.printHeader()
	b.markLoad("start")
	// One untimed run each first: page cache, dentries, the runtimes'
	// first-use work. A runtime that cannot run at all shows here.
	for _, rt := range b.runtimes {
		c, err := b.newContainer(rt, trueArgs)
		if err != nil {
			return err
		}
		if _, err := b.call(rt, b.sinks[rt.name], "run", "--bundle", c.bundle, c.id); err != nil {
			fmt.Printf("warm-up: %v\n", err)
			b.forceDelete(c, b.sinks[rt.name])
			continue
		}
		b.forget(c)
	}
	if _, err := b.timed(b.sinks[floorName], b.floor, b.rootfs); err != nil {
		fmt.Printf("warm-up: %v\n", err)
	}

	phase := func(name string, f func()) {
		if b.stopping() {
			return
		}
		t0 := time.Now()
		fmt.Printf("phase %s ...\n", name)
		f()
		fmt.Printf("phase %s done in %.1f s\n", name, time.Since(t0).Seconds())
		b.markLoad("after " + name)
	}
	phase("run+lifecycle", func() {
		for round := 1; round <= b.opt.rounds && !b.stopping(); round++ {
			// Which block goes first is random too.
			for _, f := range shuffled([]func(int){b.runRound, b.lifecycleRound}) {
				f(round)
			}
			if round%10 == 0 {
				fmt.Printf("  round %d/%d\n", round, b.opt.rounds)
			}
		}
	})
	phase("exec", b.execPhase)
	phase("throughput", b.throughputPhase)
	phase("scale", b.scalePhase)
	if b.stopping() {
		return errors.New("interrupted; the results so far are reported")
	}
	return nil
}

// removeDir removes the temporary directory unless something is mounted
// below it (removing through a mount could delete what is not ours).
func (b *bench) removeDir() {
	ms, err := readMounts()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: keeping", b.dir+":", err)
		return
	}
	for _, m := range ms {
		if m.point == b.dir || strings.HasPrefix(m.point, b.dir+"/") {
			fmt.Fprintf(os.Stderr, "bench: keeping %s: %s is mounted in it\n", b.dir, m.point)
			return
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
}

// Command bench measures container start-up side by side: hull, runc, crun
// and a C floor program (the least work a container start needs), run
// interleaved round-robin so that the noise of a shared machine hits every
// runtime equally. It prints a table and hull's ratios, and writes every
// raw sample as JSON. Run it as root: `make bench` (QUICK=1 for a short run).
//
// The process re-executes itself under `unshare -m --propagation private`:
// everything happens in one private mount namespace, where the hybrid
// host's cgroup2 mount (/sys/fs/cgroup/unified) is detached, because crun
// 1.8 refuses hybrid hosts. The outer process owns the benchmark's cgroup
// parent (/hull-bench-<random> in every hierarchy): it creates it before
// and removes it after, from the host's mount namespace where every
// hierarchy, the unified one included, is still visible.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

type options struct {
	rounds      int           // rounds of the run, lifecycle, exec and scale series
	thrRounds   int           // rounds of the throughput series
	thrCount    int           // containers per throughput loop
	scaleCount  int           // containers present for the scale series
	timeout     time.Duration // for any single runtime call
	hull        string
	runc        string
	crun        string
	jsonPath    string
	quick       bool
	innerParent string // set only in the re-executed inner process
}

func parseFlags() *options {
	o := &options{}
	flag.IntVar(&o.rounds, "rounds", 100, "rounds of the run, lifecycle, exec and scale series")
	flag.IntVar(&o.thrRounds, "throughput-rounds", 5, "rounds of the throughput series")
	flag.IntVar(&o.thrCount, "throughput-count", 20, "containers per throughput loop")
	flag.IntVar(&o.scaleCount, "scale", 100, "containers present for the scale series")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "limit for any single runtime call")
	flag.StringVar(&o.hull, "hull", "./hull", "the hull binary (`make` builds ./hull)")
	flag.StringVar(&o.runc, "runc", "runc", "the runc binary (skipped with a note if missing)")
	flag.StringVar(&o.crun, "crun", "crun", "the crun binary (skipped with a note if missing)")
	flag.StringVar(&o.jsonPath, "json", "", "write raw samples and summaries here (default: a new /tmp/hull-bench-*.json)")
	flag.BoolVar(&o.quick, "quick", false, "20 rounds and 1 throughput round: under two minutes")
	flag.StringVar(&o.innerParent, "inner", "", "internal: the cgroup parent, set by the re-execution inside the private mount namespace")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["rounds"] {
			o.rounds = 20
		}
		if !set["throughput-rounds"] {
			o.thrRounds = 1
		}
	}
	return o
}

func main() {
	// Output piped into head(1) must not kill the benchmark before it has
	// deleted its containers: a write then fails instead.
	signal.Ignore(syscall.SIGPIPE)
	o := parseFlags()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "bench: unexpected argument %q (flags only; see -help)\n", flag.Arg(0))
		os.Exit(2)
	}
	if o.rounds < 1 || o.thrRounds < 0 || o.thrCount < 2 || o.scaleCount < 0 {
		fmt.Fprintln(os.Stderr, "bench: -rounds must be ≥ 1, -throughput-rounds ≥ 0, -throughput-count ≥ 2, -scale ≥ 0")
		os.Exit(2)
	}
	var err error
	if o.innerParent != "" {
		err = inner(o)
	} else {
		err = outer()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// outer prepares the cgroup parent, runs the benchmark in a private mount
// namespace and removes the cgroup parent afterwards, whatever happened.
func outer() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (it creates containers, mounts and cgroups); try `sudo make bench`")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return fmt.Errorf("unshare(1) from util-linux is needed for the private mount namespace: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to re-execute it: %w", err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	parent := "/hull-bench-" + hex.EncodeToString(b)

	// Removed even when making it failed half-way: only directories with
	// this run's random name are touched.
	defer func() {
		if err := removeCgroupParent(parent); err != nil {
			fmt.Fprintln(os.Stderr, "bench: FAIL: cgroups left behind:", err)
		}
	}()
	if err := makeCgroupParent(parent); err != nil {
		return err
	}

	args := append([]string{"-m", "--propagation", "private", self, "-inner", parent}, os.Args[1:]...)
	cmd := exec.Command(unshare, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// A Ctrl-C reaches the inner process from the terminal; it stops at the
	// next call and cleans up. This process only waits for that to finish.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the benchmark under unshare -m: %w", err)
	}
	go func() {
		for s := range sigs {
			if s == syscall.SIGTERM { // not from the terminal: pass it on
				cmd.Process.Signal(s)
			}
		}
	}()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("benchmark: %w", err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runtimeBin is one OCI runtime binary under test, with a state directory
// (--root) of its own in the benchmark's temporary directory.
type runtimeBin struct {
	name    string
	path    string
	root    string
	version string
	next    atomic.Int64 // numbers container ids and cgroups
}

// floorName is the pseudo-runtime of the floor program in the results.
const floorName = "floor"

// sample is one timed call, as the measure helper saw it. CPU is user+sys
// of the called process and of every descendant it waited for (wait4's
// rusage); MaxRSSKiB is ru_maxrss of the same set, which is the largest
// single process among them, not a sum.
type sample struct {
	Round     int     `json:"round"`
	WallMs    float64 `json:"wall_ms"`
	UserMs    float64 `json:"user_ms"`
	SysMs     float64 `json:"sys_ms"`
	CPUMs     float64 `json:"cpu_ms"`
	MaxRSSKiB int64   `json:"maxrss_kib"`
}

// callError is a failed call, with what the runtime printed.
type callError struct {
	args   []string
	err    error
	output string
}

func (e *callError) Error() string {
	return fmt.Sprintf("%s: %v\n%s", strings.Join(e.args, " "), e.err, strings.TrimSpace(e.output))
}

// sink is where a call's stdout and stderr go (f) and where the measure
// helper reports (m): regular files, never pipes, because a container
// created by the call inherits the runtime's stdio and would hold a pipe
// open (and Wait with it) for its whole life.
type sink struct {
	f, m *os.File
}

func newSink(dir, name string) (*sink, error) {
	f, err := os.OpenFile(filepath.Join(dir, name+".out"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	m, err := os.OpenFile(filepath.Join(dir, name+".measure"), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sink{f: f, m: m}, nil
}

func (s *sink) reset() {
	for _, f := range []*os.File{s.f, s.m} {
		f.Truncate(0)
		f.Seek(0, io.SeekStart)
	}
}

func (s *sink) text() string {
	const most = 4096
	buf := make([]byte, most)
	n, _ := s.f.ReadAt(buf, 0)
	return string(buf[:n])
}

// timed runs path with args under the measure helper, output to out, and
// returns the helper's measurement. The helper gets its own process group
// so a Ctrl-C from the terminal reaches only the benchmark, which then
// finishes the call and cleans up.
func (b *bench) timed(out *sink, path string, args ...string) (sample, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.opt.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.measure, append([]string{path}, args...)...)
	out.reset()
	cmd.Stdout, cmd.Stderr = out.f, out.f
	cmd.ExtraFiles = []*os.File{out.m} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := cmd.Run()
	full := append([]string{filepath.Base(path)}, args...)
	if ctx.Err() != nil {
		return sample{}, &callError{args: full, err: fmt.Errorf("no answer within %v (killed)", b.opt.timeout), output: out.text()}
	}
	if err != nil {
		return sample{}, &callError{args: full, err: err, output: out.text()}
	}
	var wallNs, userUs, sysUs, rssKiB int64
	report := make([]byte, 256)
	n, _ := out.m.ReadAt(report, 0)
	if _, err := fmt.Sscan(string(report[:n]), &wallNs, &userUs, &sysUs, &rssKiB); err != nil {
		return sample{}, &callError{args: full, err: fmt.Errorf("the measure helper reported %q: %v", report[:n], err)}
	}
	s := sample{
		WallMs:    float64(wallNs) / 1e6,
		UserMs:    float64(userUs) / 1e3,
		SysMs:     float64(sysUs) / 1e3,
		MaxRSSKiB: rssKiB,
	}
	s.CPUMs = s.UserMs + s.SysMs
	return s, nil
}

// call runs one verb of rt (with its --root) and measures it.
func (b *bench) call(rt *runtimeBin, out *sink, args ...string) (sample, error) {
	return b.timed(out, rt.path, append([]string{"--root", rt.root}, args...)...)
}

// container is one container id of a runtime and its bundle directory.
type container struct {
	rt     *runtimeBin
	id     string
	bundle string
}

// newContainer writes a bundle for a new container id of rt, whose cgroup
// is the id under the benchmark's cgroup parent. The id is registered as
// possibly existing until forget: cleanup deletes it if it is still there.
func (b *bench) newContainer(rt *runtimeBin, args []string) (*container, error) {
	id := fmt.Sprintf("%s-%d", rt.name, rt.next.Add(1))
	c := &container{rt: rt, id: id, bundle: filepath.Join(b.bundles, id)}
	spec := containerSpec(b.rootfs, b.cgroupParent+"/"+id, args)
	if err := writeBundle(c.bundle, spec); err != nil {
		return nil, err
	}
	b.liveMu.Lock()
	b.live[c] = true
	b.liveMu.Unlock()
	return c, nil
}

// forget drops a deleted container from the cleanup list and its bundle.
func (b *bench) forget(c *container) {
	b.liveMu.Lock()
	delete(b.live, c)
	b.liveMu.Unlock()
	os.RemoveAll(c.bundle)
}

// forceDelete removes a container in whatever state it is, untimed.
func (b *bench) forceDelete(c *container, out *sink) error {
	_, err := b.call(c.rt, out, "delete", "--force", c.id)
	if err != nil {
		// Gone already (a failed create cleaned up after itself) is fine.
		if _, serr := b.call(c.rt, out, "state", c.id); serr != nil {
			b.forget(c)
			return nil
		}
		return err
	}
	b.forget(c)
	return nil
}

// cleanup deletes (--force) every container the benchmark may have left,
// then anything else in the runtimes' own --root directories, which are
// the benchmark's too.
func (b *bench) cleanup() []error {
	var errs []error
	out, err := newSink(b.dir, "cleanup")
	if err != nil {
		return []error{err}
	}
	b.liveMu.Lock()
	var cs []*container
	for c := range b.live {
		cs = append(cs, c)
	}
	b.liveMu.Unlock()
	for _, c := range cs {
		if err := b.forceDelete(c, out); err != nil {
			errs = append(errs, err)
		}
	}
	for _, rt := range b.runtimes {
		if _, err := b.call(rt, out, "list", "-q"); err != nil {
			continue
		}
		for _, id := range strings.Fields(out.text()) {
			if _, err := b.call(rt, out, "delete", "--force", id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// readPid reads a runtime's --pid-file.
func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q", path, data)
	}
	return pid, nil
}

// exitWatch tells when a container's process, not a child of the
// benchmark, has exited: a pidfd becomes readable then. It is opened while
// the process is known to be alive (created, waiting for start), so the pid
// cannot have been reused.
type exitWatch struct {
	fd int // -1: the process was gone already
}

func watchExit(pid int) (*exitWatch, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return &exitWatch{fd: -1}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	return &exitWatch{fd: fd}, nil
}

func (w *exitWatch) wait(timeout time.Duration) error {
	if w.fd < 0 {
		return nil
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("the container's process did not exit within %v", timeout)
		}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

func (w *exitWatch) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
}

// results holds every series' samples per runtime, and failures.
type results struct {
	mu     sync.Mutex
	series map[string]map[string]*seriesResult
	ended  map[string]bool // group/runtime
}

type seriesResult struct {
	Samples    []sample     `json:"samples,omitempty"`
	Throughput []throughput `json:"throughput,omitempty"`
	Failed     string       `json:"failed,omitempty"` // the first failure, with the runtime's output
	Summary    *summary     `json:"summary,omitempty"`
}

// throughput is one loop of the throughput series.
type throughput struct {
	Round      int     `json:"round"`
	Parallel   int     `json:"parallel"`
	Containers int     `json:"containers"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
}

func (r *results) get(series, rt string) *seriesResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.series[series] == nil {
		r.series[series] = map[string]*seriesResult{}
	}
	sr := r.series[series][rt]
	if sr == nil {
		sr = &seriesResult{}
		r.series[series][rt] = sr
	}
	return sr
}

func (r *results) add(series, rt string, s sample) {
	sr := r.get(series, rt)
	r.mu.Lock()
	sr.Samples = append(sr.Samples, s)
	r.mu.Unlock()
}

// fail marks series failed for rt and ends its group; the first failure
// is kept and printed.
func (r *results) fail(group, series, rt string, err error) {
	r.end(group, rt)
	sr := r.get(series, rt)
	r.mu.Lock()
	first := sr.Failed == ""
	if first {
		sr.Failed = err.Error()
	}
	r.mu.Unlock()
	if first {
		fmt.Printf("FAIL %s %s: %v\n", series, rt, err)
	}
}

// end stops a group of series (lifecycle, scale, ...) for rt: after a
// failure the rest would measure nothing useful.
func (r *results) end(group, rt string) {
	r.mu.Lock()
	r.ended[group+"/"+rt] = true
	r.mu.Unlock()
}

func (r *results) isEnded(group, rt string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended[group+"/"+rt]
}

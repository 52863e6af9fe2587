package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"time"
)

// Series names, and the groups of series that end together when one of
// their calls fails.
const (
	seriesRun      = "run"
	seriesExec     = "exec"
	thrP1          = "throughput_p1"
	thrP2          = "throughput_p2"
	groupLifecycle = "lifecycle"
	groupScale     = "scale"
)

// lifecycleVerbs are timed one by one on the same container.
var lifecycleVerbs = []string{"create", "start", "state", "kill", "delete"}

// scaleSeries are timed with 0 and with -scale other containers present.
func scaleSeries(n int) []string {
	return []string{
		fmt.Sprintf("scale%d_create", n), fmt.Sprintf("scale%d_state", n), fmt.Sprintf("scale%d_delete", n),
	}
}

// exitTimeout bounds the wait for a container's process to end after a
// SIGKILL or after its /bin/true was started; it is not part of any time.
const exitTimeout = 10 * time.Second

// shuffled returns a copy of xs in a new random order, for one round.
func shuffled[T any](xs []T) []T {
	ys := append([]T(nil), xs...)
	rand.Shuffle(len(ys), func(i, j int) { ys[i], ys[j] = ys[j], ys[i] })
	return ys
}

// runRound times `run` of /bin/true for every runtime and the floor once.
func (b *bench) runRound(round int) {
	type entrant struct {
		rt   *runtimeBin // nil: the floor
		name string
	}
	es := []entrant{{name: floorName}}
	for _, rt := range b.runtimes {
		es = append(es, entrant{rt: rt, name: rt.name})
	}
	for _, e := range shuffled(es) {
		if b.stopping() || b.res.isEnded(seriesRun, e.name) {
			continue
		}
		out := b.sinks[e.name]
		if e.rt == nil {
			s, err := b.timed(out, b.floor, b.rootfs)
			if err != nil {
				b.res.fail(seriesRun, seriesRun, floorName, err)
				continue
			}
			s.Round = round
			b.res.add(seriesRun, floorName, s)
			continue
		}
		c, err := b.newContainer(e.rt, trueArgs)
		if err != nil {
			b.res.fail(seriesRun, seriesRun, e.name, err)
			continue
		}
		s, err := b.call(e.rt, out, "run", "--bundle", c.bundle, c.id)
		if err != nil {
			b.res.fail(seriesRun, seriesRun, e.name, err)
			b.forceDelete(c, out)
			continue
		}
		s.Round = round
		b.res.add(seriesRun, e.name, s)
		b.forget(c) // run deletes the container itself
	}
}

// lifecycleRound times create, start, state, kill KILL and delete, one by
// one on one container, for every runtime once. The container runs sleep,
// so it is still running when kill comes. Between kill and delete the
// benchmark waits (untimed) for the container's process to end, so delete
// always meets a stopped container.
func (b *bench) lifecycleRound(round int) {
	for _, rt := range shuffled(b.runtimes) {
		if b.stopping() {
			return
		}
		if b.res.isEnded(groupLifecycle, rt.name) {
			continue // a failed verb ends the runtime's lifecycle series
		}
		b.lifecycleOnce(rt, round)
	}
}

func (b *bench) lifecycleOnce(rt *runtimeBin, round int) {
	out := b.sinks[rt.name]
	failAt := func(verb string, err error) {
		b.res.fail(groupLifecycle, verb, rt.name, err)
	}
	c, err := b.newContainer(rt, sleepArgs)
	if err != nil {
		failAt("create", err)
		return
	}
	pidFile := filepath.Join(b.dir, rt.name+".pid")
	s, err := b.call(rt, out, "create", "--bundle", c.bundle, "--pid-file", pidFile, c.id)
	if err != nil {
		failAt("create", err)
		b.forceDelete(c, out)
		return
	}
	s.Round = round
	b.res.add("create", rt.name, s)
	// Cleaned up on every path from here: delete --force is harmless after
	// a successful delete (forget has then dropped the container).
	defer func() {
		b.liveMu.Lock()
		live := b.live[c]
		b.liveMu.Unlock()
		if live {
			b.forceDelete(c, out)
		}
	}()
	pid, err := readPid(pidFile)
	if err != nil {
		failAt("create", err)
		return
	}
	w, err := watchExit(pid)
	if err != nil {
		failAt("create", err)
		return
	}
	defer w.close()
	steps := []struct {
		verb string
		args []string
	}{
		{"start", []string{"start", c.id}},
		{"state", []string{"state", c.id}},
		{"kill", []string{"kill", c.id, "KILL"}},
	}
	for _, st := range steps {
		s, err := b.call(rt, out, st.args...)
		if err != nil {
			failAt(st.verb, err)
			return
		}
		s.Round = round
		b.res.add(st.verb, rt.name, s)
	}
	if err := w.wait(exitTimeout); err != nil {
		failAt("kill", fmt.Errorf("after kill %s KILL: %w", c.id, err))
		return
	}
	s, err = b.call(rt, out, "delete", c.id)
	if err != nil {
		failAt("delete", err)
		return
	}
	s.Round = round
	b.res.add("delete", rt.name, s)
	b.forget(c)
}

// execPhase keeps one sleeping container per runtime and times `exec
// /bin/true` into it, rounds times, interleaved.
func (b *bench) execPhase() {
	keepers := map[string]*container{}
	defer func() {
		for _, c := range keepers {
			b.forceDelete(c, b.sinks[c.rt.name])
		}
	}()
	for _, rt := range b.runtimes {
		out := b.sinks[rt.name]
		c, err := b.newContainer(rt, sleepArgs)
		if err != nil {
			b.res.fail(seriesExec, seriesExec, rt.name, err)
			continue
		}
		if _, err := b.call(rt, out, "run", "--detach", "--bundle", c.bundle, c.id); err != nil {
			b.res.fail(seriesExec, seriesExec, rt.name, fmt.Errorf("starting the container to exec into: %w", err))
			b.forceDelete(c, out)
			continue
		}
		keepers[rt.name] = c
	}
	for round := 1; round <= b.opt.rounds && !b.stopping(); round++ {
		for _, rt := range shuffled(b.runtimes) {
			c := keepers[rt.name]
			if c == nil || b.stopping() || b.res.isEnded(seriesExec, rt.name) {
				continue
			}
			s, err := b.call(rt, b.sinks[rt.name], "exec", c.id, "/bin/true")
			if err != nil {
				b.res.fail(seriesExec, seriesExec, rt.name, err)
				continue
			}
			s.Round = round
			b.res.add(seriesExec, rt.name, s)
		}
	}
}

// throughputPhase runs loops of create+start+wait+delete of /bin/true
// containers (the floor: its runs), count per loop, by 1 and by 2 workers,
// and records containers per second. Each round runs every runtime and
// both parallelisms once, in random order.
func (b *bench) throughputPhase() {
	type job struct {
		rt       *runtimeBin // nil: the floor
		name     string
		parallel int
	}
	var jobs []job
	for _, p := range []int{1, 2} {
		jobs = append(jobs, job{name: floorName, parallel: p})
		for _, rt := range b.runtimes {
			jobs = append(jobs, job{rt: rt, name: rt.name, parallel: p})
		}
	}
	for round := 1; round <= b.opt.thrRounds && !b.stopping(); round++ {
		for _, j := range shuffled(jobs) {
			series := thrP1
			if j.parallel == 2 {
				series = thrP2
			}
			if b.stopping() || b.res.isEnded(series, j.name) {
				continue
			}
			t, err := b.throughputLoop(j.rt, j.parallel)
			if err != nil {
				b.res.fail(series, series, j.name, err)
				continue
			}
			t.Round = round
			sr := b.res.get(series, j.name)
			b.res.mu.Lock()
			sr.Throughput = append(sr.Throughput, t)
			b.res.mu.Unlock()
		}
	}
}

func (b *bench) throughputLoop(rt *runtimeBin, parallel int) (throughput, error) {
	count := b.opt.thrCount
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	t0 := time.Now()
	for w := 0; w < parallel; w++ {
		n := count / parallel
		if w < count%parallel {
			n++
		}
		wg.Add(1)
		go func(worker, n int) {
			defer wg.Done()
			name := floorName
			if rt != nil {
				name = rt.name
			}
			out := b.workerSinks[fmt.Sprintf("%s-%d", name, worker)]
			for i := 0; i < n; i++ {
				var err error
				if rt == nil {
					_, err = b.timed(out, b.floor, b.rootfs)
				} else {
					err = b.createStartWaitDelete(rt, out, worker)
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
			}
		}(w, n)
	}
	wg.Wait()
	secs := time.Since(t0).Seconds()
	if firstErr != nil {
		return throughput{}, firstErr
	}
	return throughput{Parallel: parallel, Containers: count, Seconds: secs, PerSecond: float64(count) / secs}, nil
}

// createStartWaitDelete is one container's life as an engine drives it:
// create, start, wait for the process to exit, delete.
func (b *bench) createStartWaitDelete(rt *runtimeBin, out *sink, worker int) error {
	c, err := b.newContainer(rt, trueArgs)
	if err != nil {
		return err
	}
	pidFile := filepath.Join(b.dir, fmt.Sprintf("%s-%d.pid", rt.name, worker))
	if _, err := b.call(rt, out, "create", "--bundle", c.bundle, "--pid-file", pidFile, c.id); err != nil {
		b.forceDelete(c, out)
		return err
	}
	pid, err := readPid(pidFile)
	if err != nil {
		b.forceDelete(c, out)
		return err
	}
	w, err := watchExit(pid)
	if err != nil {
		b.forceDelete(c, out)
		return err
	}
	defer w.close()
	if _, err := b.call(rt, out, "start", c.id); err != nil {
		b.forceDelete(c, out)
		return err
	}
	if err := w.wait(exitTimeout); err != nil {
		b.forceDelete(c, out)
		return err
	}
	if _, err := b.call(rt, out, "delete", c.id); err != nil {
		b.forceDelete(c, out)
		return err
	}
	b.forget(c)
	return nil
}

// scalePhase times create, state and delete of one container with no other
// container of the runtime present, then with scaleCount created (not
// started: cheap) containers present, rounds times each, interleaved.
func (b *bench) scalePhase() {
	b.scaleRounds(0)
	if b.opt.scaleCount == 0 || b.stopping() {
		return
	}
	var present []*container
	defer func() { b.deleteAll(present) }()
	fmt.Printf("  creating %d containers per runtime ...\n", b.opt.scaleCount)
	series := scaleSeries(b.opt.scaleCount)
	for i := 0; i < b.opt.scaleCount && !b.stopping(); i++ {
		for _, rt := range shuffled(b.runtimes) {
			if b.res.isEnded(groupScale, rt.name) {
				continue
			}
			out := b.sinks[rt.name]
			c, err := b.newContainer(rt, sleepArgs)
			if err != nil {
				b.res.fail(groupScale, series[0], rt.name, err)
				continue
			}
			if _, err := b.call(rt, out, "create", "--bundle", c.bundle, c.id); err != nil {
				b.res.fail(groupScale, series[0], rt.name, fmt.Errorf("creating the containers present: %w", err))
				b.forceDelete(c, out)
				continue
			}
			present = append(present, c)
		}
	}
	b.scaleRounds(b.opt.scaleCount)
}

// deleteAll deletes containers untimed, two at a time per runtime: runc's
// delete of a created container alone sleeps 100 ms.
func (b *bench) deleteAll(cs []*container) {
	if len(cs) == 0 {
		return
	}
	fmt.Printf("  deleting %d containers ...\n", len(cs))
	var wg sync.WaitGroup
	for _, rt := range b.runtimes {
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := b.workerSinks[fmt.Sprintf("%s-%d", rt.name, w)]
				k := 0 // this runtime's containers, dealt alternately
				for _, c := range cs {
					if c.rt != rt {
						continue
					}
					if k%2 == w {
						b.forceDelete(c, out)
					}
					k++
				}
			}()
		}
	}
	wg.Wait()
}

func (b *bench) scaleRounds(present int) {
	series := scaleSeries(present)
	for round := 1; round <= b.opt.rounds && !b.stopping(); round++ {
		for _, rt := range shuffled(b.runtimes) {
			if b.stopping() || b.res.isEnded(groupScale, rt.name) {
				continue
			}
			out := b.sinks[rt.name]
			c, err := b.newContainer(rt, sleepArgs)
			if err != nil {
				b.res.fail(groupScale, series[0], rt.name, err)
				continue
			}
			calls := [][]string{
				{"create", "--bundle", c.bundle, c.id},
				{"state", c.id},
				{"delete", c.id}, // a created container: delete kills its waiting init
			}
			for i, args := range calls {
				s, err := b.call(rt, out, args...)
				if err != nil {
					b.res.fail(groupScale, series[i], rt.name, err)
					b.forceDelete(c, out)
					break
				}
				s.Round = round
				b.res.add(series[i], rt.name, s)
				if i == len(calls)-1 {
					b.forget(c)
				}
			}
		}
	}
}

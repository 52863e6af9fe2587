package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// summary of one series for one runtime. Wall and CPU are medians (and
// the wall's 90th percentile) over the calls; RSS is the median and the
// largest of the calls' peak RSS.
type summary struct {
	N            int     `json:"n"`
	WallMedianMs float64 `json:"wall_median_ms,omitempty"`
	WallP90Ms    float64 `json:"wall_p90_ms,omitempty"`
	CPUMedianMs  float64 `json:"cpu_median_ms,omitempty"`
	RSSMedianMiB float64 `json:"rss_median_mib,omitempty"`
	RSSMaxMiB    float64 `json:"rss_max_mib,omitempty"`
	PerSecMedian float64 `json:"per_second_median,omitempty"` // throughput series
	PerSecMin    float64 `json:"per_second_min,omitempty"`
	PerSecMax    float64 `json:"per_second_max,omitempty"`
}

// quantile is the nearest-rank q-quantile of xs (0 for none).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func summarize(sr *seriesResult) *summary {
	if len(sr.Throughput) > 0 {
		var ps []float64
		for _, t := range sr.Throughput {
			ps = append(ps, t.PerSecond)
		}
		return &summary{N: len(ps), PerSecMedian: median(ps), PerSecMin: quantile(ps, 0), PerSecMax: quantile(ps, 1)}
	}
	if len(sr.Samples) == 0 {
		return nil
	}
	var wall, cpu, rss []float64
	for _, s := range sr.Samples {
		wall = append(wall, s.WallMs)
		cpu = append(cpu, s.CPUMs)
		rss = append(rss, float64(s.MaxRSSKiB)/1024)
	}
	return &summary{
		N: len(wall), WallMedianMs: median(wall), WallP90Ms: quantile(wall, 0.9),
		CPUMedianMs: median(cpu), RSSMedianMiB: median(rss), RSSMaxMiB: quantile(rss, 1),
	}
}

// seriesOrder is the report's order; scale series depend on -scale.
func (b *bench) seriesOrder() []string {
	order := []string{seriesRun}
	order = append(order, lifecycleVerbs...)
	order = append(order, seriesExec, thrP1, thrP2)
	order = append(order, scaleSeries(0)...)
	if b.opt.scaleCount > 0 {
		order = append(order, scaleSeries(b.opt.scaleCount)...)
	}
	return order
}

func (b *bench) entrants() []string { return append(b.runtimeNames(), floorName) }

// report prints the tables and the ratio lines, and stores summaries.
func (b *bench) report() {
	for _, series := range b.res.series {
		for _, sr := range series {
			sr.Summary = summarize(sr)
		}
	}
	fmt.Println()
	fmt.Println("wall: per call, fork to reaped, taken by a small static C helper that forks the call (Go's vfork-style")
	fmt.Println("start would add the benchmark's own RSS to every child's ru_maxrss). CPU: user+sys of the called process")
	fmt.Println("and every descendant it waited for (wait4 rusage: for `run` and `exec` the whole tree, the container's")
	fmt.Println("process included; for create/start not the container's init, which outlives the call). RSS: ru_maxrss")
	fmt.Println("of the same set = the largest single process among them (what runc/crun comparisons usually report),")
	fmt.Println("not a sum; median over calls.")
	fmt.Println()
	fmt.Printf("%-16s %-6s %5s %10s %10s %9s %8s\n", "series", "rt", "n", "wall med", "wall p90", "CPU med", "RSS MiB")
	for _, name := range b.seriesOrder() {
		if name == thrP1 || name == thrP2 {
			continue
		}
		for _, rt := range b.entrants() {
			sr := b.res.series[name][rt]
			if sr == nil {
				continue
			}
			switch {
			case sr.Failed != "":
				fmt.Printf("%-16s %-6s %5s %s\n", name, rt, "-", "FAIL")
			case sr.Summary == nil:
				fmt.Printf("%-16s %-6s %5s %s\n", name, rt, "-", "not measured (an earlier step failed)")
			default:
				s := sr.Summary
				fmt.Printf("%-16s %-6s %5d %10.1f %10.1f %9.1f %8.1f\n", name, rt, s.N, s.WallMedianMs, s.WallP90Ms, s.CPUMedianMs, s.RSSMedianMiB)
			}
		}
	}
	fmt.Println()
	fmt.Printf("throughput: create+start+wait+delete of /bin/true containers (the floor: its runs), %d per loop\n", b.opt.thrCount)
	fmt.Printf("%-16s %-6s %5s %12s %10s %10s\n", "series", "rt", "loops", "cont/s med", "min", "max")
	for _, name := range []string{thrP1, thrP2} {
		for _, rt := range b.entrants() {
			sr := b.res.series[name][rt]
			if sr == nil {
				continue
			}
			if sr.Failed != "" || sr.Summary == nil {
				fmt.Printf("%-16s %-6s %5s %s\n", name, rt, "-", "FAIL")
				continue
			}
			s := sr.Summary
			fmt.Printf("%-16s %-6s %5d %12.1f %10.1f %10.1f\n", name, rt, s.N, s.PerSecMedian, s.PerSecMin, s.PerSecMax)
		}
	}
	fmt.Println()
	fmt.Println("ratios of medians (hull/x below 1: hull is faster or smaller; for throughput above 1 is faster):")
	for _, l := range b.ratioLines() {
		fmt.Println(l)
	}
	for _, n := range b.notes {
		fmt.Println("note:", n)
	}
}

// ratioLines are hull's ratios to every other entrant, per series.
func (b *bench) ratioLines() []string {
	get := func(series, rt string) *summary {
		sr := b.res.series[series][rt]
		if sr == nil || sr.Failed != "" {
			return nil
		}
		return sr.Summary
	}
	// status says why a runtime has no number: FAIL, or not measured.
	status := func(series, rt string) string {
		if sr := b.res.series[series][rt]; sr != nil && sr.Failed != "" {
			return "FAIL"
		}
		return "not measured"
	}
	others := []string{"runc", "crun", floorName}
	line := func(label, series string, val func(*summary) float64) string {
		if b.res.series[series] == nil {
			return "" // interrupted before this series
		}
		h := get(series, "hull")
		var parts []string
		for _, o := range others {
			if b.res.series[series][o] == nil {
				continue // not installed, or not part of this series
			}
			s := get(series, o)
			switch {
			case s == nil:
				parts = append(parts, fmt.Sprintf("hull/%s=n/a(%s: %s)", o, o, status(series, o)))
			case h == nil:
				parts = append(parts, fmt.Sprintf("hull/%s=n/a", o))
			case val(s) == 0:
				parts = append(parts, fmt.Sprintf("hull/%s=n/a(%s: 0)", o, o))
			default:
				parts = append(parts, fmt.Sprintf("hull/%s=%.2f", o, val(h)/val(s)))
			}
		}
		if h == nil {
			parts = append(parts, "(hull: "+status(series, "hull")+")")
		}
		return fmt.Sprintf("%-22s %s", label, strings.Join(parts, " "))
	}
	wall := func(s *summary) float64 { return s.WallMedianMs }
	cpu := func(s *summary) float64 { return s.CPUMedianMs }
	rss := func(s *summary) float64 { return s.RSSMedianMiB }
	per := func(s *summary) float64 { return s.PerSecMedian }
	var ls []string
	add := func(l string) {
		if l != "" {
			ls = append(ls, l)
		}
	}
	for _, series := range b.seriesOrder() {
		switch series {
		case thrP1, thrP2:
			add(line(series, series, per))
		case seriesRun, seriesExec:
			add(line(series+"_wall", series, wall))
			add(line(series+"_cpu", series, cpu))
			add(line(series+"_rss", series, rss))
		default:
			add(line(series+"_wall", series, wall))
			add(line(series+"_cpu", series, cpu))
		}
	}
	// How each runtime's small verbs grow with many containers present.
	if n := b.opt.scaleCount; n > 0 {
		for _, verb := range []string{"create", "state", "delete"} {
			var parts []string
			for _, rt := range b.runtimeNames() {
				s0, sn := get(fmt.Sprintf("scale0_%s", verb), rt), get(fmt.Sprintf("scale%d_%s", n, verb), rt)
				if s0 == nil || sn == nil || s0.WallMedianMs == 0 {
					continue
				}
				parts = append(parts, fmt.Sprintf("%s=%.2f", rt, sn.WallMedianMs/s0.WallMedianMs))
			}
			if len(parts) > 0 {
				ls = append(ls, fmt.Sprintf("%-22s %s", fmt.Sprintf("%s_wall %d/0", verb, n), strings.Join(parts, " ")))
			}
		}
	}
	return ls
}

// writeJSON stores everything: options, host, loads, runtimes, notes, the
// raw samples and summaries, and the ratio lines.
func (b *bench) writeJSON() error {
	path := b.opt.jsonPath
	var f *os.File
	var err error
	if path == "" {
		f, err = os.CreateTemp("", "hull-bench-*.json")
	} else {
		f, err = os.Create(path)
	}
	if err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	defer f.Close()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	type rtInfo struct {
		Name, Path, Version string
	}
	var rts []rtInfo
	for _, rt := range b.runtimes {
		rts = append(rts, rtInfo{rt.name, rt.path, rt.version})
	}
	doc := map[string]any{
		"started":  b.started.Format(time.RFC3339),
		"finished": time.Now().Format(time.RFC3339),
		"host": map[string]any{
			"os": osName(), "kernel": strings.TrimSpace(string(kernel)), "nproc": nproc(), "go": runtime.Version(),
		},
		"loads": b.loads,
		"options": map[string]any{
			"rounds": b.opt.rounds, "throughput_rounds": b.opt.thrRounds, "throughput_count": b.opt.thrCount,
			"scale": b.opt.scaleCount, "quick": b.opt.quick, "cgroup_parent": b.cgroupParent,
		},
		"runtimes": rts,
		"notes":    b.notes,
		"definitions": map[string]string{
			"wall_ms":    "start of the call to its process reaped",
			"cpu_ms":     "user+sys of the called process and every descendant it waited for (wait4 rusage)",
			"user_ms":    "the kernel splits CPU time into user and sys by tick sampling: unreliable for calls this short; their sum is exact",
			"maxrss_kib": "ru_maxrss of the same set: the largest single process among them, not a sum",
		},
		"series": b.res.series,
		"ratios": b.ratioLines(),
	}
	enc := json.NewEncoder(f)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	fmt.Println("raw samples and summaries:", f.Name())
	return nil
}

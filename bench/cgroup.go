package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// mount is one line of /proc/self/mountinfo, the fields the benchmark uses.
type mount struct {
	point  string
	fsType string
}

func readMounts() ([]mount, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var ms []mount
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// id parent major:minor root point options [optional...] - type source super
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		ms = append(ms, mount{point: unescapeOctal(f[4]), fsType: g[0]})
	}
	return ms, nil
}

// unescapeOctal undoes mountinfo's \040-style escapes of spaces and the like.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			okDigits := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					okDigits = false
					break
				}
				v = v*8 + (c - '0')
			}
			if okDigits {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupHierarchies lists the mount points of the cgroup hierarchies this
// process sees; v1only leaves out cgroup2.
func cgroupHierarchies(v1only bool) ([]string, error) {
	ms, err := readMounts()
	if err != nil {
		return nil, err
	}
	var dirs []string
	seen := map[string]bool{}
	for _, m := range ms {
		if (m.fsType == "cgroup" || (m.fsType == "cgroup2" && !v1only)) && !seen[m.point] {
			seen[m.point] = true
			dirs = append(dirs, m.point)
		}
	}
	return dirs, nil
}

// makeCgroupParent creates the benchmark's cgroup parent in every v1
// hierarchy before any runtime runs. The runtimes then only create (and
// remove) the containers' leaves under it: a runtime that removes the
// parents it made could otherwise pull the parent from under a container
// being created in parallel. A new cpuset cgroup starts with no cpus and no
// mems, so it gets the root's.
func makeCgroupParent(parent string) error {
	dirs, err := cgroupHierarchies(true)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return errors.New("no cgroup v1 hierarchy is mounted: this benchmark is written for the v1/hybrid hosts crun 1.8 can run on")
	}
	for _, h := range dirs {
		d := filepath.Join(h, parent)
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("creating the benchmark's cgroup: %w", err)
		}
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			v, err := os.ReadFile(filepath.Join(h, f))
			if errors.Is(err, os.ErrNotExist) {
				continue // not the cpuset hierarchy
			}
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, f), v, 0o644); err != nil {
				return fmt.Errorf("giving %s its parent's %s: %w", d, f, err)
			}
		}
	}
	return nil
}

// removeCgroupParent removes parent, bottom-up, in every hierarchy
// (cgroup2 included: a runtime could have made a leaf there). Only
// directories are removed, and cgroupfs refuses to remove one that still
// holds a process; those are reported with their pids.
func removeCgroupParent(parent string) error {
	dirs, err := cgroupHierarchies(false)
	if err != nil {
		return err
	}
	var failed []string
	for _, h := range dirs {
		d := filepath.Join(h, parent)
		if _, err := os.Lstat(d); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := rmdirTree(d); err != nil {
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

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
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		return fmt.Errorf("rmdir %s: %w (processes: %s)", dir, err, strings.Join(strings.Fields(string(procs)), " "))
	}
	return nil
}

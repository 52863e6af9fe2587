// Package cgroups finds the host's cgroup layout and the container's cgroup
// directories; the managers in v1/ (and v2/) act on them.
package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Layout is how the host mounts cgroups.
type Layout string

const (
	// Legacy: v1 controllers only.
	Legacy Layout = "legacy"
	// Hybrid: v1 controllers plus a cgroup2 hierarchy (usually at
	// /sys/fs/cgroup/unified) that holds few or no controllers.
	Hybrid Layout = "hybrid"
	// Unified: one cgroup2 hierarchy with every controller.
	Unified Layout = "unified"
)

// UnifiedKey names the cgroup2 hierarchy among a v1 host's hierarchies.
const UnifiedKey = "unified"

// Hierarchy is one mounted cgroup hierarchy.
type Hierarchy struct {
	Key   string // the controllers joined by ",", "name=systemd", or UnifiedKey
	Mount string // where it is mounted
	Root  string // the hierarchy path mounted there ("/" normally)
	// Own is this process's cgroup in it, from /proc/self/cgroup: where a
	// relative cgroupsPath is resolved.
	Own string
}

// Host is the cgroup layout seen by this process.
type Host struct {
	Layout      Layout
	Hierarchies []Hierarchy
}

// Detect reads /proc/self/mountinfo and /proc/self/cgroup once.
func Detect() (*Host, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	return parse(mi, cg)
}

func parse(mountinfo, selfCgroup []byte) (*Host, error) {
	own := map[string]string{}
	for _, line := range bytes.Split(selfCgroup, []byte("\n")) {
		// hierarchy-id:controller-list:path
		parts := strings.SplitN(string(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		key := parts[1]
		if key == "" {
			key = UnifiedKey
		}
		own[key] = parts[2]
	}
	h := &Host{}
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	seen := map[string]bool{}
	for sc.Scan() {
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		f := strings.Fields(sc.Text())
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+3 >= len(f) {
			continue
		}
		fstype := f[sep+1]
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		hy := Hierarchy{Root: unescape(f[3]), Mount: unescape(f[4])}
		if fstype == "cgroup2" {
			hy.Key = UnifiedKey
		} else {
			hy.Key = v1Key(f[sep+3])
			if hy.Key == "" {
				continue
			}
		}
		// A hierarchy mounted twice (bind mounts) counts once.
		if seen[hy.Key] {
			continue
		}
		seen[hy.Key] = true
		hy.Own = own[hy.Key]
		h.Hierarchies = append(h.Hierarchies, hy)
	}
	if len(h.Hierarchies) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchy is mounted: mount cgroup2 at /sys/fs/cgroup")
	}
	switch {
	case len(h.Hierarchies) == 1 && h.Hierarchies[0].Key == UnifiedKey:
		h.Layout = Unified
	case seen[UnifiedKey]:
		h.Layout = Hybrid
	default:
		h.Layout = Legacy
	}
	return h, nil
}

// v1Key picks the controller list out of a v1 mount's super options
// ("rw,cpu,cpuacct" → "cpu,cpuacct"; "rw,name=systemd" → "name=systemd").
func v1Key(superopts string) string {
	var ctrls []string
	for _, o := range strings.Split(superopts, ",") {
		switch {
		case o == "rw" || o == "ro" || o == "xattr" || o == "noprefix" || o == "clone_children" ||
			strings.HasPrefix(o, "release_agent=") || o == "cpuset_v2_mode" || o == "favordynmods":
		default:
			ctrls = append(ctrls, o)
		}
	}
	return strings.Join(ctrls, ",")
}

// mountinfo escapes spaces and a few other bytes as \ooo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &v); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Controllers lists the v1 controllers of a hierarchy key.
func (hy Hierarchy) Controllers() []string {
	if hy.Key == UnifiedKey {
		return nil
	}
	return strings.Split(hy.Key, ",")
}

// Has reports whether the hierarchy holds controller c.
func (hy Hierarchy) Has(c string) bool {
	for _, x := range hy.Controllers() {
		if x == c {
			return true
		}
	}
	return false
}

// Dir is the directory of the cgroup path p (as seen inside the hierarchy)
// under this mount, or "" if the mount does not show it.
func (hy Hierarchy) Dir(p string) string {
	rel, err := filepath.Rel(hy.Root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return ""
	}
	return filepath.Join(hy.Mount, rel)
}

// Package v1 manages a container's cgroup on legacy and hybrid hosts: the
// resources live in the v1 controller hierarchies; on hybrid hosts the
// container also gets a directory in the cgroup2 hierarchy, which tracks its
// processes (cgroup.events, cgroup.kill) whatever controllers it holds.
package v1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Bounds of the waits: generous, because a loaded host is slow, but finite.
const (
	freezeTimeout  = 10 * time.Second
	destroyTimeout = 10 * time.Second
)

// Manager is the v1 (and hybrid) implementation of cgroups.Manager.
type Manager struct {
	rec *cgroups.Record
}

// New returns the manager of the cgroup rec describes.
func New(rec *cgroups.Record) *Manager { return &Manager{rec: rec} }

var _ cgroups.Manager = (*Manager)(nil)

// keys are the hierarchies in a fixed order, so errors are reproducible.
func (m *Manager) keys() []string {
	keys := make([]string, 0, len(m.rec.Paths))
	for k := range m.rec.Paths {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Create makes the container's directory in every hierarchy. A new cpuset
// cgroup starts with no cpus and no mems, and a process cannot join it: each
// directory hull makes gets its parent's values, as runc does.
func (m *Manager) Create() error {
	for _, k := range m.keys() {
		dir := m.rec.Paths[k]
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		if k == m.rec.Key("cpuset") {
			if err := inheritCpuset(m.rec.Created[k], dir); err != nil {
				return err
			}
		}
	}
	return nil
}

func inheritCpuset(top, dir string) error {
	if top == "" {
		return nil
	}
	// From the topmost created directory down to the container's.
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append([]string{d}, chain...)
		if d == top || d == "/" {
			break
		}
	}
	for _, d := range chain {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			cur, err := cgroups.ReadFile(d, f)
			if err != nil {
				return fmt.Errorf("cpuset of %s: %w", d, err)
			}
			if cur != "" {
				continue
			}
			parent, err := cgroups.ReadFile(filepath.Dir(d), f)
			if err != nil {
				return fmt.Errorf("cpuset of %s: %w", filepath.Dir(d), err)
			}
			if err := cgroups.WriteFile(d, f, parent); err != nil {
				return fmt.Errorf("cpuset of %s: %w", d, err)
			}
		}
	}
	return nil
}

// Join writes pid into cgroup.procs everywhere.
func (m *Manager) Join(pid int, sub map[string]string) error {
	for _, k := range m.keys() {
		dir := m.rec.Paths[k]
		if rel := subFor(k, sub); rel != "" {
			dir = filepath.Join(dir, rel)
			if !strings.HasPrefix(dir, m.rec.Paths[k]+"/") {
				return fmt.Errorf("--cgroup %q: must stay inside the container's cgroup", rel)
			}
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("--cgroup %q: the sub-cgroup must exist: %w", rel, err)
			}
		}
		if err := cgroups.WriteFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			if errors.Is(err, unix.ENOSPC) && k == m.rec.Key("cpuset") {
				return fmt.Errorf("join the cpuset cgroup %s: it has no cpus or mems: set cpuset.cpus and cpuset.mems: %w", dir, err)
			}
			return fmt.Errorf("join the %s cgroup: %w", k, err)
		}
	}
	return nil
}

// CloneInto is "" on v1: CLONE_INTO_CGROUP places a process in a cgroup2
// cgroup only, and the v1 hierarchies need cgroup.procs anyway.
func (m *Manager) CloneInto(map[string]string) (string, error) { return "", nil }

// subFor picks the sub-cgroup for hierarchy key: one named for one of its
// controllers, else the one for every hierarchy.
func subFor(key string, sub map[string]string) string {
	for _, c := range strings.Split(key, ",") {
		if rel, ok := sub[c]; ok {
			return rel
		}
	}
	return sub[""]
}

// freezerDir is where pause works: the v1 freezer when mounted (what
// engines on v1 expect), else the cgroup2 directory's cgroup.freeze.
func (m *Manager) freezerDir() (dir string, v1 bool) {
	if k := m.rec.Key("freezer"); k != "" {
		return m.rec.Paths[k], true
	}
	return m.rec.Paths[cgroups.UnifiedKey], false
}

func (m *Manager) setFrozen(frozen bool) error {
	dir, v1 := m.freezerDir()
	if dir == "" {
		return errors.New("pause needs the freezer controller or a cgroup2 hierarchy, and this host has neither")
	}
	if !v1 {
		v := map[bool]string{true: "1", false: "0"}[frozen]
		if err := cgroups.WriteFile(dir, "cgroup.freeze", v); err != nil {
			return err
		}
		return cgroups.WaitEvent(dir, "frozen "+v, freezeTimeout)
	}
	want := map[bool]string{true: "FROZEN", false: "THAWED"}[frozen]
	// The v1 freezer has no notification: re-write and re-read until the
	// state settles (FREEZING becomes FROZEN), bounded.
	deadline := time.Now().Add(freezeTimeout)
	delay := time.Millisecond
	for {
		if err := cgroups.WriteFile(dir, "freezer.state", want); err != nil {
			return err
		}
		got, err := cgroups.ReadFile(dir, "freezer.state")
		if err != nil {
			return err
		}
		if got == want {
			return nil
		}
		if time.Now().After(deadline) {
			cgroups.WriteFile(dir, "freezer.state", "THAWED")
			return fmt.Errorf("%s did not become %s within %s (state %s): a task may be stuck in the kernel", dir, want, freezeTimeout, got)
		}
		time.Sleep(delay)
		if delay < 20*time.Millisecond {
			delay *= 2
		}
	}
}

// Freeze pauses every process of the container.
func (m *Manager) Freeze() error { return m.setFrozen(true) }

// Thaw resumes them.
func (m *Manager) Thaw() error { return m.setFrozen(false) }

// Paused reports whether the freezer holds the container.
func (m *Manager) Paused() bool {
	dir, v1 := m.freezerDir()
	if dir == "" {
		return false
	}
	if v1 {
		s, err := cgroups.ReadFile(dir, "freezer.state")
		return err == nil && s != "THAWED"
	}
	s, err := cgroups.ReadFile(dir, "cgroup.freeze")
	return err == nil && s == "1"
}

// pidsDir is the hierarchy the processes are read from: the cgroup2 one on
// hybrid hosts (it is always there), else any v1 one.
func (m *Manager) pidsDir() string {
	if d := m.rec.Paths[cgroups.UnifiedKey]; d != "" {
		return d
	}
	for _, k := range m.keys() {
		return m.rec.Paths[k]
	}
	return ""
}

// Pids lists the container's processes.
func (m *Manager) Pids() ([]int, error) {
	pids, err := cgroups.ReadPids(m.pidsDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return pids, err
}

// Signal sends sig to every process. SIGKILL goes through cgroup.kill
// where the kernel has it (atomic: no fork escapes). Other signals go to
// each listed pid while the cgroup is frozen, so that no new process slips
// between listing and signalling, as runc does.
func (m *Manager) Signal(sig unix.Signal) error {
	if d := m.rec.Paths[cgroups.UnifiedKey]; sig == unix.SIGKILL && d != "" {
		if done, err := cgroups.KillAll(d); done {
			return err
		}
	}
	return cgroups.SignalEach(m, m.Pids, sig)
}

// Destroy kills what is left, waits for the cgroup to empty and removes
// every directory hull created, deepest first, in every hierarchy.
func (m *Manager) Destroy() error {
	if pids, _ := m.Pids(); len(pids) > 0 {
		if m.Paused() {
			m.Thaw()
		}
		m.Signal(unix.SIGKILL)
	}
	if d := m.rec.Paths[cgroups.UnifiedKey]; d != "" {
		if err := cgroups.WaitUnpopulated(d, destroyTimeout); err != nil {
			return err
		}
	}
	// One bound for the whole removal: a cgroup that cannot go must not
	// cost the bound once per hierarchy.
	deadline := time.Now().Add(destroyTimeout)
	var first error
	for _, k := range m.keys() {
		for i, d := range m.rec.Dirs(k) {
			if i == 0 {
				// The container's own directory: its sub-cgroups go too.
				if err := cgroups.RmdirAll(d, time.Until(deadline)); err != nil && first == nil {
					first = err
				}
				continue
			}
			// A parent hull made may since hold other containers' cgroups:
			// it is removed once it is empty, by whoever empties it last.
			if !cgroups.RmdirIfEmpty(d) {
				break
			}
		}
	}
	return first
}

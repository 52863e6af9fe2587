// Package v2 manages a container's cgroup on unified (cgroup v2 only)
// hosts: one directory, whose controllers are enabled from above through
// the ancestors' cgroup.subtree_control, and whose device rules are an eBPF
// program attached to it.
package v2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Bounds of the waits: generous, because a loaded host is slow, but finite.
const (
	freezeTimeout  = 10 * time.Second
	destroyTimeout = 10 * time.Second
)

// Manager is the cgroup v2 implementation of cgroups.Manager.
type Manager struct {
	rec *cgroups.Record
	dir string
	// root is the directory the cgroup2 hierarchy is mounted at; found
	// from the filesystem on first use (tests set it).
	root string
	// enabled lists what this manager wrote into ancestors'
	// cgroup.subtree_control, for the caller to log.
	enabled []string
	// attach installs the device program; nil is the kernel's, tests
	// replace it (a temporary directory takes no BPF program).
	attach func(insts asm.Instructions) error
}

// New returns the manager of the cgroup rec describes. rec.Paths holds the
// one key cgroups.UnifiedKey.
func New(rec *cgroups.Record) *Manager {
	return &Manager{rec: rec, dir: rec.Paths[cgroups.UnifiedKey]}
}

var _ cgroups.Manager = (*Manager)(nil)

// Dir is the container's cgroup directory: the caller opens it
// (O_PATH|O_DIRECTORY is enough) for clone3's CLONE_INTO_CGROUP, so that
// the init starts inside the cgroup, limits and device program included.
func (m *Manager) Dir() string { return m.dir }

// Enabled lists the controllers this manager enabled in the ancestors'
// cgroup.subtree_control ("/sys/fs/cgroup/a/cgroup.subtree_control: +memory").
// delete does not disable them: other cgroups below may use them by then.
func (m *Manager) Enabled() []string { return m.enabled }

// created lists the directories hull created for the container, top-down,
// without the container's own.
func (m *Manager) createdParents() []string {
	dirs := m.rec.Dirs(cgroups.UnifiedKey) // deepest first, the container's first
	var out []string
	for i := len(dirs) - 1; i >= 1; i-- {
		out = append(out, dirs[i])
	}
	return out
}

// Create makes the container's directory and the parents the Record says
// hull creates. In those parents, which are hull's, every controller they
// are offered is enabled for their children, as runc enables them, so that
// a container without limits still has its memory, pids and io accounted
// (what `docker stats` reads). Ancestors hull did not create get only what
// a resource needs, in Set.
func (m *Manager) Create() error {
	if m.dir == "" {
		return errors.New("cgroup v2 manager: the record has no unified path")
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return fmt.Errorf("create cgroup %s: %w", m.dir, err)
	}
	for _, d := range m.createdParents() {
		avail, err := readSet(d, "cgroup.controllers")
		if err != nil {
			return fmt.Errorf("create cgroup %s: %w", d, err)
		}
		for _, c := range avail {
			// Best effort: a controller that cannot be enabled here is an
			// error in Set if a resource needs it, and nothing otherwise.
			if cgroups.WriteFile(d, "cgroup.subtree_control", "+"+c) == nil {
				m.enabled = append(m.enabled, filepath.Join(d, "cgroup.subtree_control")+": +"+c)
			}
		}
	}
	return nil
}

// readSet reads a space-separated list file (cgroup.controllers,
// cgroup.subtree_control).
func readSet(dir, file string) ([]string, error) {
	s, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil, err
	}
	return strings.Fields(s), nil
}

// CloneInto is the directory a new process is cloned straight into
// (CLONE_INTO_CGROUP): the container's, or its existing sub-cgroup sub[""]
// (exec --cgroup).
func (m *Manager) CloneInto(sub map[string]string) (string, error) {
	dir := m.dir
	for k, rel := range sub {
		if k != "" {
			return "", fmt.Errorf("--cgroup %s:%s: this host has cgroup v2 only, with one hierarchy: give the sub-cgroup as PATH, without a controller", k, rel)
		}
		if rel == "" || rel == "/" {
			continue
		}
		dir = filepath.Join(m.dir, rel)
		if !strings.HasPrefix(dir, m.dir+"/") {
			return "", fmt.Errorf("--cgroup %q: must stay inside the container's cgroup", rel)
		}
		if _, err := os.Stat(dir); err != nil {
			return "", fmt.Errorf("--cgroup %q: the sub-cgroup must exist: %w", rel, err)
		}
	}
	return dir, nil
}

// Join writes pid into the cgroup.procs of CloneInto's directory, for
// kernels without clone3.
func (m *Manager) Join(pid int, sub map[string]string) error {
	dir, err := m.CloneInto(sub)
	if err != nil {
		return err
	}
	err = cgroups.WriteFile(dir, "cgroup.procs", strconv.Itoa(pid))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EBUSY):
		// The no-internal-processes rule: a cgroup that gives controllers
		// to its children (cgroup.subtree_control) takes no processes.
		return fmt.Errorf("join cgroup %s: it hands controllers to its sub-cgroups (cgroup.subtree_control is not empty), and cgroup v2 then takes no processes in it: run the process in a sub-cgroup (exec --cgroup PATH): %w", dir, err)
	case errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("join cgroup %s: its type (cgroup.type) does not take processes, e.g. \"domain invalid\" under a threaded parent: %w", dir, err)
	}
	return fmt.Errorf("join cgroup %s: %w", dir, err)
}

// setFrozen writes cgroup.freeze and waits (bounded) for cgroup.events to
// report the state: the kernel freezes tasks asynchronously.
func (m *Manager) setFrozen(frozen bool) error {
	v := "0"
	if frozen {
		v = "1"
	}
	if err := cgroups.WriteFile(m.dir, "cgroup.freeze", v); err != nil {
		if errors.Is(err, os.ErrNotExist) && cgroups.DirExists(m.dir) {
			return fmt.Errorf("pause needs cgroup.freeze, which this kernel lacks (Linux 5.2+): %w", err)
		}
		return err
	}
	if err := cgroups.WaitEvent(m.dir, "frozen "+v, freezeTimeout); err != nil {
		if frozen {
			// A task stuck in the kernel must not leave the container
			// half frozen (runc#4481): thaw it back.
			cgroups.WriteFile(m.dir, "cgroup.freeze", "0")
			return fmt.Errorf("%w: a task may be stuck in the kernel (D state); the container is thawed again", err)
		}
		return err
	}
	return nil
}

// Freeze pauses every process of the container, sub-cgroups included.
func (m *Manager) Freeze() error { return m.setFrozen(true) }

// Thaw resumes them.
func (m *Manager) Thaw() error { return m.setFrozen(false) }

// Paused reports whether the container was asked to freeze (cgroup.freeze
// is what was written; cgroup.events says when it took effect).
func (m *Manager) Paused() bool {
	s, err := cgroups.ReadFile(m.dir, "cgroup.freeze")
	return err == nil && s == "1"
}

// Pids lists the processes in the container's own cgroup, as runc's
// GetPids does (a sub-cgroup's processes are not in it).
func (m *Manager) Pids() ([]int, error) {
	pids, err := cgroups.ReadPids(m.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return pids, err
}

// allPids lists the processes of the container's cgroup and its
// sub-cgroups.
func (m *Manager) allPids() ([]int, error) {
	var pids []int
	err := filepath.WalkDir(m.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		ps, err := cgroups.ReadPids(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		pids = append(pids, ps...)
		return nil
	})
	return pids, err
}

// Signal sends sig to every process of the container, sub-cgroups
// included. SIGKILL goes through cgroup.kill (Linux 5.14+): one write,
// atomic against forks. Other signals go to each pid while the cgroup is
// frozen, so that no new process slips between listing and signalling, as
// runc does.
func (m *Manager) Signal(sig unix.Signal) error {
	if sig == unix.SIGKILL {
		if done, err := cgroups.KillAll(m.dir); done {
			return err
		}
	}
	return cgroups.SignalEach(m, m.allPids, sig)
}

// Destroy kills what is left, waits for the cgroup to empty and removes the
// directories hull created, the container's with its sub-cgroups first,
// all within one deadline. A parent hull created that another cgroup now
// lives in (a second container under the same parent) stays.
func (m *Manager) Destroy() error {
	if !cgroups.DirExists(m.dir) {
		return nil
	}
	deadline := time.Now().Add(destroyTimeout)
	if populated(m.dir) {
		if err := m.Signal(unix.SIGKILL); err != nil {
			return fmt.Errorf("kill the processes of cgroup %s: %w", m.dir, err)
		}
	}
	if err := cgroups.WaitUnpopulated(m.dir, time.Until(deadline)); err != nil {
		return err
	}
	dirs := m.rec.Dirs(cgroups.UnifiedKey)
	if len(dirs) == 0 {
		// The directory was there before hull: it stays, without hull's
		// device program. Best effort: a program left behind can only
		// refuse devices, and delete must be able to finish.
		detachOwnPrograms(m.dir)
		return nil
	}
	if err := cgroups.RmdirAll(dirs[0], time.Until(deadline)); err != nil {
		return err
	}
	for _, d := range dirs[1:] {
		if hasSubdirs(d) {
			return nil // shared now: its other children keep it
		}
		if err := cgroups.Rmdir(d, time.Until(deadline)); err != nil {
			return err
		}
	}
	return nil
}

// populated reads cgroup.events; a cgroup that cannot be read is taken as
// populated, so that the kill is tried.
func populated(dir string) bool {
	s, err := cgroups.ReadFile(dir, "cgroup.events")
	return err != nil || strings.Contains(s, "populated 1")
}

func hasSubdirs(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() {
			return true
		}
	}
	return false
}

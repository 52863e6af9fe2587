package v2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Set writes the resources and attaches the device program. Everything that
// can be judged from the config alone is checked before the host is
// touched; then the controllers the resources need are enabled from the
// hierarchy's root down, then the files are written, then the device
// program replaces hull's previous one (an update calls Set again).
func (m *Manager) Set(r *specs.LinuxResources, devices []specs.LinuxDevice) ([]string, error) {
	p, err := resourcePlan(r)
	if err != nil {
		return nil, err
	}
	var rules []specs.LinuxDeviceCgroup
	if r != nil {
		rules = r.Devices
	}
	devRules, err := cgroups.MergeDeviceRules(rules, devices)
	if err != nil {
		return nil, err
	}
	prog := deviceProgram(deviceTable(devRules))

	warnings := p.warnings
	enabled, err := m.enableControllers(p)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, enabled...)
	if err := m.checkUnified(p); err != nil {
		return nil, err
	}
	if err := m.checkMemoryUsage(p); err != nil {
		return nil, err
	}
	if err := m.apply(p.writes); err != nil {
		return nil, err
	}

	attach := m.setDevices
	if m.attach != nil {
		attach = m.attach
	}
	if err := attach(prog); err != nil {
		if !inUserNS() || !errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("linux.resources.devices: %w", err)
		}
		// As runc: in a user namespace bpf(2) is refused, and such a
		// process cannot create device nodes nor reach devices it was not
		// given anyway.
		warnings = append(warnings, fmt.Sprintf("linux.resources.devices: not enforced: hull runs in a user namespace, where the kernel refuses device programs (%v)", err))
	}
	return warnings, nil
}

func (m *Manager) setDevices(insts asm.Instructions) error {
	prog, err := loadDeviceProgram(insts)
	if err != nil {
		return fmt.Errorf("load the device program (BPF_PROG_LOAD, BPF_PROG_TYPE_CGROUP_DEVICE, Linux 4.15+): %w", err)
	}
	defer prog.Close()
	return attachDeviceProgram(m.dir, prog)
}

// hierarchyRoot is where the cgroup2 hierarchy holding the container is
// mounted: the topmost directory above it on the same cgroup2 filesystem.
func (m *Manager) hierarchyRoot() (string, error) {
	if m.root != "" {
		return m.root, nil
	}
	var st unix.Stat_t
	if err := unix.Stat(m.dir, &st); err != nil {
		return "", fmt.Errorf("cgroup %s: %w", m.dir, err)
	}
	d := m.dir
	for {
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		var fs unix.Statfs_t
		var pst unix.Stat_t
		if unix.Statfs(parent, &fs) != nil || fs.Type != unix.CGROUP2_SUPER_MAGIC ||
			unix.Stat(parent, &pst) != nil || pst.Dev != st.Dev {
			break
		}
		d = parent
	}
	m.root = d
	return d, nil
}

// ancestors are the directories from the hierarchy's root down to the
// container's parent: those whose cgroup.subtree_control decides which
// controllers the container has.
func (m *Manager) ancestors() ([]string, error) {
	root, err := m.hierarchyRoot()
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, m.dir)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("cgroup %s is not below the cgroup2 hierarchy at %s", m.dir, root)
	}
	out := []string{root}
	d := root
	parts := strings.Split(rel, "/")
	for _, part := range parts[:len(parts)-1] {
		d = filepath.Join(d, part)
		out = append(out, d)
	}
	return out, nil
}

// enableControllers makes every controller the plan needs available in the
// container's cgroup, top-down: a controller reaches a cgroup only through
// its parent's cgroup.subtree_control, and can be enabled there only if the
// parent has it (cgroup.controllers). hull writes into no file of a
// directory it did not create except cgroup.subtree_control, and says so:
// the returned lines name what it enabled in such directories.
func (m *Manager) enableControllers(p *plan) ([]string, error) {
	if len(p.needOrder) == 0 {
		return nil, nil
	}
	chain, err := m.ancestors()
	if err != nil {
		return nil, err
	}
	created := m.createdParents()
	var report []string
	for _, d := range chain {
		avail, err := readSet(d, "cgroup.controllers")
		if err != nil {
			return nil, fmt.Errorf("read the controllers of cgroup %s: %w", d, err)
		}
		on, err := readSet(d, "cgroup.subtree_control")
		if err != nil {
			return nil, fmt.Errorf("read the controllers of cgroup %s: %w", d, err)
		}
		for _, c := range p.needOrder {
			field := p.need[c]
			if !slices.Contains(avail, c) {
				if d == chain[0] {
					return nil, fmt.Errorf("%s: the %s controller is not available in %s: this kernel lacks it, or it is bound to a cgroup v1 hierarchy (or, in a cgroup namespace, not delegated): remove the setting or make the controller available", field, c, filepath.Join(d, "cgroup.controllers"))
				}
				return nil, fmt.Errorf("%s: the %s controller is not available in %s: enable it in the parent's cgroup.subtree_control (%s)", field, c, filepath.Join(d, "cgroup.controllers"), filepath.Join(filepath.Dir(d), "cgroup.subtree_control"))
			}
			if slices.Contains(on, c) {
				continue
			}
			file := filepath.Join(d, "cgroup.subtree_control")
			if err := cgroups.WriteFile(d, "cgroup.subtree_control", "+"+c); err != nil {
				if errors.Is(err, unix.EBUSY) {
					return nil, fmt.Errorf("%s: enable the %s controller in %s: %s has processes of its own, and cgroup v2 gives controllers only to the children of a cgroup without processes: place the container (linux.cgroupsPath) under a cgroup that has none: %w", field, c, file, d, err)
				}
				return nil, fmt.Errorf("%s: enable the %s controller in %s: %w", field, c, file, err)
			}
			line := file + ": +" + c
			m.enabled = append(m.enabled, line)
			if !slices.Contains(created, d) {
				report = append(report, fmt.Sprintf("%s: enabled the %s controller in %s (hull did not create that cgroup; delete leaves it enabled)", field, c, file))
			}
		}
	}
	return report, nil
}

// checkUnified requires every unified key to name an existing file of the
// container's cgroup, now that its controllers are enabled.
func (m *Manager) checkUnified(p *plan) error {
	seen := map[string]bool{}
	for _, w := range p.writes {
		if !strings.HasPrefix(w.field, "linux.resources.unified[") || seen[w.file] {
			continue
		}
		seen[w.file] = true
		st, err := os.Lstat(filepath.Join(m.dir, w.file))
		if err == nil && st.Mode().IsRegular() {
			continue
		}
		if err == nil {
			return fmt.Errorf("%s: %s is not a control file: give the name of a file in the container's cgroup directory", w.field, filepath.Join(m.dir, w.file))
		}
		return fmt.Errorf("%s: the container's cgroup has no file %s (see ls %s): check the name; a controller's files exist only where the controller is enabled", w.field, w.file, m.dir)
	}
	return nil
}

// checkMemoryUsage refuses, on request (checkBeforeUpdate), a memory limit
// at or below what the container uses now, as runc does: the kernel would
// reclaim or OOM-kill to get there. Best effort, as in runc: no usage
// file, no check.
func (m *Manager) checkMemoryUsage(p *plan) error {
	c := p.checkBefore
	if c == nil {
		return nil
	}
	s, err := cgroups.ReadFile(m.dir, "memory.current")
	if err != nil {
		return nil
	}
	usage, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil
	}
	const f = "linux.resources.memory."
	if c.swap > 0 && uint64(c.swap) <= usage {
		return fmt.Errorf("%sswap: %d is at or below the container's memory usage %d (checkBeforeUpdate): raise it", f, c.swap, usage)
	}
	if c.limit > 0 && uint64(c.limit) <= usage {
		return fmt.Errorf("%slimit: %d is at or below the container's memory usage %d (checkBeforeUpdate): raise it", f, c.limit, usage)
	}
	return nil
}

// apply writes the list in order; a retry write that fails with EINVAL is
// tried again after the other writes of its controller.
func (m *Manager) apply(writes []write) error {
	var retry []write
	flush := func() error {
		for _, w := range retry {
			if err := m.write(w); err != nil {
				return err
			}
		}
		retry = retry[:0]
		return nil
	}
	for i, w := range writes {
		if err := m.write(w); err != nil {
			if !w.retry || !errors.Is(err, unix.EINVAL) {
				return err
			}
			retry = append(retry, w)
		}
		if i+1 == len(writes) || writes[i+1].controller != w.controller {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Manager) write(w write) error {
	value := w.value
	if strings.HasPrefix(value, keepQuota+" ") {
		// A period alone keeps the quota the cgroup has.
		q := "max"
		if cur, err := cgroups.ReadFile(m.dir, "cpu.max"); err == nil {
			if f := strings.Fields(cur); len(f) == 2 {
				q = f[0]
			}
		}
		value = q + strings.TrimPrefix(value, keepQuota)
	}
	files := append([]alt{{w.file, value}}, w.alts...)
	if w.file == "io.bfq.weight" && strings.Contains(value, ":") && !bfqPerDevice(m.dir) {
		// BFQ before Linux 5.4 takes one default weight, no per-device
		// ones (runc then skips them): go to io.weight.
		files = files[1:]
		if len(files) == 0 {
			return fmt.Errorf("config.json: %s: this kernel's io.bfq.weight takes no per-device weights (Linux 5.4+), and io.weight takes 10-1000 only", w.field)
		}
	}
	for _, a := range files {
		err := cgroups.WriteFile(m.dir, a.file, a.value)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("config.json: %s: %w", w.field, err)
		}
	}
	if w.optional {
		return nil
	}
	names := make([]string, len(files))
	for i, a := range files {
		names[i] = a.file
	}
	what := "this kernel has no " + strings.Join(names, " or ")
	switch {
	case strings.HasPrefix(w.file, "hugetlb."):
		what += " (no such hugepage size here: see /sys/kernel/mm/hugepages)"
	case w.file == "memory.swap.max":
		what += " (no swap accounting: boot with swapaccount=1, or set swap to -1)"
	case w.file == "io.bfq.weight" && len(w.alts) == 0:
		what += " (a weight outside 10-1000 needs the BFQ scheduler; io.weight takes 10-1000)"
	}
	return fmt.Errorf("config.json: %s: %s in %s", w.field, what, m.dir)
}

// bfqPerDevice reports whether io.bfq.weight takes per-device weights: it
// then reads "default 100" and device lines, not a bare number.
func bfqPerDevice(dir string) bool {
	s, err := cgroups.ReadFile(dir, "io.bfq.weight")
	if err != nil {
		return false
	}
	_, err = strconv.Atoi(s)
	return err != nil
}

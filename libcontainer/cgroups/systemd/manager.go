package systemd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	v2 "github.com/hull-oci/hull/libcontainer/cgroups/v2"
)

// killTimeout bounds the wait for the scope to empty after SIGKILL.
const killTimeout = 10 * time.Second

// Manager is the systemd implementation of cgroups.Manager (and
// cgroups.Starter): systemd makes and removes the scope; everything that
// acts on the cgroup's files (the limits systemd has no property for,
// freeze, signals, processes, statistics) is the cgroupfs manager of the
// host's layout, on the scope's directories.
type Manager struct {
	rec  *cgroups.Record
	unit string
	fs   cgroups.Manager

	// annotations are the unit properties from org.systemd.property.*.
	annotations []sd.Property
	// creating: this process is creating the container (Create was
	// called), so Set only remembers, for Start, until the unit exists.
	creating bool
	// started: the unit was made by this process (Start got past
	// StartTransientUnit), so it is the container's own to remove. A
	// creating manager that never got there removes nothing: a unit of
	// that name is another container's.
	started bool
	// pending is what Set was given while creating.
	pending *pendingSet
}

type pendingSet struct {
	props   []sd.Property
	r       *specs.LinuxResources
	devices []specs.LinuxDevice
}

var _ cgroups.Starter = (*Manager)(nil)

// New returns the manager of the systemd cgroup rec describes. It makes
// no connection: commands that only read the cgroup never talk to systemd.
func New(rec *cgroups.Record) *Manager {
	m := &Manager{rec: rec, unit: rec.Systemd.Unit}
	if rec.Layout == cgroups.Unified {
		m.fs = v2.New(rec)
	} else {
		m.fs = v1.New(rec)
	}
	return m
}

// SetAnnotations takes the config's annotations; the org.systemd.property.*
// ones become properties of the unit Start makes.
func (m *Manager) SetAnnotations(annotations map[string]string) error {
	props, err := annotationProps(annotations)
	if err != nil {
		return err
	}
	m.annotations = props
	return nil
}

func (m *Manager) unified() bool { return m.rec.Layout == cgroups.Unified }

// Create connects to systemd, which must answer now rather than halfway
// through the container's creation. The unit itself is made by Start,
// around the init: a scope cannot exist without a process.
func (m *Manager) Create() error {
	m.creating = true
	if _, err := connect(); err != nil {
		return fmt.Errorf("--systemd-cgroup: %w", err)
	}
	return nil
}

// properties converts the resources and device rules into unit properties,
// returning the resources the cgroupfs manager writes (the CPU quota as
// systemd keeps it) and what systemd is not told.
func (m *Manager) properties(r *specs.LinuxResources, devices []specs.LinuxDevice) ([]sd.Property, *specs.LinuxResources, []string, error) {
	version, err := systemdVersion()
	if err != nil {
		return nil, nil, nil, err
	}
	props, fsr, err := resourceProps(m.rec.Layout, r, version)
	if err != nil {
		return nil, nil, nil, err
	}
	var rules []specs.LinuxDeviceCgroup
	if r != nil {
		rules = r.Devices
	}
	merged, err := cgroups.MergeDeviceRules(rules, devices)
	if err != nil {
		return nil, nil, nil, err
	}
	dp, warn := deviceProps(merged, m.unified(), version)
	var warnings []string
	if warn != "" {
		warnings = append(warnings, warn)
	}
	return append(dp, props...), fsr, warnings, nil
}

// Set gives systemd the limits it has properties for, then writes every
// limit through the cgroupfs manager. While the container is being
// created, the unit does not exist yet: Set checks and remembers, and
// Start applies.
func (m *Manager) Set(r *specs.LinuxResources, devices []specs.LinuxDevice) ([]string, error) {
	props, fsr, warnings, err := m.properties(r, devices)
	if err != nil {
		return nil, err
	}
	if m.creating && !m.started {
		m.pending = &pendingSet{props, fsr, devices}
		return warnings, nil
	}
	if err := m.checkMemoryUsage(r); err != nil {
		return nil, err
	}
	if err := m.setProps(props); err != nil {
		return nil, err
	}
	fw, err := m.fs.Set(fsr, devices)
	return append(warnings, fw...), err
}

// setProps sets the unit's properties. On v1 systemd applies device rules
// by denying all and then allowing (a running container would see EPERM
// meanwhile), so the container is frozen around it unless it is already,
// as runc does.
func (m *Manager) setProps(props []sd.Property) error {
	if m.unified() || m.fs.Paused() {
		return setProps(m.unit, props)
	}
	frozen := m.fs.Freeze() == nil
	err := setProps(m.unit, props)
	if frozen {
		if terr := m.fs.Thaw(); terr != nil && err == nil {
			err = terr
		}
	}
	return err
}

// checkMemoryUsage refuses, on request (checkBeforeUpdate), a memory limit
// at or below what the container uses now, before systemd is told: it
// would OOM-kill to get there. The cgroupfs manager checks again.
func (m *Manager) checkMemoryUsage(r *specs.LinuxResources) error {
	if r == nil || r.Memory == nil || r.Memory.CheckBeforeUpdate == nil || !*r.Memory.CheckBeforeUpdate || r.Memory.Limit == nil || *r.Memory.Limit <= 0 {
		return nil
	}
	dir, file := m.rec.Paths[cgroups.UnifiedKey], "memory.current"
	if !m.unified() {
		dir, file = m.rec.Paths[m.rec.Key("memory")], "memory.usage_in_bytes"
	}
	s, err := cgroups.ReadFile(dir, file)
	if err != nil {
		return nil
	}
	usage, err := strconv.ParseInt(s, 10, 64)
	if err == nil && *r.Memory.Limit <= usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is at or below the container's memory usage %d (checkBeforeUpdate): raise it", *r.Memory.Limit, usage)
	}
	return nil
}

// Start makes the scope around pid, the container's init, with Delegate=yes
// and the limits systemd takes as properties, waits for systemd's job, and
// writes the rest of the limits through the cgroupfs manager.
func (m *Manager) Start(pid int) ([]string, error) {
	if m.pending == nil {
		return nil, errors.New("systemd scope: Start before Set")
	}
	acct := "IOAccounting"
	if !m.unified() {
		acct = "BlockIOAccounting"
	}
	props := []sd.Property{
		sd.PropDescription("hull container " + m.unit),
		sd.PropSlice(m.rec.Systemd.Slice),
		prop("Delegate", true),
		sd.PropPids(uint32(pid)),
		// Accounting on, as runc sets it: the statistics and the
		// controllers of an unlimited container.
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop(acct, true),
		prop("TasksAccounting", true),
		// No ordering against shutdown.target and friends: the engine
		// decides when the container stops.
		prop("DefaultDependencies", false),
	}
	// The config's annotations, then its resources, which win over an
	// annotation of the same property, as in runc.
	props = append(props, m.annotations...)
	props = append(props, m.pending.props...)
	// From the call on the unit may exist, even if the job fails.
	m.started = true
	if err := startUnit(m.unit, props); err != nil {
		return nil, err
	}
	if !m.unified() {
		// systemd makes the scope in the hierarchies it manages; the
		// others (freezer, net_cls, perf_event, ...) are hull's, made now,
		// with the parents hull makes there to remove on delete.
		for k, dir := range m.rec.Paths {
			if top := topMissing(dir); top != "" {
				m.rec.Created[k] = top
			}
		}
		if err := m.fs.Create(); err != nil {
			return nil, err
		}
		if err := m.fs.Join(pid, nil); err != nil {
			return nil, err
		}
	}
	return m.fs.Set(m.pending.r, m.pending.devices)
}

// topMissing is the topmost directory of dir's path that does not exist,
// or "" if dir does.
func topMissing(dir string) string {
	top := ""
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		top = d
	}
	return top
}

// Join puts a process (exec) into the scope's directories.
func (m *Manager) Join(pid int, sub map[string]string) error { return m.fs.Join(pid, sub) }

// CloneInto is the scope's cgroup2 directory, on v2.
func (m *Manager) CloneInto(sub map[string]string) (string, error) { return m.fs.CloneInto(sub) }

// Freeze, Thaw, Paused, Pids, Signal and Stats act on the scope's files,
// as runc's systemd driver does.
func (m *Manager) Freeze() error                  { return m.fs.Freeze() }
func (m *Manager) Thaw() error                    { return m.fs.Thaw() }
func (m *Manager) Paused() bool                   { return m.fs.Paused() }
func (m *Manager) Pids() ([]int, error)           { return m.fs.Pids() }
func (m *Manager) Signal(sig unix.Signal) error   { return m.fs.Signal(sig) }
func (m *Manager) Stats() (*cgroups.Stats, error) { return m.fs.Stats() }

// Destroy kills what is left in the scope and waits (bounded) for it to
// empty, so that stopping the unit does not wait for its processes to obey
// SIGTERM (a container's init ignores it); then stops the unit and resets
// it if it failed, so systemd keeps nothing of it; then removes what is
// left of the directories (a sub-cgroup systemd left, hull's own in the v1
// hierarchies systemd does not manage). A scope systemd already removed
// (its processes exited) is fine.
func (m *Manager) Destroy() error {
	if m.creating && !m.started {
		return nil // no unit of ours, no directory of ours
	}
	if pids, _ := m.fs.Pids(); len(pids) > 0 {
		if m.fs.Paused() {
			m.fs.Thaw()
		}
		if err := m.fs.Signal(unix.SIGKILL); err != nil {
			return fmt.Errorf("kill the processes of the systemd scope %s: %w", m.unit, err)
		}
	}
	if d := m.rec.Paths[cgroups.UnifiedKey]; d != "" {
		if err := cgroups.WaitUnpopulated(d, killTimeout); err != nil {
			return err
		}
	}
	if err := stopUnit(m.unit); err != nil {
		return err
	}
	return m.fs.Destroy()
}

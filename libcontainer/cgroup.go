package libcontainer

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	"github.com/hull-oci/hull/libcontainer/cgroups/systemd"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	v2 "github.com/hull-oci/hull/libcontainer/cgroups/v2"
	"github.com/hull-oci/hull/libcontainer/spec"
)

// newCgroupManager picks the implementation for the recorded cgroup: the
// systemd driver for a systemd scope, else the layout's cgroupfs manager.
func newCgroupManager(rec *cgroups.Record) cgroups.Manager {
	if rec.Systemd != nil {
		return systemd.New(rec)
	}
	if rec.Layout == cgroups.Unified {
		return v2.New(rec)
	}
	return v1.New(rec)
}

// placeProcess puts a new process into the container's cgroup (or its
// sub-cgroup sub): at clone time where the layout allows, through
// s.cloneInto; else join is called once the process exists, before it
// does anything.
func placeProcess(cg cgroups.Manager, s *initSpawn, sub map[string]string) (join func(pid int) error, err error) {
	dir, err := cg.CloneInto(sub)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		s.cloneInto = dir
		return func(int) error { return nil }, nil
	}
	return func(pid int) error { return cg.Join(pid, sub) }, nil
}

// placeInit is placeProcess for a container's init. A cgroup that comes
// into being with its first process (a systemd scope: cgroups.Starter) is
// made by join, around the init, which waits for its plan until then;
// what its resources could not enforce goes to warn.
func placeInit(cg cgroups.Manager, s *initSpawn, warn func(string)) (join func(pid int) error, err error) {
	st, ok := cg.(cgroups.Starter)
	if !ok {
		return placeProcess(cg, s, nil)
	}
	return func(pid int) error {
		warnings, err := st.Start(pid)
		for _, w := range warnings {
			warn(w)
		}
		return err
	}, nil
}

// placeCgroup decides where the container's cgroup goes on this host: a
// systemd scope with --systemd-cgroup, else a cgroupfs directory.
func placeCgroup(p *spec.Plan, id string, useSystemd bool) (*cgroups.Record, error) {
	host, err := cgroups.Detect()
	if err != nil {
		return nil, err
	}
	if useSystemd {
		return systemd.Resolve(host, p.CgroupsPath, id)
	}
	return host.Resolve(p.CgroupsPath, id)
}

// createCgroup makes the recorded cgroup and writes the resources. A
// systemd scope takes its org.systemd.property.* annotations as unit
// properties.
func createCgroup(rec *cgroups.Record, r *specs.LinuxResources, devices []specs.LinuxDevice, annotations map[string]string) (cgroups.Manager, []string, error) {
	m := newCgroupManager(rec)
	if sd, ok := m.(*systemd.Manager); ok {
		if err := sd.SetAnnotations(annotations); err != nil {
			return nil, nil, fmt.Errorf("--systemd-cgroup: %w", err)
		}
	}
	if err := m.Create(); err != nil {
		m.Destroy()
		return nil, nil, err
	}
	warnings, err := m.Set(r, devices)
	if err != nil {
		m.Destroy()
		return nil, nil, err
	}
	return m, warnings, nil
}

// cgroupDevices are the config's device nodes, which the device rules must
// let the container use.
func cgroupDevices(p *spec.Plan) []specs.LinuxDevice {
	devices := make([]specs.LinuxDevice, 0, len(p.Devices))
	for _, dv := range p.Devices {
		mode := os.FileMode(dv.FileMode)
		devices = append(devices, specs.LinuxDevice{Path: dv.Path, Type: string(dv.Type), Major: dv.Major, Minor: dv.Minor, FileMode: &mode})
	}
	return devices
}

// cgroup is the container's cgroup manager, nil for a container recorded
// before it had one.
func (c *Container) cgroup() cgroups.Manager {
	if c.State.Cgroup == nil {
		return nil
	}
	return newCgroupManager(c.State.Cgroup)
}

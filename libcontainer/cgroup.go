package libcontainer

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	v2 "github.com/hull-oci/hull/libcontainer/cgroups/v2"
	"github.com/hull-oci/hull/libcontainer/spec"
)

// newCgroupManager picks the implementation for the recorded layout.
func newCgroupManager(rec *cgroups.Record) cgroups.Manager {
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

// placeCgroup decides where the container's cgroup goes on this host.
func placeCgroup(p *spec.Plan, id string) (*cgroups.Record, error) {
	host, err := cgroups.Detect()
	if err != nil {
		return nil, err
	}
	return host.Resolve(p.CgroupsPath, id)
}

// createCgroup makes the recorded cgroup and writes the resources.
func createCgroup(rec *cgroups.Record, r *specs.LinuxResources, devices []specs.LinuxDevice) (cgroups.Manager, []string, error) {
	m := newCgroupManager(rec)
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

package libcontainer

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/state"
)

// newCgroupManager picks the implementation for the recorded layout.
func newCgroupManager(rec *cgroups.Record) cgroups.Manager {
	return v1.New(rec)
}

// createCgroup places the container's cgroup, records it in the state
// before making it, makes it and writes the resources.
func createCgroup(d *state.Dir, st *state.State, p *spec.Plan) (cgroups.Manager, []string, error) {
	host, err := cgroups.Detect()
	if err != nil {
		return nil, nil, err
	}
	rec, err := host.Resolve(p.CgroupsPath, st.ID)
	if err != nil {
		return nil, nil, err
	}
	st.Cgroup = rec
	if err := d.Save(st); err != nil {
		return nil, nil, err
	}
	m := newCgroupManager(rec)
	if err := m.Create(); err != nil {
		m.Destroy()
		return nil, nil, err
	}
	devices := make([]specs.LinuxDevice, 0, len(p.Devices))
	for _, dv := range p.Devices {
		mode := os.FileMode(dv.FileMode)
		devices = append(devices, specs.LinuxDevice{Path: dv.Path, Type: string(dv.Type), Major: dv.Major, Minor: dv.Minor, FileMode: &mode})
	}
	warnings, err := m.Set(p.Resources, devices)
	if err != nil {
		m.Destroy()
		return nil, nil, err
	}
	return m, warnings, nil
}

// cgroup is the container's cgroup manager, nil for a container recorded
// before it had one.
func (c *Container) cgroup() cgroups.Manager {
	if c.State.Cgroup == nil {
		return nil
	}
	return newCgroupManager(c.State.Cgroup)
}

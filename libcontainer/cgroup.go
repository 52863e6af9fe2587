package libcontainer

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	v1 "github.com/hull-oci/hull/libcontainer/cgroups/v1"
	"github.com/hull-oci/hull/libcontainer/spec"
)

// newCgroupManager picks the implementation for the recorded layout.
func newCgroupManager(rec *cgroups.Record) cgroups.Manager {
	return v1.New(rec)
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
func createCgroup(rec *cgroups.Record, p *spec.Plan) (cgroups.Manager, []string, error) {
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

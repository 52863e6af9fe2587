package v1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// Set writes the resources into the v1 files. A setting whose controller is
// not mounted here is an error that names both: a limit never silently
// disappears.
func (m *Manager) Set(r *specs.LinuxResources, devices []specs.LinuxDevice) ([]string, error) {
	var writes []Write
	var warnings []string
	var rules []specs.LinuxDeviceCgroup
	if r != nil {
		w, warn, err := Writes(r)
		if err != nil {
			return nil, err
		}
		writes, warnings, rules = w, warn, r.Devices
	}
	dw, err := DeviceWrites(rules, devices)
	if err != nil {
		return nil, err
	}
	// The device rules are hull's own defaults unless the config gave some:
	// without a devices hierarchy only the config's are an error.
	if m.rec.Key("devices") != "" || len(rules) > 0 {
		writes = append(dw, writes...)
	}
	// A Retry write that fails with EINVAL may depend on a later write of
	// the same controller (a memory limit above the old memsw limit): it
	// is tried once more after the controller's other writes.
	var retry []Write
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
			if !w.Retry || !errors.Is(err, unix.EINVAL) {
				return nil, err
			}
			retry = append(retry, w)
		}
		if i+1 == len(writes) || writes[i+1].Controller != w.Controller {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	return warnings, nil
}

func (m *Manager) write(w Write) error {
	key := m.rec.Key(w.Controller)
	if key == "" {
		return fmt.Errorf("config.json: %s: needs the %s controller, which is not mounted as a cgroup v1 hierarchy on this host (mounted: %s): remove the setting or mount the controller under /sys/fs/cgroup",
			w.Field, w.Controller, strings.Join(m.keys(), ", "))
	}
	dir := m.rec.Paths[key]
	files := append([]string{w.File}, w.Alternatives...)
	for _, f := range files {
		err := cgroups.WriteFile(dir, f, w.Value)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("config.json: %s: %w", w.Field, err)
		}
	}
	if w.Optional {
		return nil
	}
	return fmt.Errorf("config.json: %s: this kernel has no %s in the %s controller (%s)", w.Field, strings.Join(files, " or "), w.Controller, filepath.Dir(filepath.Join(dir, w.File)))
}

// Package systemd is the systemd cgroup driver (--systemd-cgroup): on a
// host whose cgroup tree systemd owns, the container's cgroup is a
// transient scope unit that systemd makes, asked over D-Bus, with the
// resources systemd understands as unit properties; hull then writes the
// rest through the cgroupfs manager of the host's layout (v2, or v1 and
// hybrid), on the scope's directories, as runc does.
package systemd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

const (
	// defaultSlice holds a container whose cgroupsPath names no slice, as
	// in runc for a container run as root.
	defaultSlice = "system.slice"
	// defaultPrefix makes the unit of a container with an empty
	// cgroupsPath: "hull-<id>.scope" (runc: "runc-<id>.scope").
	defaultPrefix = "hull"
	// maxUnitName is systemd's UNIT_NAME_MAX.
	maxUnitName = 255
)

// Running reports whether systemd is the host's init, as sd_booted(3) does:
// /run/systemd/system is a directory. Without it there is no systemd to ask.
func Running() bool {
	st, err := os.Lstat("/run/systemd/system")
	return err == nil && st.IsDir()
}

// Place is where a container goes: the slice and the scope unit.
type Place struct {
	Slice string // "system.slice"
	Unit  string // "prefix-name.scope"
	// SlicePath is the slice's cgroup, from the hierarchy's root:
	// "/a.slice/a-b.slice" for a-b.slice, "/" for the root slice.
	SlicePath string
}

// ParsePath reads linux.cgroupsPath in runc's systemd form "slice:prefix:name"
// into the scope "prefix-name.scope" in slice (default system.slice). An
// empty path is runc's default with hull's name: hull-<id>.scope in
// system.slice. Errors are one line naming the field.
func ParsePath(cgroupsPath, id string) (*Place, error) {
	slice, prefix, name := "", defaultPrefix, id
	if cgroupsPath != "" {
		parts := strings.Split(cgroupsPath, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("linux.cgroupsPath %q: with --systemd-cgroup it must be \"slice:prefix:name\" (e.g. \"system.slice:docker:ID\"), which makes the scope prefix-name.scope in the slice", cgroupsPath)
		}
		slice, prefix, name = parts[0], parts[1], parts[2]
	}
	if slice == "" {
		slice = defaultSlice
	}
	slicePath, err := ExpandSlice(slice)
	if err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
	}
	if name == "" {
		return nil, fmt.Errorf("linux.cgroupsPath %q: the name (after the second colon) is empty: give the container's name, e.g. its id", cgroupsPath)
	}
	if strings.HasSuffix(name, ".slice") {
		// runc then makes a slice unit (kubelet uses it for pod slices);
		// a slice holds no processes, so no container could be in it.
		return nil, fmt.Errorf("linux.cgroupsPath %q: a name ending in .slice asks for a slice unit, which cannot hold the container's processes: hull makes a scope (prefix-name.scope); drop the .slice suffix", cgroupsPath)
	}
	unit := prefix + "-" + name + ".scope"
	if err := checkUnitChars(unit); err != nil {
		return nil, fmt.Errorf("linux.cgroupsPath %q: the unit name %q %w", cgroupsPath, unit, err)
	}
	return &Place{Slice: slice, Unit: unit, SlicePath: slicePath}, nil
}

// ExpandSlice turns a slice name into its cgroup path, as systemd nests
// slices by their dashes: "a-b-c.slice" is /a.slice/a-b.slice/a-b-c.slice,
// and "-.slice" is the root slice, "/".
func ExpandSlice(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok || base == "" {
		return "", fmt.Errorf("the slice %q is not a slice name: it must end in .slice (e.g. system.slice, or machine-app.slice for machine.slice/machine-app.slice)", slice)
	}
	if strings.Contains(slice, "/") {
		return "", fmt.Errorf("the slice %q must not contain \"/\": nest slices with dashes (a-b.slice is a.slice/a-b.slice)", slice)
	}
	if err := checkUnitChars(slice); err != nil {
		return "", fmt.Errorf("the slice %q %w", slice, err)
	}
	if base == "-" {
		return "/", nil
	}
	var path, prefix strings.Builder
	for _, part := range strings.Split(base, "-") {
		if part == "" {
			return "", fmt.Errorf("the slice %q has an empty component (a leading, trailing or double dash): systemd nests slices by dashes, so a-b.slice is a.slice/a-b.slice", slice)
		}
		prefix.WriteString(part)
		path.WriteString("/" + prefix.String() + ".slice")
		prefix.WriteString("-")
	}
	return path.String(), nil
}

// checkUnitChars applies systemd's rules for unit names: at most 255
// characters of ASCII letters, digits and ":-_.\".
func checkUnitChars(name string) error {
	if len(name) > maxUnitName {
		return fmt.Errorf("is longer than systemd's %d characters", maxUnitName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(":-_.\\", c) >= 0 {
			continue
		}
		return fmt.Errorf("has %q, which systemd does not allow in unit names (letters, digits and \":-_.\\\" only)", c)
	}
	return nil
}

// Resolve places the container's cgroup as a systemd scope: its directory
// in every hierarchy of the host is the slice's path plus the unit's name.
// It fails first, in one line, when systemd is not running. Only the scope
// directory counts as made for the container: the slices are systemd's.
func Resolve(h *cgroups.Host, cgroupsPath, id string) (*cgroups.Record, error) {
	if !Running() {
		return nil, errors.New("--systemd-cgroup: systemd is not running (no /run/systemd/system): this host's cgroups are not systemd's; run without --systemd-cgroup (the cgroupfs driver)")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("--systemd-cgroup: hull drives the system's systemd instance only, as root; rootless containers through a user's systemd are not supported")
	}
	return place(h, cgroupsPath, id)
}

// place is Resolve once systemd is known to be there.
func place(h *cgroups.Host, cgroupsPath, id string) (*cgroups.Record, error) {
	pl, err := ParsePath(cgroupsPath, id)
	if err != nil {
		return nil, err
	}
	rec := &cgroups.Record{
		Layout:  h.Layout,
		Paths:   map[string]string{},
		Created: map[string]string{},
		Systemd: &cgroups.SystemdUnit{Unit: pl.Unit, Slice: pl.Slice},
	}
	cg := filepath.Join(pl.SlicePath, pl.Unit)
	for _, hy := range h.Hierarchies {
		dir := hy.Dir(cg)
		if dir == "" {
			return nil, fmt.Errorf("linux.cgroupsPath %q: the scope's cgroup %s is not visible under the %s hierarchy mounted at %s (hull runs in a cgroup namespace?)", cgroupsPath, cg, hy.Key, hy.Mount)
		}
		rec.Paths[hy.Key] = dir
		rec.Created[hy.Key] = dir
	}
	return rec, nil
}

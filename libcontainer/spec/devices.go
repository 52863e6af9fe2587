package spec

import (
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The kernel's dev_t for device nodes holds a 12-bit major and a 20-bit minor.
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

// DefaultDevices are the devices the spec requires in every container. The
// init creates them unless linux.devices has an entry with the same path.
func DefaultDevices() []Device {
	return []Device{
		{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, FileMode: 0o666},
		{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, FileMode: 0o666},
		{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, FileMode: 0o666},
		{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, FileMode: 0o666},
		{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, FileMode: 0o666},
		{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, FileMode: 0o666},
	}
}

func setDevices(s *specs.Spec, p *Plan) error {
	if s.Linux == nil || len(s.Linux.Devices) == 0 {
		return nil
	}
	p.Devices = make([]Device, 0, len(s.Linux.Devices))
	for i, sd := range s.Linux.Devices {
		d, err := convertDevice(idx("linux.devices", i), sd)
		if err != nil {
			return err
		}
		for j, prev := range p.Devices {
			if prev.Path == d.Path {
				return fieldErr(idx("linux.devices", i)+".path", "%s is already in linux.devices[%d]: list each device once", d.Path, j)
			}
		}
		p.Devices = append(p.Devices, d)
	}
	return nil
}

func convertDevice(field string, sd specs.LinuxDevice) (Device, error) {
	var d Device
	switch {
	case sd.Path == "":
		return d, fieldErr(field+".path", "must be set to the device's path inside the container, e.g. /dev/fuse")
	case strings.IndexByte(sd.Path, 0) >= 0:
		return d, fieldErr(field+".path", "must not contain a NUL byte")
	case !path.IsAbs(sd.Path):
		return d, fieldErr(field+".path", "%q must be an absolute path inside the container", sd.Path)
	}
	// The spec allows devices outside /dev; only the directories that
	// cannot be a device node are refused.
	d.Path = path.Clean(sd.Path)
	if d.Path == "/" || d.Path == "/dev" {
		return d, fieldErr(field+".path", "%s cannot be a device node", d.Path)
	}
	switch sd.Type {
	case "c", "u":
		d.Type = 'c'
	case "b":
		d.Type = 'b'
	case "p":
		d.Type = 'p'
	default:
		return d, fieldErr(field+".type", "unknown device type %q: want \"c\" (or \"u\"), \"b\" or \"p\"", sd.Type)
	}
	if d.Type != 'p' {
		// The Go types cannot tell a missing number from 0, but 0:0 is
		// not a device, so it is taken as missing.
		if sd.Major == 0 && sd.Minor == 0 {
			return d, fieldErr(field, "major and minor must be set for a device of type %q", sd.Type)
		}
		if sd.Major < 0 || sd.Major > maxMajor {
			return d, fieldErr(field+".major", "%d is out of range: want 0 to %d", sd.Major, maxMajor)
		}
		if sd.Minor < 0 || sd.Minor > maxMinor {
			return d, fieldErr(field+".minor", "%d is out of range: want 0 to %d", sd.Minor, maxMinor)
		}
		d.Major, d.Minor = sd.Major, sd.Minor
	}
	d.FileMode = 0o666
	if sd.FileMode != nil {
		// Some tools include the S_IFCHR/S_IFBLK bits; the type field
		// decides the kind of node, so they are dropped.
		mode := uint32(*sd.FileMode) &^ unix.S_IFMT
		if mode&^0o7777 != 0 {
			return d, fieldErr(field+".fileMode", "%d is not a file mode: want permission bits, e.g. 438 (0666; the JSON number is decimal)", uint32(*sd.FileMode))
		}
		d.FileMode = mode
	}
	if sd.UID != nil {
		d.UID = *sd.UID
	}
	if sd.GID != nil {
		d.GID = *sd.GID
	}
	return d, nil
}

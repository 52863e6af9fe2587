package spec

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setCgroups copies the cgroup settings; their values are judged by the
// cgroup managers, which know the host's layout. Only what could make hull
// write outside the cgroup tree is refused here.
func setCgroups(s *specs.Spec, p *Plan) error {
	if s.Linux == nil {
		return nil
	}
	cp := s.Linux.CgroupsPath
	if strings.IndexByte(cp, 0) >= 0 {
		return fieldErr("linux.cgroupsPath", "must not contain a NUL byte")
	}
	// Split on ':' too: the systemd form is "slice:prefix:name".
	for _, c := range strings.FieldsFunc(cp, func(r rune) bool { return r == '/' || r == ':' }) {
		if c == ".." {
			return fieldErr("linux.cgroupsPath", "%q must not contain \"..\": it would leave the cgroup hierarchy", cp)
		}
	}
	if r := s.Linux.Resources; r != nil {
		for i, d := range r.Devices {
			field := idx("linux.resources.devices", i)
			switch d.Type {
			case "", "a", "b", "c":
			default:
				return fieldErr(field+".type", "unknown device type %q: want \"a\", \"b\" or \"c\"", d.Type)
			}
			if d.Access == "" {
				return fieldErr(field+".access", `must be set: some of "rwm" (read, write, mknod)`)
			}
			if strings.Trim(d.Access, "rwm") != "" {
				return fieldErr(field+".access", "%q must be made of r, w and m", d.Access)
			}
		}
	}
	p.CgroupsPath = cp
	p.Resources = s.Linux.Resources
	return nil
}

package spec

import (
	"path"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func setMaskedAndReadonly(s *specs.Spec, p *Plan) error {
	if s.Linux == nil {
		return nil
	}
	var err error
	if p.MaskedPaths, err = containerPaths("linux.maskedPaths", s.Linux.MaskedPaths, p); err != nil {
		return err
	}
	p.ReadonlyPaths, err = containerPaths("linux.readonlyPaths", s.Linux.ReadonlyPaths, p)
	return err
}

// containerPaths checks a list of absolute paths inside the container that
// hull mounts over (runc also refuses them without a mount namespace).
func containerPaths(field string, in []string, p *Plan) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if !p.HasNamespace(specs.MountNamespace) {
		return nil, fieldErr(field, "%s", needMountNS)
	}
	out := make([]string, len(in))
	for i, v := range in {
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fieldErr(idx(field, i), "must not contain a NUL byte")
		}
		if !path.IsAbs(v) {
			return nil, fieldErr(idx(field, i), "%q must be an absolute path inside the container", v)
		}
		out[i] = path.Clean(v)
		if out[i] == "/" {
			return nil, fieldErr(idx(field, i), "cannot be /")
		}
	}
	return out, nil
}

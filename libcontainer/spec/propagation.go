package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setRootPropagation defaults to rslave as runc does: the container sees
// host mounts come and go, but its own mounts never reach the host.
func setRootPropagation(s *specs.Spec, p *Plan) error {
	p.RootPropagation = unix.MS_SLAVE | unix.MS_REC
	if s.Linux == nil || s.Linux.RootfsPropagation == "" {
		return nil
	}
	name := s.Linux.RootfsPropagation
	flag, ok := Propagation(name)
	if !ok {
		return fieldErr("linux.rootfsPropagation", "unknown propagation %q: want one of private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable", name)
	}
	if !p.HasNamespace(specs.MountNamespace) {
		return fieldErr("linux.rootfsPropagation", "%s", needMountNS)
	}
	p.RootPropagation = flag
	return nil
}

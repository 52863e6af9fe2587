package spec

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNewUserNamespaceMustMapRoot(t *testing.T) {
	runFieldCases(t, []fieldCase{
		{"uid 0 unmapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.UIDMappings[0].ContainerID = 1
			s.Process.User.UID = 1
		}, "linux.uidMappings", "must map containerID 0"},
		{"gid 0 unmapped", func(s *specs.Spec) {
			withUserNS(s)
			s.Linux.GIDMappings[0].ContainerID = 1
			s.Process.User.GID = 1
		}, "linux.gidMappings", "must map containerID 0"},
	})
}

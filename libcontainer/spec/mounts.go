package spec

import (
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func setMounts(s *specs.Spec, p *Plan) error {
	if len(s.Mounts) == 0 {
		return nil
	}
	if !p.HasNamespace(specs.MountNamespace) {
		return fieldErr("mounts", "%s", needMountNS)
	}
	p.Mounts = make([]Mount, 0, len(s.Mounts))
	for i, sm := range s.Mounts {
		m, err := convertMount(idx("mounts", i), sm, p)
		if err != nil {
			return err
		}
		p.Mounts = append(p.Mounts, m)
	}
	return nil
}

func convertMount(field string, sm specs.Mount, p *Plan) (Mount, error) {
	var m Mount
	dest := sm.Destination
	switch {
	case dest == "":
		return m, fieldErr(field+".destination", "must be set to a path inside the container")
	case strings.IndexByte(dest, 0) >= 0:
		return m, fieldErr(field+".destination", "must not contain a NUL byte")
	case !path.IsAbs(dest):
		// The spec (and runc) still take a relative destination as
		// relative to "/", but call it deprecated.
		p.Warnings = append(p.Warnings, field+".destination: "+dest+" is relative; taken as /"+dest+" (relative destinations are deprecated)")
		dest = "/" + dest
	}
	m.Destination = path.Clean(dest)
	if m.Destination == "/" {
		return m, fieldErr(field+".destination", "cannot be /: the container's root is root.path")
	}
	if strings.IndexByte(sm.Source, 0) >= 0 {
		return m, fieldErr(field+".source", "must not contain a NUL byte")
	}
	if strings.IndexByte(sm.Type, 0) >= 0 {
		return m, fieldErr(field+".type", "must not contain a NUL byte")
	}
	if len(sm.UIDMappings) > 0 || len(sm.GIDMappings) > 0 {
		f := field + ".uidMappings"
		if len(sm.UIDMappings) == 0 {
			f = field + ".gidMappings"
		}
		return m, fieldErr(f, "id-mapped mounts are not supported yet by hull")
	}
	if err := parseMountOptions(field+".options", sm.Options, &m); err != nil {
		return m, err
	}
	m.Source, m.Type = sm.Source, sm.Type
	// runc ignores the type of a bind mount; a type of "bind" without the
	// option is taken as a bind mount too (as crun does), since no
	// filesystem is called "bind".
	if sm.Type == "bind" {
		m.Flags |= unix.MS_BIND
	}
	if m.Flags&unix.MS_BIND != 0 {
		m.Type = "bind"
		if m.Source == "" {
			return m, fieldErr(field+".source", "must be set for a bind mount: the host path to bind (absolute, or relative to the bundle)")
		}
		if !filepath.IsAbs(m.Source) {
			m.Source = filepath.Join(p.Bundle, m.Source)
		}
		// The kernel ignores filesystem options on a bind mount; failing
		// beats silently dropping them (runc does the same).
		if m.Data != "" {
			return m, fieldErr(field+".options", "%q cannot apply to a bind mount: filesystem-specific options are ignored by the kernel for bind mounts", m.Data)
		}
	} else if m.Type == "" && m.Flags&unix.MS_REMOUNT == 0 {
		return m, fieldErr(field+".type", `must be set (e.g. "tmpfs", "proc"), or add "bind" or "rbind" to options for a bind mount`)
	}
	if m.CopyUp && m.Type != "tmpfs" {
		return m, fieldErr(field+".options", `"tmpcopyup" only applies to mounts of type "tmpfs", not %q`, m.Type)
	}
	return m, nil
}

package spec

import (
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setRoot resolves root.path once, here, so that every later step works on
// the real directory and not on a symlink that could be swapped.
func setRoot(s *specs.Spec, p *Plan) error {
	if s.Root == nil {
		return fieldErr("root", `must be set, e.g. {"path": "rootfs"}`)
	}
	path := s.Root.Path
	if path == "" {
		return fieldErr("root.path", "must be set to the container's root filesystem directory (relative paths are relative to the bundle)")
	}
	if strings.IndexByte(path, 0) >= 0 {
		return fieldErr("root.path", "must not contain a NUL byte")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.Bundle, path)
	}
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return fieldErr("root.path", "%w: the root filesystem must exist (a relative path is relative to the bundle %s)", err, p.Bundle)
	}
	st, err := os.Stat(resolved)
	if err != nil {
		return fieldErr("root.path", "%w", err)
	}
	if !st.IsDir() {
		return fieldErr("root.path", "%s is not a directory: the root filesystem must be a directory", resolved)
	}
	p.Rootfs = resolved
	p.Readonly = s.Root.Readonly
	return nil
}

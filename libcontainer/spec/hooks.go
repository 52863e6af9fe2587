package spec

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setHooks checks what can be checked before the hooks run; the hooks
// themselves are run by others, from the copy in the Plan.
func setHooks(s *specs.Spec, p *Plan) error {
	h := s.Hooks
	if h == nil {
		return nil
	}
	for _, list := range []struct {
		field string
		hooks []specs.Hook
	}{
		{"hooks.prestart", h.Prestart}, //nolint:staticcheck // deprecated, but docker still sends it
		{"hooks.createRuntime", h.CreateRuntime},
		{"hooks.createContainer", h.CreateContainer},
		{"hooks.startContainer", h.StartContainer},
		{"hooks.poststart", h.Poststart},
		{"hooks.poststop", h.Poststop},
	} {
		for i, hook := range list.hooks {
			field := idx(list.field, i)
			if hook.Path == "" {
				return fieldErr(field+".path", "must be set to the absolute path of the hook's program")
			}
			if !filepath.IsAbs(hook.Path) || strings.IndexByte(hook.Path, 0) >= 0 {
				return fieldErr(field+".path", "%q must be an absolute path (hooks run in the runtime's namespace, without $PATH lookup)", hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fieldErr(field+".timeout", "%d must be greater than zero (seconds)", *hook.Timeout)
			}
			for j, kv := range hook.Env {
				if !strings.Contains(kv, "=") {
					return fieldErr(idx(field+".env", j), "%q must have the form NAME=VALUE", kv)
				}
			}
		}
	}
	p.Hooks = h
	return nil
}

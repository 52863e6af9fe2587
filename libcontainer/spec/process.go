package spec

import (
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func setProcess(s *specs.Spec, p *Plan) error {
	if s.Process == nil {
		return fieldErr("process", "must be set: create needs a process to run (args, cwd, user)")
	}
	return convertProcess(s.Process, p)
}

// ProcessFromSpec validates a process given on its own, as `exec --process`
// passes it, against the container's namespaces and mappings in p.
func ProcessFromSpec(sp *specs.Process, p *Plan) (*Process, error) {
	q := &Plan{Namespaces: p.Namespaces, UIDMappings: p.UIDMappings, GIDMappings: p.GIDMappings}
	if err := convertProcess(sp, q); err != nil {
		return nil, err
	}
	p.Warnings = append(p.Warnings, q.Warnings...)
	return &q.Process, nil
}

func convertProcess(sp *specs.Process, p *Plan) error {
	if len(sp.Args) == 0 {
		return fieldErr("process.args", `must not be empty: give the command to run, e.g. ["sh"]`)
	}
	for i, a := range sp.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fieldErr(idx("process.args", i), "must not contain a NUL byte")
		}
	}
	if sp.Args[0] == "" {
		return fieldErr("process.args[0]", "must not be empty: it is the program to run")
	}
	if sp.Cwd == "" {
		return fieldErr("process.cwd", `must be set to an absolute path inside the container, e.g. "/"`)
	}
	if !filepath.IsAbs(sp.Cwd) {
		return fieldErr("process.cwd", "%q must be an absolute path inside the container", sp.Cwd)
	}
	if strings.IndexByte(sp.Cwd, 0) >= 0 {
		return fieldErr("process.cwd", "must not contain a NUL byte")
	}
	env, err := checkEnv("process.env", sp.Env)
	if err != nil {
		return err
	}
	if err := checkUser(sp.User, p); err != nil {
		return err
	}
	caps, warns, err := convertCaps(sp.Capabilities)
	if err != nil {
		return err
	}
	p.Warnings = append(p.Warnings, warns...)
	rlimits, err := convertRlimits(sp.Rlimits)
	if err != nil {
		return err
	}
	if sp.OOMScoreAdj != nil && (*sp.OOMScoreAdj < -1000 || *sp.OOMScoreAdj > 1000) {
		return fieldErr("process.oomScoreAdj", "%d is out of range: want -1000 to 1000", *sp.OOMScoreAdj)
	}
	p.Process = Process{
		Args:           sp.Args,
		Env:            env,
		Cwd:            filepath.Clean(sp.Cwd),
		UID:            sp.User.UID,
		GID:            sp.User.GID,
		AdditionalGids: sp.User.AdditionalGids,
		Umask:          sp.User.Umask,
		Terminal:       sp.Terminal,
		Caps:           caps,
		Rlimits:        rlimits,
		NoNewPrivs:     sp.NoNewPrivileges,
		OOMScoreAdj:    sp.OOMScoreAdj,
	}
	// The spec says consoleSize is ignored without a terminal.
	if sp.Terminal {
		p.Process.ConsoleSize = sp.ConsoleSize
	}
	return nil
}

// checkEnv requires NAME=VALUE entries, as runc does, and drops earlier
// duplicates of a name so that the last one wins, as with runc and a shell.
func checkEnv(field string, env []string) ([]string, error) {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		eq := strings.IndexByte(kv, '=')
		if eq < 0 {
			return nil, fieldErr(idx(field, i), "%q must have the form NAME=VALUE", kv)
		}
		if eq == 0 {
			return nil, fieldErr(idx(field, i), "%q has an empty name: want NAME=VALUE", kv)
		}
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fieldErr(idx(field, i), "%q must not contain a NUL byte", kv[:eq])
		}
		last[kv[:eq]] = i
	}
	if len(last) == len(env) {
		return env, nil
	}
	out := make([]string, 0, len(last))
	for i, kv := range env {
		if last[kv[:strings.IndexByte(kv, '=')]] == i {
			out = append(out, kv)
		}
	}
	return out, nil
}

func checkUser(u specs.User, p *Plan) error {
	if u.Umask != nil && *u.Umask > 0o777 {
		return fieldErr("process.user.umask", "%#o is not a umask: want 0 to 0777 (511 in decimal)", *u.Umask)
	}
	// Only a new user namespace is known here; a joined one has whatever
	// mappings it has.
	for _, ns := range p.Namespaces {
		if ns.Type != specs.UserNamespace || ns.Path != "" {
			continue
		}
		if !mapped(p.UIDMappings, u.UID) {
			return fieldErr("process.user.uid", "%d is not mapped by linux.uidMappings: the process could not run as it", u.UID)
		}
		if !mapped(p.GIDMappings, u.GID) {
			return fieldErr("process.user.gid", "%d is not mapped by linux.gidMappings: the process could not run as it", u.GID)
		}
		for i, g := range u.AdditionalGids {
			if !mapped(p.GIDMappings, g) {
				return fieldErr(idx("process.user.additionalGids", i), "%d is not mapped by linux.gidMappings", g)
			}
		}
	}
	return nil
}

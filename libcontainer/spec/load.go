package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Load reads <bundle>/config.json and validates it into a Plan.
func Load(bundle string) (*Plan, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, &FieldError{Err: fmt.Errorf("bundle %q: %w", bundle, err)}
	}
	path := filepath.Join(abs, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &FieldError{Err: fmt.Errorf("%w (check --bundle: it must be the directory holding config.json)", err)}
		}
		return nil, &FieldError{Err: err}
	}
	s, err := decode(data)
	if err != nil {
		return nil, err
	}
	return FromSpec(s, abs)
}

// decode parses config.json, turning json's byte offsets into line:column
// so that the user can find the mistake in an editor.
func decode(data []byte) (*specs.Spec, error) {
	var s specs.Spec
	err := json.Unmarshal(data, &s)
	if err == nil {
		return &s, nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		line, col := position(data, syn.Offset)
		return nil, &FieldError{Err: fmt.Errorf("invalid JSON at line %d, column %d (byte %d): %w", line, col, syn.Offset, err)}
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		line, col := position(data, typ.Offset)
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return nil, &FieldError{Field: field, Err: &wrapped{
			msg: fmt.Sprintf("want a %s, not a JSON %s (line %d, column %d)", typ.Type, typ.Value, line, col),
			err: err,
		}}
	}
	return nil, &FieldError{Err: fmt.Errorf("invalid JSON: %w", err)}
}

// wrapped keeps err reachable for errors.As without repeating its text.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// position converts a byte offset as reported by encoding/json (the number
// of bytes read when the error was found, so the offending byte is the last
// of them) into the 1-based line and column of that byte.
func position(data []byte, off int64) (line, col int) {
	i := int(min(max(off, 1), int64(len(data)))) - 1
	if i < 0 {
		return 1, 1
	}
	line = bytes.Count(data[:i], []byte{'\n'}) + 1
	col = i - bytes.LastIndexByte(data[:i], '\n')
	return line, col
}

// FromSpec validates s, the configuration of the bundle at bundle, and turns
// it into a Plan. The first problem found is returned as a *FieldError.
func FromSpec(s *specs.Spec, bundle string) (*Plan, error) {
	if s == nil {
		return nil, &FieldError{Err: errors.New("no configuration given")}
	}
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, &FieldError{Err: fmt.Errorf("bundle %q: %w", bundle, err)}
	}
	p := &Plan{
		OCIVersion: s.Version,
		Bundle:     abs,
		Hostname:   s.Hostname,
		Domainname: s.Domainname,
	}
	w, err := checkVersion(s.Version)
	if err != nil {
		return nil, err
	}
	if w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	// Order matters: namespaces first, since the process (uid mappings),
	// sysctls, hostname and mounts are all judged against them.
	steps := []func(*specs.Spec, *Plan) error{
		setAnnotations,
		setRoot,
		setNamespaces,
		setUTS,
		setProcess,
		setSysctl,
		setMounts,
		setRootPropagation,
		setDevices,
		setMaskedAndReadonly,
		setHooks,
		setCgroups,
	}
	for _, step := range steps {
		if err := step(s, p); err != nil {
			return nil, err
		}
	}
	p.Warnings = append(p.Warnings, unenforced(s)...)
	return p, nil
}

func setAnnotations(s *specs.Spec, p *Plan) error {
	for k := range s.Annotations {
		if k == "" {
			return fieldErr("annotations", "keys must not be empty")
		}
	}
	p.Annotations = s.Annotations
	return nil
}

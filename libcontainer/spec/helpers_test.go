package spec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle makes a bundle directory with an empty rootfs/ in it.
func newBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fieldCase is one validation case: start from the default (privileged)
// config, apply mod, and expect an error about field containing msg; an
// empty field means no error is expected.
type fieldCase struct {
	name  string
	mod   func(s *specs.Spec)
	field string
	msg   string
}

func runFieldCases(t *testing.T, cases []fieldCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bundle := newBundle(t)
			s := Default(false)
			tc.mod(s)
			p, err := FromSpec(s, bundle)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want no error, got %v", err)
				}
				if p == nil {
					t.Fatal("nil plan without error")
				}
				return
			}
			wantFieldErr(t, err, tc.field, tc.msg)
		})
	}
}

// wantFieldErr checks that err is a one-line *FieldError about field whose
// message contains msg.
func wantFieldErr(t *testing.T, err error, field, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want an error about %s, got none", field)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("want a *FieldError, got %T: %v", err, err)
	}
	if fe.Field != field {
		t.Errorf("field = %q, want %q (error: %v)", fe.Field, field, err)
	}
	text := err.Error()
	prefix := "config.json: " + field + ": "
	if field == "" {
		prefix = "config.json: "
	}
	if !strings.HasPrefix(text, prefix) {
		t.Errorf("error %q does not start with %q", text, prefix)
	}
	if !strings.Contains(text, msg) {
		t.Errorf("error %q does not contain %q", text, msg)
	}
	if strings.ContainsAny(text, "\n\r") {
		t.Errorf("error is not one line: %q", text)
	}
}

func ptr[T any](v T) *T { return &v }

func hasWarning(p *Plan, sub string) bool {
	for _, w := range p.Warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

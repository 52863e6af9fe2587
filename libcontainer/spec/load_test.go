package spec

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, bundle string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDefault(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		bundle := newBundle(t)
		data, err := json.MarshalIndent(Default(rootless), "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		writeConfig(t, bundle, data)
		p, err := Load(bundle)
		if err != nil {
			t.Fatalf("rootless=%v: %v", rootless, err)
		}
		if p.Bundle != bundle || p.Rootfs != filepath.Join(bundle, "rootfs") {
			t.Errorf("rootless=%v: bundle %q rootfs %q", rootless, p.Bundle, p.Rootfs)
		}
	}
}

func TestLoadRelativeBundle(t *testing.T) {
	bundle := newBundle(t)
	data, _ := json.Marshal(Default(false))
	writeConfig(t, bundle, data)
	t.Chdir(filepath.Dir(bundle))
	p, err := Load(filepath.Base(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(p.Bundle) || p.Rootfs != filepath.Join(bundle, "rootfs") {
		t.Errorf("bundle %q rootfs %q", p.Bundle, p.Rootfs)
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	wantFieldErr(t, err, "", "check --bundle")
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error does not wrap ErrNotExist: %v", err)
	}
	want := "config.json: open " + filepath.Join(dir, "config.json") + ": no such file or directory"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want prefix %q", err, want)
	}
}

func TestLoadSyntaxError(t *testing.T) {
	bundle := newBundle(t)
	writeConfig(t, bundle, []byte("{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {,\n}\n"))
	_, err := Load(bundle)
	wantFieldErr(t, err, "", "invalid JSON at line 3, column 15")
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("error does not wrap *json.SyntaxError: %v", err)
	}
}

func TestLoadTypeError(t *testing.T) {
	bundle := newBundle(t)
	writeConfig(t, bundle, []byte("{\n  \"ociVersion\": \"1.0.0\",\n  \"process\": {\"user\": {\"uid\": \"root\"}}\n}\n"))
	_, err := Load(bundle)
	wantFieldErr(t, err, "process.user.uid", "want a uint32, not a JSON string (line 3, column")
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		t.Errorf("error does not wrap *json.UnmarshalTypeError: %v", err)
	}
}

func TestLoadValidationError(t *testing.T) {
	bundle := newBundle(t)
	s := Default(false)
	s.Process.Args = nil
	data, _ := json.Marshal(s)
	writeConfig(t, bundle, data)
	_, err := Load(bundle)
	wantFieldErr(t, err, "process.args", "must not be empty")
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\nef")
	for _, tc := range []struct {
		off       int64
		line, col int
	}{{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 1}, {7, 3, 1}, {8, 3, 2}, {100, 3, 2}} {
		if l, c := position(data, tc.off); l != tc.line || c != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.off, l, c, tc.line, tc.col)
		}
	}
}

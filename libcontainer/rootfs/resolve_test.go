package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// resolveRoot is a rootfs-like tree with a symlink that points inside it,
// one that tries to leave it, and a dangling one.
func resolveRoot(t *testing.T) (dir string, root *os.File) {
	t.Helper()
	dir = t.TempDir()
	for _, d := range []string{"real/run", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"var":      "real",              // relative, inside
		"abs":      "/real/run",         // absolute: must mean <root>/real/run
		"escape":   "../../../../../..", // must stop at the root
		"dangling": "/nowhere/at/all",
		"etc/file": "/real",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return dir, root
}

func TestMkdirInRoot(t *testing.T) {
	dir, root := resolveRoot(t)
	for rel, want := range map[string]string{
		"":                 "",
		"a/b/c":            "a/b/c",
		"var/run/x":        "real/run/x", // prefix followed inside the root
		"abs/y/z":          "real/run/y/z",
		"escape/tmp/inner": "tmp/inner", // ".." stopped at the root
		"real":             "real",
	} {
		h, err := mkdirInRoot(root, rel)
		if err != nil {
			t.Errorf("mkdirInRoot(%q): %v", rel, err)
			continue
		}
		got, err := fdPath(h)
		h.Close()
		if err != nil {
			t.Fatal(err)
		}
		if wantPath := filepath.Join(dir, want); got != wantPath {
			t.Errorf("mkdirInRoot(%q) made %q, want %q", rel, got, wantPath)
		}
	}
	// A dangling symlink is never created through, and a file is no
	// directory.
	for _, rel := range []string{"dangling/sub", "dangling"} {
		if h, err := mkdirInRoot(root, rel); err == nil {
			p, _ := fdPath(h)
			h.Close()
			t.Errorf("mkdirInRoot(%q) succeeded (%s), want an error", rel, p)
		}
	}
	if _, err := os.Stat("/nowhere"); err == nil {
		t.Errorf("a directory was made outside the root")
	}
	if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := mkdirInRoot(root, "plain/sub"); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("mkdirInRoot through a file: %v, want ENOTDIR", err)
	}
}

func TestOpenInRootStaysInside(t *testing.T) {
	dir, root := resolveRoot(t)
	for rel, want := range map[string]string{
		"escape": "", "abs": "real/run", "escape/etc": "etc", "..": "",
	} {
		h, err := openInRoot(root, rel)
		if err != nil {
			t.Errorf("openInRoot(%q): %v", rel, err)
			continue
		}
		got, _ := fdPath(h)
		h.Close()
		if !strings.HasPrefix(got, dir) || got != filepath.Join(dir, want) {
			t.Errorf("openInRoot(%q) = %q, want %q", rel, got, filepath.Join(dir, want))
		}
	}
	if _, err := openInRoot(root, "dangling"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openInRoot of a dangling symlink: %v, want not-exist", err)
	}
}

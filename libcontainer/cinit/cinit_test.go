package cinit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hull-oci/hull/libcontainer/spec"
)

func process(args []string, env ...string) *spec.Process {
	return &spec.Process{Args: args, Env: env, Cwd: "/", UID: 0, GID: 0}
}

func TestDecodeRejectsMalformedPlans(t *testing.T) {
	good := Encode(process([]string{"/bin/true"}, "PATH=/bin"), -1, 3)
	if _, err := Decode(good); err != nil {
		t.Fatalf("a plan Encode made: %v", err)
	}
	for name, b := range map[string][]byte{
		"truncated":    good[:len(good)-2],
		"no records":   nil,
		"unknown tag":  append([]byte{'?', 0, 0, 0, 0}, good...),
		"NUL in arg":   Encode(process([]string{"/bin/tr\x00ue"}), -1, 3),
		"no arguments": Encode(process(nil), -1, 3),
		"long length":  append(append([]byte{}, good...), 'n', 0xff, 0xff, 0xff, 0x7f),
	} {
		if _, err := Decode(b); err == nil || !strings.HasPrefix(err.Error(), "decode the plan: ") {
			t.Errorf("%s: Decode = %v, want a decode error", name, err)
		}
	}
}

// LookPath words its errors as Go's os/exec does: engines map these words
// to exit statuses 127 and 126.
func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	exe := write("tool", 0o755)
	noexec := write("data", 0o644)
	other := t.TempDir()
	for _, c := range []struct {
		args []string
		path string
		want string // the path found, or the error
	}{
		{[]string{"tool"}, other + ":" + dir, exe},
		{[]string{exe}, "", exe},
		{[]string{"tool"}, other, `exec: "tool": executable file not found in $PATH`},
		{[]string{"tool"}, "", `exec: "tool": executable file not found in $PATH`},
		{[]string{"data"}, dir, `exec: "data": stat ` + noexec + `: permission denied`},
		{[]string{dir + "/missing"}, dir, `exec: "` + dir + `/missing": stat ` + dir + `/missing: no such file or directory`},
		{[]string{dir}, "", `exec: "` + dir + `": stat ` + dir + `: is a directory: permission denied`},
	} {
		env := []string{"HOME=/"}
		if c.path != "" {
			env = append(env, "PATH=/nowhere", "PATH="+c.path) // the last one counts
		}
		p, err := Decode(Encode(process(c.args, env...), -1, 3))
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.LookPath()
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("LookPath(%q, PATH=%q) = %q, want %q", c.args[0], c.path, got, c.want)
		}
	}
}

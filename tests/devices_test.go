package tests

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The default devices exist as character devices with the right numbers
// (stat prints them in hex) and are usable through the device cgroup.
func TestDefaultDevices(t *testing.T) {
	want := map[string]string{
		"/dev/null":    "1:3",
		"/dev/zero":    "1:5",
		"/dev/full":    "1:7",
		"/dev/random":  "1:8",
		"/dev/urandom": "1:9",
		"/dev/tty":     "5:0",
	}
	b := newBundle(t)
	out := b.sh(`for d in /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; do
		stat -c '%n|%F|%t:%T' $d
	done`)
	for _, l := range lines(out) {
		f := strings.Split(l, "|")
		if len(f) != 3 {
			t.Fatalf("stat line %q", l)
		}
		if f[1] != "character special file" || f[2] != want[f[0]] {
			t.Errorf("%s: %s %s, want a character device %s", f[0], f[1], f[2], want[f[0]])
		}
		delete(want, f[0])
	}
	for d := range want {
		t.Errorf("%s missing", d)
	}

	// Readable and writable as the device cgroup allows them by default.
	if got := b.sh("echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c"); strings.Join(strings.Fields(got), " ") != "4 4" {
		t.Errorf("reading /dev/zero and /dev/urandom: %q", got)
	}
}

// /dev has the usual symlinks and directories.
func TestDevSymlinksAndDirs(t *testing.T) {
	b := newBundle(t)
	out := b.sh(`for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr /dev/ptmx; do
		echo "$l -> $(readlink $l)"
	done
	for d in /dev/shm /dev/pts /dev/mqueue; do test -d $d && echo "$d dir"; done`)
	want := []string{
		"/dev/fd -> /proc/self/fd",
		"/dev/stdin -> /proc/self/fd/0",
		"/dev/stdout -> /proc/self/fd/1",
		"/dev/stderr -> /proc/self/fd/2",
		"/dev/ptmx -> pts/ptmx",
		"/dev/shm dir",
		"/dev/pts dir",
		"/dev/mqueue dir",
	}
	if got := lines(out); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A linux.devices entry is created with its type, numbers, mode and owner.
func TestLinuxDevices(t *testing.T) {
	mode := os.FileMode(0o666)
	uid, gid := uint32(0), uint32(0)
	b := newBundle(t)
	b.spec.Linux.Devices = []specs.LinuxDevice{{
		Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid,
	}}
	got := strings.TrimSpace(b.output("stat", "-c", "%F|%t:%T|%a|%u:%g", "/dev/fuse"))
	if want := "character special file|a:e5|666|0:0"; got != want {
		t.Errorf("/dev/fuse: %q, want %q", got, want)
	}
}

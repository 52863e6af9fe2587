package spec

import (
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	cases := []struct {
		opts  []string
		flags uintptr
		clear uintptr
		prop  []uintptr
		data  string
	}{
		{nil, 0, 0, nil, ""},
		{[]string{"ro"}, unix.MS_RDONLY, 0, nil, ""},
		{[]string{"ro", "rw"}, 0, unix.MS_RDONLY, nil, ""},
		{[]string{"rw", "ro"}, unix.MS_RDONLY, 0, nil, ""},
		{[]string{"nosuid", "suid"}, 0, unix.MS_NOSUID, nil, ""},
		{[]string{"nodev", "noexec", "nosuid"}, unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID, 0, nil, ""},
		{[]string{"dev", "exec"}, 0, unix.MS_NODEV | unix.MS_NOEXEC, nil, ""},
		{[]string{"sync"}, unix.MS_SYNCHRONOUS, 0, nil, ""},
		{[]string{"sync", "async"}, 0, unix.MS_SYNCHRONOUS, nil, ""},
		{[]string{"dirsync"}, unix.MS_DIRSYNC, 0, nil, ""},
		{[]string{"remount"}, unix.MS_REMOUNT, 0, nil, ""},
		{[]string{"mand"}, unix.MS_MANDLOCK, 0, nil, ""},
		{[]string{"nomand"}, 0, unix.MS_MANDLOCK, nil, ""},
		{[]string{"noatime"}, unix.MS_NOATIME, 0, nil, ""},
		{[]string{"atime"}, 0, unix.MS_NOATIME, nil, ""},
		{[]string{"nodiratime"}, unix.MS_NODIRATIME, 0, nil, ""},
		{[]string{"diratime"}, 0, unix.MS_NODIRATIME, nil, ""},
		{[]string{"relatime"}, unix.MS_RELATIME, 0, nil, ""},
		{[]string{"norelatime"}, 0, unix.MS_RELATIME, nil, ""},
		{[]string{"strictatime"}, unix.MS_STRICTATIME, 0, nil, ""},
		{[]string{"nostrictatime"}, 0, unix.MS_STRICTATIME, nil, ""},
		{[]string{"bind"}, unix.MS_BIND, 0, nil, ""},
		{[]string{"rbind"}, unix.MS_BIND | unix.MS_REC, 0, nil, ""},
		{[]string{"nosymfollow"}, unix.MS_NOSYMFOLLOW, 0, nil, ""},
		{[]string{"lazytime", "iversion", "silent"}, unix.MS_LAZYTIME | unix.MS_I_VERSION | unix.MS_SILENT, 0, nil, ""},
		{[]string{"private"}, 0, 0, []uintptr{unix.MS_PRIVATE}, ""},
		{[]string{"rprivate"}, 0, 0, []uintptr{unix.MS_PRIVATE | unix.MS_REC}, ""},
		{[]string{"shared", "rshared"}, 0, 0, []uintptr{unix.MS_SHARED, unix.MS_SHARED | unix.MS_REC}, ""},
		{[]string{"slave"}, 0, 0, []uintptr{unix.MS_SLAVE}, ""},
		{[]string{"rslave"}, 0, 0, []uintptr{unix.MS_SLAVE | unix.MS_REC}, ""},
		{[]string{"unbindable"}, 0, 0, []uintptr{unix.MS_UNBINDABLE}, ""},
		{[]string{"runbindable"}, 0, 0, []uintptr{unix.MS_UNBINDABLE | unix.MS_REC}, ""},
		{[]string{"defaults", ""}, 0, 0, nil, ""},
		{[]string{"nosuid", "mode=755", "size=65536k"}, unix.MS_NOSUID, 0, nil, "mode=755,size=65536k"},
		{[]string{"newinstance", "ptmxmode=0666", "ro", "gid=5"}, unix.MS_RDONLY, 0, nil, "newinstance,ptmxmode=0666,gid=5"},
	}
	for _, tc := range cases {
		var m Mount
		if err := parseMountOptions("mounts[0].options", tc.opts, &m); err != nil {
			t.Errorf("%q: %v", tc.opts, err)
			continue
		}
		if m.Flags != tc.flags || m.ClearFlags != tc.clear || m.Data != tc.data || !reflect.DeepEqual(m.Propagation, tc.prop) {
			t.Errorf("%q: got flags %#x clear %#x prop %#x data %q; want %#x %#x %#x %q",
				tc.opts, m.Flags, m.ClearFlags, m.Propagation, m.Data, tc.flags, tc.clear, tc.prop, tc.data)
		}
	}
}

func TestParseMountOptionsCopyUp(t *testing.T) {
	var m Mount
	if err := parseMountOptions("mounts[0].options", []string{"tmpcopyup", "mode=755"}, &m); err != nil {
		t.Fatal(err)
	}
	if !m.CopyUp || m.Data != "mode=755" {
		t.Errorf("tmpcopyup: CopyUp %v data %q", m.CopyUp, m.Data)
	}
}

func TestRecursiveOptionsRefused(t *testing.T) {
	for _, o := range recursiveAttrOptions[:] {
		var m Mount
		err := parseMountOptions("mounts[2].options", []string{"nodev", o}, &m)
		wantFieldErr(t, err, "mounts[2].options[1]", "not supported yet")
	}
}

func TestPropagation(t *testing.T) {
	for name, want := range map[string]uintptr{
		"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
		"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
		"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
		"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
	} {
		if got, ok := Propagation(name); !ok || got != want {
			t.Errorf("Propagation(%q) = %#x, %v; want %#x", name, got, ok, want)
		}
	}
	if _, ok := Propagation("rro"); ok {
		t.Error(`Propagation("rro") should not be known`)
	}
}

func TestMountOptionsListsEveryFlagOption(t *testing.T) {
	got := map[string]bool{}
	for _, o := range MountOptions() {
		got[o] = true
	}
	for _, o := range []string{"ro", "rw", "bind", "rbind", "rslave", "tmpcopyup", "defaults", "nosymfollow"} {
		if !got[o] {
			t.Errorf("MountOptions() misses %q", o)
		}
	}
}

package rootfs

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestBindRemountFlags(t *testing.T) {
	for _, tc := range []struct {
		name         string
		flags, clear uintptr
		want         uintptr
		need         bool
	}{
		{"plain bind keeps the source's flags", unix.MS_BIND, 0, 0, false},
		{"rbind keeps the source's flags", unix.MS_BIND | unix.MS_REC, 0, 0, false},
		{"propagation alone needs no remount", unix.MS_BIND | unix.MS_PRIVATE, 0, 0, false},
		{"ro", unix.MS_BIND | unix.MS_RDONLY, 0, unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, true},
		{"rbind ro drops MS_REC", unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY | unix.MS_NOSUID, 0,
			unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID, true},
		{"an explicit rw still remounts", unix.MS_BIND, unix.MS_RDONLY, unix.MS_BIND | unix.MS_REMOUNT, true},
	} {
		got, need := bindRemountFlags(tc.flags, tc.clear)
		if got != tc.want || need != tc.need {
			t.Errorf("%s: got %#x,%v want %#x,%v", tc.name, got, need, tc.want, tc.need)
		}
	}
}

func TestLockedRemountFlags(t *testing.T) {
	base := uintptr(unix.MS_BIND | unix.MS_REMOUNT)
	// The source is nosuid,nodev,relatime (locked in a user namespace):
	// asking for ro keeps them.
	got, err := lockedRemountFlags(base|unix.MS_RDONLY, 0, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_RELATIME)
	if err != nil || got != base|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_RELATIME {
		t.Errorf("keep locked: got %#x, %v", got, err)
	}
	// Asking for suid on a nosuid source cannot be honoured.
	if _, err := lockedRemountFlags(base, unix.MS_NOSUID, unix.MS_NOSUID); err == nil || !strings.Contains(err.Error(), "nosuid") {
		t.Errorf("clear locked nosuid: got %v", err)
	}
	// Asking for noatime on a relatime source cannot be honoured either.
	if _, err := lockedRemountFlags(base|unix.MS_NOATIME, 0, unix.MS_RELATIME); err == nil || !strings.Contains(err.Error(), "atime") {
		t.Errorf("atime mismatch: got %v", err)
	}
	// The same atime is fine.
	if _, err := lockedRemountFlags(base|unix.MS_RELATIME, 0, unix.MS_RELATIME); err != nil {
		t.Errorf("same atime: %v", err)
	}
	// Flags that are not lockable are not copied from the source.
	got, err = lockedRemountFlags(base, 0, unix.MS_SYNCHRONOUS|unix.MS_STRICTATIME)
	if err != nil || got != base|unix.MS_STRICTATIME {
		t.Errorf("unlockable: got %#x, %v", got, err)
	}
}

func TestStatfsToMountFlags(t *testing.T) {
	if got := statfsToMountFlags(unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_RELATIME); got != unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_RELATIME {
		t.Errorf("got %s", flagNames(got))
	}
	// No atime bit in statfs means strictatime.
	if got := statfsToMountFlags(unix.ST_NODEV); got != unix.MS_NODEV|unix.MS_STRICTATIME {
		t.Errorf("got %s", flagNames(got))
	}
	if got := statfsToMountFlags(unix.ST_NOATIME | unix.ST_NODIRATIME); got != unix.MS_NOATIME|unix.MS_NODIRATIME {
		t.Errorf("got %s", flagNames(got))
	}
}

func TestFlagNames(t *testing.T) {
	if got := flagNames(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_RELATIME); got != "ro,nosuid,relatime" {
		t.Errorf("got %q", got)
	}
	if got := flagNames(0); got != "(none)" {
		t.Errorf("got %q", got)
	}
	if got := flagNames(unix.MS_NODEV | 1<<30); got != "nodev,0x40000000" {
		t.Errorf("got %q", got)
	}
}

func TestRootPropagation(t *testing.T) {
	for _, tc := range []struct {
		in                   uintptr
		first, parent, after uintptr
	}{
		{0, unix.MS_SLAVE | unix.MS_REC, unix.MS_PRIVATE, 0},
		{unix.MS_SLAVE | unix.MS_REC, unix.MS_SLAVE | unix.MS_REC, unix.MS_SLAVE, 0},
		{unix.MS_PRIVATE, unix.MS_PRIVATE | unix.MS_REC, unix.MS_PRIVATE, 0},
		{unix.MS_SHARED | unix.MS_REC, unix.MS_SHARED | unix.MS_REC, unix.MS_PRIVATE, unix.MS_SHARED | unix.MS_REC},
		{unix.MS_UNBINDABLE, unix.MS_UNBINDABLE | unix.MS_REC, unix.MS_PRIVATE, unix.MS_UNBINDABLE | unix.MS_REC},
	} {
		f, p, a := rootPropagation(tc.in)
		if f != tc.first || p != tc.parent || a != tc.after {
			t.Errorf("rootPropagation(%s): got %s,%s,%s want %s,%s,%s", propName(tc.in),
				propName(f), propName(p), propName(a), propName(tc.first), propName(tc.parent), propName(tc.after))
		}
	}
}

package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

const (
	recFlag = unix.MS_REC

	// The atime flags form an enum in the kernel; MS_NODIRATIME is separate.
	atimeEnumFlags = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	atimeFlags     = atimeEnumFlags | unix.MS_NODIRATIME

	// lockedFlags are the per-mount flags the kernel locks (MNT_LOCK_*) on
	// mounts inherited from a more privileged user namespace: a bind remount
	// from inside a user namespace may keep them but never clear them.
	lockedFlags = unix.MS_RDONLY | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOSUID | atimeFlags

	propagationFlags = unix.MS_SHARED | unix.MS_SLAVE | unix.MS_PRIVATE | unix.MS_UNBINDABLE
)

func isBind(m *spec.Mount) bool { return m.Flags&unix.MS_BIND != 0 }

// bindRemountFlags decides whether a bind mount needs the second,
// MS_REMOUNT|MS_BIND call that actually applies per-mount flags (the first
// MS_BIND ignores them), and with which flags. As runc does, a mount that
// names no flag at all, set or cleared, keeps the flags of its source.
func bindRemountFlags(flags, clear uintptr) (uintptr, bool) {
	asked := flags &^ (unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT | propagationFlags)
	if asked == 0 && clear == 0 {
		return 0, false
	}
	return asked | unix.MS_BIND | unix.MS_REMOUNT, true
}

// lockedRemountFlags is the retry after a bind remount failed: the source
// may carry flags the kernel will not let us drop. It keeps those locked
// flags, unless the config explicitly asked to clear one, or asked for an
// atime mode other than the locked one: then the mount could not be what
// the user asked for, and that is an error rather than a silent change.
func lockedRemountFlags(flags, clear, srcFlags uintptr) (uintptr, error) {
	srcLocked := srcFlags & lockedFlags
	if cannot := srcLocked & clear; cannot != 0 {
		return 0, fmt.Errorf("the source is mounted %s and that cannot be cleared from here", flagNames(cannot))
	}
	if want := flags & atimeFlags; want != 0 && want != srcFlags&atimeFlags {
		return 0, fmt.Errorf("the source's atime flags %s are locked and differ from the requested %s",
			flagNames(srcFlags&atimeFlags), flagNames(want))
	}
	return flags | srcLocked, nil
}

// statfsToMountFlags turns statfs(2) f_flags (ST_*) into the MS_* flags of
// the same mount.
func statfsToMountFlags(stFlags int64) uintptr {
	const stNoSymfollow = 0x2000 // ST_NOSYMFOLLOW, not in x/sys
	pairs := []struct {
		st int64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_MANDLOCK, unix.MS_MANDLOCK},
		{unix.ST_SYNCHRONOUS, unix.MS_SYNCHRONOUS},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		{stNoSymfollow, unix.MS_NOSYMFOLLOW},
	}
	var flags uintptr
	for _, p := range pairs {
		if stFlags&p.st != 0 {
			flags |= p.ms
		}
	}
	// Strict atime is the absence of the others: statfs has no bit for it.
	if flags&atimeEnumFlags == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags
}

// flagNames spells MS_* flags the way mount(8) options do, for messages.
func flagNames(flags uintptr) string {
	names := []struct {
		f    uintptr
		name string
	}{
		{unix.MS_RDONLY, "ro"}, {unix.MS_NOSUID, "nosuid"}, {unix.MS_NODEV, "nodev"},
		{unix.MS_NOEXEC, "noexec"}, {unix.MS_SYNCHRONOUS, "sync"}, {unix.MS_MANDLOCK, "mand"},
		{unix.MS_NOATIME, "noatime"}, {unix.MS_NODIRATIME, "nodiratime"},
		{unix.MS_RELATIME, "relatime"}, {unix.MS_STRICTATIME, "strictatime"},
		{unix.MS_NOSYMFOLLOW, "nosymfollow"},
	}
	var out []string
	for _, n := range names {
		if flags&n.f != 0 {
			out = append(out, n.name)
			flags &^= n.f
		}
	}
	if flags != 0 {
		out = append(out, fmt.Sprintf("%#x", flags))
	}
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ",")
}

// rootPropagation splits linux.rootfsPropagation into the three places it
// acts, as runc does: the recursive flag for "/" before anything is mounted
// (slave by default, so nothing we mount reaches the host); the flag for the
// rootfs's parent mount, which pivot_root and the rootfs bind need to be
// private or slave; and, for shared or unbindable, the flag re-applied to
// the new "/" after pivot_root (0 when there is nothing to re-apply).
func rootPropagation(p uintptr) (first, parent, after uintptr) {
	p &= propagationFlags
	if p == 0 {
		return unix.MS_SLAVE | unix.MS_REC, unix.MS_PRIVATE, 0
	}
	first = p | unix.MS_REC
	parent = unix.MS_PRIVATE
	if p&unix.MS_SLAVE != 0 {
		parent = unix.MS_SLAVE
	}
	if p&(unix.MS_PRIVATE|unix.MS_SLAVE) == 0 {
		after = p | unix.MS_REC
	}
	return first, parent, after
}

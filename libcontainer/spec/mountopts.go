package spec

import (
	"strings"

	"golang.org/x/sys/unix"
)

// mountFlagOptions are the mount(8) options that are MS_* flags. clear marks
// the options that turn a flag off ("rw" clears MS_RDONLY). Arrays of
// constants, not maps: nothing to build at program start.
var mountFlagOptions = [...]struct {
	name  string
	clear bool
	flag  uintptr
}{
	{"async", true, unix.MS_SYNCHRONOUS},
	{"atime", true, unix.MS_NOATIME},
	{"bind", false, unix.MS_BIND},
	{"dev", true, unix.MS_NODEV},
	{"diratime", true, unix.MS_NODIRATIME},
	{"dirsync", false, unix.MS_DIRSYNC},
	{"exec", true, unix.MS_NOEXEC},
	{"iversion", false, unix.MS_I_VERSION},
	{"lazytime", false, unix.MS_LAZYTIME},
	{"loud", true, unix.MS_SILENT},
	{"mand", false, unix.MS_MANDLOCK},
	{"noatime", false, unix.MS_NOATIME},
	{"nodev", false, unix.MS_NODEV},
	{"nodiratime", false, unix.MS_NODIRATIME},
	{"noexec", false, unix.MS_NOEXEC},
	{"noiversion", true, unix.MS_I_VERSION},
	{"nolazytime", true, unix.MS_LAZYTIME},
	{"nomand", true, unix.MS_MANDLOCK},
	{"norelatime", true, unix.MS_RELATIME},
	{"nostrictatime", true, unix.MS_STRICTATIME},
	{"nosuid", false, unix.MS_NOSUID},
	{"nosymfollow", false, unix.MS_NOSYMFOLLOW},
	{"rbind", false, unix.MS_BIND | unix.MS_REC},
	{"relatime", false, unix.MS_RELATIME},
	{"remount", false, unix.MS_REMOUNT},
	{"ro", false, unix.MS_RDONLY},
	{"rw", true, unix.MS_RDONLY},
	{"silent", false, unix.MS_SILENT},
	{"strictatime", false, unix.MS_STRICTATIME},
	{"suid", true, unix.MS_NOSUID},
	{"symfollow", true, unix.MS_NOSYMFOLLOW},
	{"sync", false, unix.MS_SYNCHRONOUS},
}

var propagationOptions = [...]struct {
	name string
	flag uintptr
}{
	{"private", unix.MS_PRIVATE},
	{"rprivate", unix.MS_PRIVATE | unix.MS_REC},
	{"shared", unix.MS_SHARED},
	{"rshared", unix.MS_SHARED | unix.MS_REC},
	{"slave", unix.MS_SLAVE},
	{"rslave", unix.MS_SLAVE | unix.MS_REC},
	{"unbindable", unix.MS_UNBINDABLE},
	{"runbindable", unix.MS_UNBINDABLE | unix.MS_REC},
}

// recursiveAttrOptions need mount_setattr(2) with AT_RECURSIVE, which the
// Plan cannot express yet; they are refused rather than passed to the
// filesystem as data, where they would fail or be ignored.
var recursiveAttrOptions = [...]string{
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnodiratime", "rdiratime", "rrelatime", "rnorelatime", "rnoatime",
	"ratime", "rstrictatime", "rnostrictatime", "rnosymfollow", "rsymfollow",
}

// Propagation returns the MS_* flags of a propagation name such as
// "rslave"; it serves both mount options and linux.rootfsPropagation.
func Propagation(name string) (uintptr, bool) {
	for _, p := range propagationOptions[:] {
		if p.name == name {
			return p.flag, true
		}
	}
	return 0, false
}

// MountOptions lists every mount option hull understands, for `hull
// features`.
func MountOptions() []string {
	out := make([]string, 0, len(mountFlagOptions)+len(propagationOptions)+2)
	for _, o := range mountFlagOptions[:] {
		out = append(out, o.name)
	}
	for _, o := range propagationOptions[:] {
		out = append(out, o.name)
	}
	return append(out, "defaults", "tmpcopyup")
}

// parseMountOptions fills the flag fields of m from options. field is the
// JSON path of the options array, for errors. The last of two opposite
// options wins, as with mount(8).
func parseMountOptions(field string, options []string, m *Mount) error {
	var data []string
next:
	for i, o := range options {
		if strings.IndexByte(o, 0) >= 0 {
			return fieldErr(idx(field, i), "must not contain a NUL byte")
		}
		switch o {
		case "", "defaults":
			continue
		case "tmpcopyup":
			m.CopyUp = true
			continue
		case "idmap", "ridmap":
			return fieldErr(idx(field, i), "%q (id-mapped mounts) is not supported yet by hull", o)
		}
		for _, f := range mountFlagOptions[:] {
			if f.name != o {
				continue
			}
			if f.clear {
				m.Flags &^= f.flag
				m.ClearFlags |= f.flag
			} else {
				m.Flags |= f.flag
				m.ClearFlags &^= f.flag
			}
			continue next
		}
		if flag, ok := Propagation(o); ok {
			m.Propagation = append(m.Propagation, flag)
			continue
		}
		for _, r := range recursiveAttrOptions[:] {
			if r == o {
				return fieldErr(idx(field, i), "%q (a recursive mount attribute) is not supported yet by hull: use %q, which applies to the top mount only", o, strings.TrimPrefix(o, "r"))
			}
		}
		data = append(data, o)
	}
	m.Data = strings.Join(data, ",")
	return nil
}

// needMountNS ends the errors of the fields that only make sense in a
// mount namespace of the container's own.
const needMountNS = `need a mount namespace, or they would be made in the host's: add {"type": "mount"} to linux.namespaces`

package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// nsTypes pairs each runtime-spec namespace type with its clone flag. An
// array of constants, not a map, so that nothing runs at program start.
var nsTypes = [...]struct {
	typ  specs.LinuxNamespaceType
	flag uintptr
}{
	{specs.PIDNamespace, unix.CLONE_NEWPID},
	{specs.NetworkNamespace, unix.CLONE_NEWNET},
	{specs.MountNamespace, unix.CLONE_NEWNS},
	{specs.IPCNamespace, unix.CLONE_NEWIPC},
	{specs.UTSNamespace, unix.CLONE_NEWUTS},
	{specs.UserNamespace, unix.CLONE_NEWUSER},
	{specs.CgroupNamespace, unix.CLONE_NEWCGROUP},
	{specs.TimeNamespace, unix.CLONE_NEWTIME},
}

// NamespaceFlag returns the CLONE_NEW* flag of a runtime-spec namespace type.
func NamespaceFlag(t specs.LinuxNamespaceType) (uintptr, bool) {
	for _, n := range nsTypes[:] {
		if n.typ == t {
			return n.flag, true
		}
	}
	return 0, false
}

func nsTypeOfFlag(flag uintptr) specs.LinuxNamespaceType {
	for _, n := range nsTypes[:] {
		if n.flag == flag {
			return n.typ
		}
	}
	return "unknown"
}

// maxIDMapLines is the kernel's limit on lines in uid_map/gid_map (since 4.15).
const maxIDMapLines = 340

func setNamespaces(s *specs.Spec, p *Plan) error {
	if s.Linux == nil {
		return nil
	}
	for i, ns := range s.Linux.Namespaces {
		field := idx("linux.namespaces", i)
		flag, ok := NamespaceFlag(ns.Type)
		if !ok {
			return fieldErr(field+".type", "unknown namespace %q: want one of pid, network, mount, ipc, uts, user, cgroup, time", ns.Type)
		}
		for j, prev := range p.Namespaces {
			if prev.Type == ns.Type {
				return fieldErr(field+".type", "duplicate namespace %q (already in linux.namespaces[%d]): list each type once", ns.Type, j)
			}
		}
		path := ns.Path
		if path != "" {
			if !filepath.IsAbs(path) {
				return fieldErr(field+".path", "%q must be an absolute path (e.g. /proc/<pid>/ns/%s), or empty for a new namespace", path, procNSName(ns.Type))
			}
			if err := checkNSPath(path, flag); err != nil {
				return fieldErr(field+".path", "%w", err)
			}
		}
		p.Namespaces = append(p.Namespaces, Namespace{Type: ns.Type, Flag: flag, Path: path})
	}
	if err := setIDMappings(s, p); err != nil {
		return err
	}
	return setTimeOffsets(s, p)
}

// procNSName is the name of a namespace type under /proc/<pid>/ns.
func procNSName(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}

// checkNSPath makes sure path is a namespace of the wanted kind now, at
// create, where the error can still name the field (the spec requires an
// error for a path of the wrong type).
func checkNSPath(path string, want uintptr) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		return fmt.Errorf("%w: the namespace to join must exist", &os.PathError{Op: "statfs", Path: path, Err: err})
	}
	// Checked before open so that a FIFO or a device at path is never opened.
	if fs.Type != unix.NSFS_MAGIC {
		return errors.New(path + " is not a namespace file (want e.g. /proc/<pid>/ns/" + procNSName(nsTypeOfFlag(want)) + ")")
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	got, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE)
	if err != nil {
		return &os.PathError{Op: "ioctl NS_GET_NSTYPE", Path: path, Err: err}
	}
	if uintptr(got) != want {
		return errors.New(path + ` is a namespace of type "` + string(nsTypeOfFlag(uintptr(got))) + `", not "` + string(nsTypeOfFlag(want)) + `"`)
	}
	return nil
}

func setIDMappings(s *specs.Spec, p *Plan) error {
	var userNS *Namespace
	for i := range p.Namespaces {
		if p.Namespaces[i].Type == specs.UserNamespace {
			userNS = &p.Namespaces[i]
		}
	}
	uid, gid := s.Linux.UIDMappings, s.Linux.GIDMappings
	switch {
	case userNS == nil:
		if len(uid) > 0 {
			return fieldErr("linux.uidMappings", `set, but there is no user namespace: add {"type": "user"} to linux.namespaces or remove the mappings`)
		}
		if len(gid) > 0 {
			return fieldErr("linux.gidMappings", `set, but there is no user namespace: add {"type": "user"} to linux.namespaces or remove the mappings`)
		}
		return nil
	case userNS.Path == "":
		if len(uid) == 0 {
			return fieldErr("linux.uidMappings", "must be set: a new user namespace (linux.namespaces has \"user\" without a path) needs uid mappings")
		}
		if len(gid) == 0 {
			return fieldErr("linux.gidMappings", "must be set: a new user namespace (linux.namespaces has \"user\" without a path) needs gid mappings")
		}
		// The init builds the container as the namespace's root.
		if !mapped(uid, 0) {
			return fieldErr("linux.uidMappings", "must map containerID 0: hull sets up the container as root of the new user namespace")
		}
		if !mapped(gid, 0) {
			return fieldErr("linux.gidMappings", "must map containerID 0: hull sets up the container as root of the new user namespace")
		}
	default:
		// containerd and CRI-O send the mappings of the namespace they
		// ask to join; they describe it, they are not written.
		if len(uid) > 0 || len(gid) > 0 {
			p.Warnings = append(p.Warnings, "linux.uidMappings/gidMappings: ignored for writing, since the user namespace is joined by path ("+userNS.Path+"); they are assumed to describe it")
		}
	}
	if err := checkIDMap("linux.uidMappings", uid); err != nil {
		return err
	}
	if err := checkIDMap("linux.gidMappings", gid); err != nil {
		return err
	}
	p.UIDMappings, p.GIDMappings = uid, gid
	return nil
}

func checkIDMap(field string, m []specs.LinuxIDMapping) error {
	if len(m) > maxIDMapLines {
		return fieldErr(field, "has %d entries; the kernel accepts at most %d", len(m), maxIDMapLines)
	}
	for i, e := range m {
		f := idx(field, i)
		if e.Size == 0 {
			return fieldErr(f+".size", "must be greater than 0")
		}
		if uint64(e.ContainerID)+uint64(e.Size) > 1<<32 {
			return fieldErr(f, "containerID %d + size %d goes past the largest id 4294967295", e.ContainerID, e.Size)
		}
		if uint64(e.HostID)+uint64(e.Size) > 1<<32 {
			return fieldErr(f, "hostID %d + size %d goes past the largest id 4294967295", e.HostID, e.Size)
		}
	}
	return nil
}

// mapped reports whether id is inside one of the container ranges of m.
func mapped(m []specs.LinuxIDMapping, id uint32) bool {
	for _, e := range m {
		if id >= e.ContainerID && uint64(id) < uint64(e.ContainerID)+uint64(e.Size) {
			return true
		}
	}
	return false
}

func setTimeOffsets(s *specs.Spec, p *Plan) error {
	if len(s.Linux.TimeOffsets) == 0 {
		return nil
	}
	var timeNS *Namespace
	for i := range p.Namespaces {
		if p.Namespaces[i].Type == specs.TimeNamespace {
			timeNS = &p.Namespaces[i]
		}
	}
	if timeNS == nil {
		return fieldErr("linux.timeOffsets", `set, but there is no time namespace: add {"type": "time"} to linux.namespaces`)
	}
	if timeNS.Path != "" {
		return fieldErr("linux.timeOffsets", "cannot be applied to the time namespace joined at %s: give either a path or offsets", timeNS.Path)
	}
	for k, v := range s.Linux.TimeOffsets {
		// Only these two clocks have offsets in /proc/<pid>/timens_offsets.
		if k != "monotonic" && k != "boottime" {
			return fieldErr("linux.timeOffsets."+k, "unknown clock %q: want \"monotonic\" or \"boottime\"", k)
		}
		if v.Nanosecs >= 1e9 {
			return fieldErr("linux.timeOffsets."+k+".nanosecs", "%d must be less than 1000000000", v.Nanosecs)
		}
	}
	p.TimeOffsets = s.Linux.TimeOffsets
	return nil
}

// hostnameMax is HOST_NAME_MAX, the kernel's limit for sethostname and
// setdomainname.
const hostnameMax = 64

func setUTS(s *specs.Spec, p *Plan) error {
	for _, f := range []struct{ field, value string }{{"hostname", s.Hostname}, {"domainname", s.Domainname}} {
		if f.value == "" {
			continue
		}
		if !p.HasNamespace(specs.UTSNamespace) {
			return fieldErr(f.field, `cannot be set without a private UTS namespace: add {"type": "uts"} to linux.namespaces`)
		}
		if len(f.value) > hostnameMax {
			return fieldErr(f.field, "is %d bytes long; the kernel accepts at most %d", len(f.value), hostnameMax)
		}
		if strings.IndexByte(f.value, 0) >= 0 {
			return fieldErr(f.field, "must not contain a NUL byte")
		}
	}
	return nil
}

// Package spec reads a bundle's config.json and validates it, once, into a
// Plan: the small set of decisions the parent and the container's init act on.
// Every error names the JSON field it is about.
package spec

import specs "github.com/opencontainers/runtime-spec/specs-go"

// Plan is what the init needs to build the container. It travels from the
// parent to the init as JSON, so the init never parses config.json again.
type Plan struct {
	OCIVersion  string            `json:"ociVersion"`
	Bundle      string            `json:"bundle"` // absolute
	Rootfs      string            `json:"rootfs"` // absolute, symlinks resolved
	Readonly    bool              `json:"readonly,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`

	Hostname   string `json:"hostname,omitempty"`
	Domainname string `json:"domainname,omitempty"`

	Namespaces  []Namespace            `json:"namespaces,omitempty"`
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	// TimeOffsets are written to /proc/<pid>/timens_offsets of a new time
	// namespace before its first process runs; keys are "monotonic" or
	// "boottime".
	TimeOffsets map[string]specs.LinuxTimeOffset `json:"timeOffsets,omitempty"`

	Mounts []Mount `json:"mounts,omitempty"`
	// RootPropagation is the MS_* propagation flag applied recursively to
	// "/" in the new mount namespace (default MS_SLAVE, as runc).
	RootPropagation uintptr  `json:"rootPropagation"`
	Devices         []Device `json:"devices,omitempty"`
	MaskedPaths     []string `json:"maskedPaths,omitempty"`
	ReadonlyPaths   []string `json:"readonlyPaths,omitempty"`
	// Sysctl keys are in the dotted form, a "/" standing for a "." inside
	// one component (eth0.100 is "net.ipv4.conf.eth0/100.rp_filter"): the
	// file under /proc/sys is the key with '.' and '/' swapped. Keys given
	// with '/' separators in config.json are converted to this form.
	Sysctl map[string]string `json:"sysctl,omitempty"`

	Process Process `json:"process"`

	Hooks       *specs.Hooks          `json:"hooks,omitempty"`
	CgroupsPath string                `json:"cgroupsPath,omitempty"`
	Resources   *specs.LinuxResources `json:"resources,omitempty"`

	// Warnings name fields accepted with a caveat (not enforced yet,
	// ignored, deprecated), one line each; the CLI logs them at warn
	// level. Not sent to the init.
	Warnings []string `json:"-"`
}

// Namespace is one entry of linux.namespaces: a new namespace when Path is
// empty, or the existing one at Path to join.
type Namespace struct {
	Type specs.LinuxNamespaceType `json:"type"`
	Flag uintptr                  `json:"flag"` // CLONE_NEW*
	Path string                   `json:"path,omitempty"`
}

// Mount is one entry of mounts[], with its options already turned into flags.
type Mount struct {
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"`    // absolute, clean, inside the container
	Type        string `json:"type,omitempty"` // "bind" for every bind mount
	// Flags are the MS_* flags of the mount itself (MS_BIND, MS_RDONLY, ...).
	Flags uintptr `json:"flags"`
	// ClearFlags are the MS_* flags an option explicitly turned off ("rw",
	// "suid", ...); for bind mounts they decide whether a remount is needed.
	ClearFlags uintptr `json:"clearFlags,omitempty"`
	// Propagation holds MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (maybe
	// with MS_REC), each applied by its own mount call after the mount.
	Propagation []uintptr `json:"propagation,omitempty"`
	// Data is the filesystem-specific options, comma-joined.
	Data string `json:"data,omitempty"`
	// CopyUp ("tmpcopyup", tmpfs only) asks for the rootfs's content at
	// Destination to be copied into the new tmpfs; podman uses it.
	CopyUp bool `json:"copyUp,omitempty"`
}

// Device is a device node to create in the container's /dev.
type Device struct {
	Path     string `json:"path"` // absolute inside the container
	Type     rune   `json:"type"` // 'c', 'b' or 'p'
	Major    int64  `json:"major"`
	Minor    int64  `json:"minor"`
	FileMode uint32 `json:"fileMode"` // permission bits
	UID      uint32 `json:"uid"`
	GID      uint32 `json:"gid"`
}

// Process is what the init execs, and how it is confined.
type Process struct {
	Args           []string     `json:"args"`
	Env            []string     `json:"env,omitempty"`
	Cwd            string       `json:"cwd"`
	UID            uint32       `json:"uid"`
	GID            uint32       `json:"gid"`
	AdditionalGids []uint32     `json:"additionalGids,omitempty"`
	Umask          *uint32      `json:"umask,omitempty"`
	Terminal       bool         `json:"terminal,omitempty"`
	ConsoleSize    *specs.Box   `json:"consoleSize,omitempty"`
	Caps           Capabilities `json:"caps"`
	Rlimits        []Rlimit     `json:"rlimits,omitempty"`
	NoNewPrivs     bool         `json:"noNewPrivileges,omitempty"`
	OOMScoreAdj    *int         `json:"oomScoreAdj,omitempty"`
}

// Capabilities are capability numbers (CAP_*), per set. A nil set is empty.
type Capabilities struct {
	Bounding    []uint `json:"bounding,omitempty"`
	Effective   []uint `json:"effective,omitempty"`
	Inheritable []uint `json:"inheritable,omitempty"`
	Permitted   []uint `json:"permitted,omitempty"`
	Ambient     []uint `json:"ambient,omitempty"`
}

// Rlimit is one process.rlimits entry with its RLIMIT_* number.
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// HasNamespace reports whether the plan has a namespace of type t, new or joined.
func (p *Plan) HasNamespace(t specs.LinuxNamespaceType) bool {
	for _, ns := range p.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

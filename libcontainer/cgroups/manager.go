package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Manager acts on one container's cgroup, on one layout. Every wait it does
// is bounded: a cgroup that will not freeze or empty is an error, not a hang.
type Manager interface {
	// Create makes the directories the Record names (it is saved first).
	Create() error
	// Set writes the resources; devices are the config's linux.devices,
	// which the device rules must allow. It returns what is accepted but
	// not enforced, for the caller to log.
	Set(r *specs.LinuxResources, devices []specs.LinuxDevice) (warnings []string, err error)
	// Join moves pid into the cgroup in every hierarchy, or into an
	// existing sub-cgroup of it: sub maps a controller (or "" for every
	// hierarchy) to a relative path (exec --cgroup).
	Join(pid int, sub map[string]string) error
	// CloneInto names the cgroup2 directory a new process can be cloned
	// into (CLONE_INTO_CGROUP), sparing Join; "" when Join is needed.
	CloneInto(sub map[string]string) (string, error)
	// Freeze and Thaw pause and resume every process, waiting (bounded)
	// until the kernel reports the new state.
	Freeze() error
	Thaw() error
	// Paused reports whether the cgroup is frozen.
	Paused() bool
	// Pids lists the processes in the cgroup.
	Pids() ([]int, error)
	// Signal sends sig to every process in the cgroup.
	Signal(sig unix.Signal) error
	// Stats reads the accounting files.
	Stats() (*Stats, error)
	// Destroy kills what is left, waits (bounded) for the cgroup to empty
	// and removes the directories hull created.
	Destroy() error
}

// Starter is a Manager whose cgroup comes into being with its first process
// in it, as systemd makes a transient scope around the pids it is given.
// For such a manager Create and Set only check and remember; Start, called
// with the container's init (which waits for its orders until then), makes
// the cgroup around it and writes the resources Set was given, returning
// Set's warnings.
type Starter interface {
	Manager
	Start(pid int) (warnings []string, err error)
}

// Package state owns a container's state directory, <root>/<id>: the record
// of what hull made, written atomically and locked against concurrent
// commands, and the container's status derived from the kernel.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/cgroups"
	"github.com/hull-oci/hull/libcontainer/fileutil"
	"github.com/hull-oci/hull/libcontainer/proc"
	"github.com/hull-oci/hull/libcontainer/spec"
)

// Status is the runtime-spec status of a container.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

var (
	ErrExist    = errors.New("container with this id already exists")
	ErrNotExist = errors.New("container does not exist")
)

const (
	stateFile    = "state.json"
	recoveryFile = "recovery.json"
	fifoFile     = "exec.fifo"
)

// recovery is the least `delete --force` needs to undo a container, kept
// apart from state.json so that a damaged state.json (runc leaves the init
// and the cgroups behind then) still leaves a way to clean up.
type recovery struct {
	Pid      int             `json:"pid"`
	PidStart uint64          `json:"pidStartTime"`
	Cgroup   *cgroups.Record `json:"cgroup,omitempty"`
}

// State is what hull records about a container. It is written before each
// side effect it describes, so that `delete --force` can always undo them.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	PidStart    uint64            `json:"pidStartTime"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Ready is set once the init finished setting up and waits for start.
	Ready bool         `json:"ready"`
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// Namespaces and Process are what exec needs to enter the container
	// with the same confinement. Process stays encoded (ExecProcess), as
	// only exec without --process reads it.
	Namespaces  []spec.Namespace       `json:"namespaces,omitempty"`
	UIDMappings []specs.LinuxIDMapping `json:"uidMappings,omitempty"`
	GIDMappings []specs.LinuxIDMapping `json:"gidMappings,omitempty"`
	Process     json.RawMessage        `json:"process"`
	// Resources and CgroupDevices are what the cgroup was last set to,
	// for update to start from (CgroupSettings). They stay encoded: only
	// update reads them, and decoding their many types would cost every
	// other command a third of a millisecond.
	Resources     json.RawMessage `json:"resources,omitempty"`
	CgroupDevices json.RawMessage `json:"cgroupDevices,omitempty"`
	// Cgroup is recorded before the directories are made.
	Cgroup *cgroups.Record `json:"cgroup,omitempty"`
}

// ExecProcess decodes Process.
func (s *State) ExecProcess() (spec.Process, error) {
	var pr spec.Process
	if err := json.Unmarshal(s.Process, &pr); err != nil {
		return pr, fmt.Errorf("state of %s: process: %w", s.ID, err)
	}
	return pr, nil
}

// CgroupSettings decodes Resources and CgroupDevices.
func (s *State) CgroupSettings() (*specs.LinuxResources, []specs.LinuxDevice, error) {
	var r *specs.LinuxResources
	var devs []specs.LinuxDevice
	if len(s.Resources) > 0 {
		if err := json.Unmarshal(s.Resources, &r); err != nil {
			return nil, nil, fmt.Errorf("state of %s: resources: %w", s.ID, err)
		}
	}
	if len(s.CgroupDevices) > 0 {
		if err := json.Unmarshal(s.CgroupDevices, &devs); err != nil {
			return nil, nil, fmt.Errorf("state of %s: cgroup devices: %w", s.ID, err)
		}
	}
	return r, devs, nil
}

// SetCgroupSettings records what the cgroup is set to.
func (s *State) SetCgroupSettings(r *specs.LinuxResources, devs []specs.LinuxDevice) error {
	var err error
	s.Resources, s.CgroupDevices = nil, nil
	if r != nil {
		if s.Resources, err = json.Marshal(r); err != nil {
			return err
		}
	}
	if len(devs) > 0 {
		s.CgroupDevices, err = json.Marshal(devs)
	}
	return err
}

// ValidateID rejects ids that could escape the state root or confuse tools.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id must not be empty")
	}
	if id == "." || id == ".." || strings.ContainsAny(id, "/\x00") || strings.HasPrefix(id, ".") {
		return fmt.Errorf("invalid container id %q: it must not contain '/' or start with '.'", id)
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container id: longer than 1024 bytes")
	}
	return nil
}

// Dir is an open, locked state directory.
type Dir struct {
	Path string
	ID   string
	lock *os.File
	// saved is the recovery.json last written through this Dir.
	saved []byte
}

// Create makes and locks the state directory of a new container.
func Create(root, id string) (*Dir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("state root %s: %w", root, err)
	}
	path := filepath.Join(root, id)
	if err := os.Mkdir(path, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id exists: %s", id)
		}
		return nil, fmt.Errorf("state dir: %w", err)
	}
	d, err := lock(path, id)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return d, nil
}

// Open locks the state directory of an existing container. Commands that
// change a container hold the lock for their whole run.
func Open(root, id string) (*Dir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	return lock(filepath.Join(root, id), id)
}

// Peek opens the state directory without locking, for read-only commands:
// state.json is only ever replaced atomically, so a reader needs no lock and
// never waits behind a slow create.
func Peek(root, id string) (*Dir, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	path := filepath.Join(root, id)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, notExist(id)
		}
		return nil, err
	}
	return &Dir{Path: path, ID: id}, nil
}

// notExistError names the id; errors.Is(err, ErrNotExist) holds.
type notExistError string

func (e notExistError) Error() string        { return fmt.Sprintf("container %q does not exist", string(e)) }
func (e notExistError) Is(target error) bool { return target == ErrNotExist }

func notExist(id string) error { return notExistError(id) }

func lock(path, id string) (*Dir, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, notExist(id)
		}
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// A delete may have removed the directory while we waited for the lock.
	if _, err := os.Stat(path); err != nil {
		f.Close()
		return nil, notExist(id)
	}
	return &Dir{Path: path, ID: id, lock: f}, nil
}

// Close releases the lock.
func (d *Dir) Close() {
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

// FifoPath is the exec fifo the init waits on until `start`.
func (d *Dir) FifoPath() string { return filepath.Join(d.Path, fifoFile) }

// Load reads state.json. A directory without one is a create that died
// before it recorded anything: its State has only the id.
func (d *Dir) Load() (*State, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return &State{ID: d.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: corrupt state: %w (delete --force removes it)", filepath.Join(d.Path, stateFile), err)
	}
	return &s, nil
}

// Save writes recovery.json when what it holds changed, then state.json,
// each atomically.
func (d *Dir) Save(s *State) error {
	rec, err := json.Marshal(recovery{Pid: s.Pid, PidStart: s.PidStart, Cgroup: s.Cgroup})
	if err != nil {
		return err
	}
	if string(rec) != string(d.saved) {
		if err := fileutil.WriteAtomic(filepath.Join(d.Path, recoveryFile), rec, 0o600); err != nil {
			return err
		}
		d.saved = rec
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return fileutil.WriteAtomic(filepath.Join(d.Path, stateFile), data, 0o600)
}

// LoadRecovery rebuilds from recovery.json the part of the state that
// delete needs: the init and the cgroup.
func (d *Dir) LoadRecovery() (*State, error) {
	data, err := os.ReadFile(filepath.Join(d.Path, recoveryFile))
	if errors.Is(err, os.ErrNotExist) {
		return &State{ID: d.ID}, nil
	}
	if err != nil {
		return nil, err
	}
	var r recovery
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: corrupt: %w", filepath.Join(d.Path, recoveryFile), err)
	}
	return &State{ID: d.ID, Pid: r.Pid, PidStart: r.PidStart, Cgroup: r.Cgroup}, nil
}

// Remove deletes the state directory and releases the lock.
func (d *Dir) Remove() error {
	err := os.RemoveAll(d.Path)
	d.Close()
	return err
}

// Status derives the status from the kernel now: the init must be alive with
// the recorded start time, else the container is stopped, whatever was
// recorded.
func (d *Dir) Status(s *State) Status {
	if !proc.Alive(s.Pid, s.PidStart) {
		return Stopped
	}
	if !s.Ready {
		return Creating
	}
	if _, err := os.Lstat(d.FifoPath()); err == nil {
		return Created
	}
	return Running
}

// List returns the ids under root, sorted.
func List(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && ValidateID(e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Package syncpipe is the protocol between the parent (hull create/exec) and
// the init it spawns, over a SOCK_STREAM socketpair, one JSON object a line:
//
//	parent -> init   {"type":"plan", "plan":{...}, "init":{...}}
//	                 everything the init does: it never reads config.json.
//	                 An init that is all C (exec's, and create's when the
//	                 parent builds the filesystem) gets instead a uint32
//	                 length and libcontainer/cinit's encoded plan.
//	parent -> init   {"type":"placed"}
//	                 the init is in its cgroup and may go on
//	init -> parent   {"type":"hooks"}
//	                 mounts done, root not yet switched: the parent runs the
//	                 prestart and createRuntime hooks, then answers
//	parent -> init   {"type":"resume"}
//	init -> parent   {"type":"ready"}
//	                 the container is built; the init now waits on the exec
//	                 fifo for `start` (or, for exec, runs the process)
//	init -> parent   {"type":"error", "msg":"..."}
//	                 setup failed; the init exits and the parent undoes
//	                 everything. The C code (libcontainer/cinit) sends this
//	                 form too.
//
// EOF before "ready" means the init died; the parent reports its exit status.
package syncpipe

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hull-oci/hull/libcontainer/spec"
	"github.com/hull-oci/hull/libcontainer/trace"
)

// Message types.
const (
	TypePlan = "plan"
	// TypePlaced follows the plan once the parent has put the init in its
	// cgroup: the init decodes the plan meanwhile, and waits for this
	// before doing anything that counts against the cgroup.
	TypePlaced = "placed"
	TypeHooks  = "hooks"
	TypeResume = "resume"
	TypeReady  = "ready"
	TypeError  = "error"
)

// InitConfig is what the init needs besides the plan: how the parent set it up.
type InitConfig struct {
	// ID and Pid (the init's, as the host sees it) are for the state the
	// hooks the init runs get.
	ID      string `json:"id"`
	Pid     int    `json:"pid"`
	NoPivot bool   `json:"noPivot,omitempty"`
	// PreserveFDs: fds 3..3+PreserveFDs-1 stay open in the payload.
	PreserveFDs int `json:"preserveFds,omitempty"`
	// FifoFD is the exec fifo (read until `start` writes); -1 for exec.
	FifoFD int `json:"fifoFd"`
	// ConsoleFD is the connected --console-socket when process.terminal; else -1.
	ConsoleFD int `json:"consoleFd"`
	// Keyring names the new session keyring; empty with --no-new-keyring.
	Keyring string `json:"keyring,omitempty"`
	// UnshareCgroupNS: make the new cgroup namespace now, from inside the
	// container's cgroup, rather than at clone time.
	UnshareCgroupNS bool `json:"unshareCgroupns,omitempty"`
	// UserNS: the container has a user namespace (devices are bind-mounted).
	UserNS bool `json:"userns,omitempty"`
}

// Msg is one message of the protocol.
type Msg struct {
	Type string `json:"type"`
	Msg  string `json:"msg,omitempty"`
	// Marks (with "ready") are when the init's phases ended, for --debug.
	Marks []trace.Mark `json:"marks,omitempty"`
	Plan  *spec.Plan   `json:"plan,omitempty"`
	Init  *InitConfig  `json:"init,omitempty"`
}

// Conn is one end of the socketpair.
type Conn struct {
	f   *os.File
	dec *json.Decoder
}

// New wraps an end of the socketpair.
func New(f *os.File) *Conn { return &Conn{f: f, dec: json.NewDecoder(f)} }

// File is the underlying socket.
func (c *Conn) File() *os.File { return c.f }

// Send writes one message.
func (c *Conn) Send(m *Msg) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = c.f.Write(append(data, '\n'))
	return err
}

// ErrClosed means the other end went away before sending anything.
var ErrClosed = errors.New("the other end closed the sync socket")

// Recv reads one message.
func (c *Conn) Recv() (*Msg, error) {
	var m Msg
	if err := c.dec.Decode(&m); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("sync socket: %w", err)
	}
	return &m, nil
}

// Close closes the socket.
func (c *Conn) Close() error { return c.f.Close() }

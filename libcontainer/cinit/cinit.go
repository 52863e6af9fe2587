// Package cinit is the part of the init written in C. A constructor
// (nsenter.c) runs in every re-executed hull before the Go runtime starts:
// it makes the init non-dumpable, joins the existing namespaces the parent
// named in _HULL_SETNS (the kernel lets only a single-threaded process
// join a mount, user or time namespace), and, for exec (_HULL_CINIT), is
// the whole init: it confines the process and execs the payload, so an
// exec never starts a second Go runtime. The same confinement code
// (confine.c) ends the Go init of create, called through this package.
//
// The parent hands the process over as a plan of records (Encode): a tag
// byte, a little-endian uint32 length, the payload. Strings carry their
// NUL. Tags: 'a' an argument, 'e' an environment entry, 'd' the cwd,
// 'r' an rlimit (int32 type, uint64 soft, uint64 hard), 'c' the bounding,
// effective, permitted, inheritable and ambient capability masks (uint64
// each), 'u' the uid, gid and additional gids (uint32 each), 'n'
// no_new_privs, 'm' the umask, 't' the terminal (console socket fd, rows,
// columns), 'f' the first fd that is not passed on.
package cinit

// #cgo CFLAGS: -Wall -O2
// #include <stdlib.h>
// #include "cinit.h"
import "C"

import (
	"encoding/binary"
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// Env is the environment variable the constructor reads: a comma-separated
// list of "fd:type" pairs, type being a runtime-spec namespace type.
const Env = "_HULL_SETNS"

// ModeEnv makes the constructor the whole init: it reads the plan (a
// uint32 length, then Encode's or EncodeBuild's bytes) from the sync
// socket, waits for the parent's "placed" message, and for ModeExec
// confines the process, reports ready and execs; for ModeCreate it first
// serves the parent's building thread and switches into the rootfs
// (create.c), then waits for start.
const (
	ModeEnv    = "_HULL_CINIT"
	ModeExec   = "exec"
	ModeCreate = "create"
)

// Build is what the init of a container whose filesystem the parent builds
// needs besides its process. The fds are the init's.
type Build struct {
	FdSock, Root, Fifo int
	Rootfs             string
	UnshareCgroupNS    bool
	Keyring            string // "": keep the session keyring
	AfterPropagation   uintptr
	AfterName          string
	// Terminal: the pty peer comes from the building thread over FdSock.
	Terminal bool
}

// EncodeBuild is Encode for a container the parent builds.
func EncodeBuild(pr *spec.Process, b *Build, closeFrom int) []byte {
	r := records(Encode(pr, -1, closeFrom))
	r.add('B', nil)
	r.u32('S', uint32(int32(b.FdSock)))
	r.u32('R', uint32(int32(b.Root)))
	r.u32('x', uint32(int32(b.Fifo)))
	r.str('o', b.Rootfs)
	if b.UnshareCgroupNS {
		r.add('C', nil)
	}
	if b.Keyring != "" {
		r.str('K', b.Keyring)
	}
	if b.AfterPropagation != 0 {
		r.add('A', binary.LittleEndian.AppendUint64(nil, uint64(b.AfterPropagation)))
		r.str('W', b.AfterName)
	}
	if b.Terminal {
		r.add('T', nil)
	}
	return r
}

// records is a plan being encoded.
type records []byte

func (r *records) add(tag byte, payload []byte) {
	*r = append(*r, tag)
	*r = binary.LittleEndian.AppendUint32(*r, uint32(len(payload)))
	*r = append(*r, payload...)
}

func (r *records) str(tag byte, s string) { r.add(tag, append([]byte(s), 0)) }

func (r *records) u32(tag byte, v uint32) { r.add(tag, binary.LittleEndian.AppendUint32(nil, v)) }

// Encode turns pr into the plan the C code reads. consoleFD is the
// connected --console-socket in the init (with pr.Terminal), closeFrom the
// first fd the payload does not get.
func Encode(pr *spec.Process, consoleFD, closeFrom int) []byte {
	var r records
	for _, a := range pr.Args {
		r.str('a', a)
	}
	for _, e := range pr.Env {
		r.str('e', e)
	}
	r.str('d', pr.Cwd)
	for _, rl := range pr.Rlimits {
		p := binary.LittleEndian.AppendUint32(nil, uint32(rl.Type))
		p = binary.LittleEndian.AppendUint64(p, rl.Soft)
		r.add('r', binary.LittleEndian.AppendUint64(p, rl.Hard))
	}
	var caps []byte
	for _, set := range [][]uint{pr.Caps.Bounding, pr.Caps.Effective, pr.Caps.Permitted, pr.Caps.Inheritable, pr.Caps.Ambient} {
		caps = binary.LittleEndian.AppendUint64(caps, capMask(set))
	}
	r.add('c', caps)
	user := binary.LittleEndian.AppendUint32(nil, pr.UID)
	user = binary.LittleEndian.AppendUint32(user, pr.GID)
	for _, g := range pr.AdditionalGids {
		user = binary.LittleEndian.AppendUint32(user, g)
	}
	r.add('u', user)
	if pr.NoNewPrivs {
		r.add('n', nil)
	}
	if pr.Umask != nil {
		r.u32('m', *pr.Umask)
	}
	if pr.Terminal {
		t := binary.LittleEndian.AppendUint32(nil, uint32(int32(consoleFD)))
		var rows, cols uint32
		if sz := pr.ConsoleSize; sz != nil {
			rows, cols = uint32(sz.Height), uint32(sz.Width)
		}
		t = binary.LittleEndian.AppendUint32(t, rows)
		r.add('t', binary.LittleEndian.AppendUint32(t, cols))
	}
	r.u32('f', uint32(closeFrom))
	return r
}

// capMask turns capability numbers into a bit mask; the spec package only
// knows capabilities below 64.
func capMask(list []uint) uint64 {
	var m uint64
	for _, c := range list {
		m |= 1 << c
	}
	return m
}

// Plan is a decoded plan, for the Go init of create. Its methods run on
// the calling thread: the caller has locked it, and execs from it.
type Plan struct {
	p *C.struct_hull_plan
}

func cerr(buf *C.char) error { return errors.New(C.GoString(buf)) }

// Decode hands Encode's bytes to the C side.
func Decode(b []byte) (*Plan, error) {
	var errbuf [C.HULL_ERRLEN]C.char
	cb := C.CBytes(b)
	defer C.free(cb)
	p := C.hull_plan_parse((*C.char)(cb), C.size_t(len(b)), &errbuf[0])
	if p == nil {
		return nil, cerr(&errbuf[0])
	}
	return &Plan{p: p}, nil
}

// Terminal makes the pty, sends its master over the console socket and
// returns the peer, which MountConsole and Controlling then use.
func (p *Plan) Terminal() (*os.File, error) {
	var errbuf [C.HULL_ERRLEN]C.char
	var peer C.int
	if C.hull_terminal(p.p, &peer, &errbuf[0]) < 0 {
		return nil, cerr(&errbuf[0])
	}
	return os.NewFile(uintptr(peer), "pty-peer"), nil
}

// Controlling makes peer the process's controlling terminal and stdio, in
// a new session.
func Controlling(peer *os.File) error {
	var errbuf [C.HULL_ERRLEN]C.char
	if C.hull_controlling(C.int(peer.Fd()), &errbuf[0]) < 0 {
		return cerr(&errbuf[0])
	}
	return nil
}

// Confine applies process.* but the terminal: rlimits, capabilities, the
// user, no_new_privs, umask, cwd.
func (p *Plan) Confine() error {
	var errbuf [C.HULL_ERRLEN]C.char
	if C.hull_confine(p.p, &errbuf[0]) < 0 {
		return cerr(&errbuf[0])
	}
	return nil
}

// LookPath finds process.args[0] in the container, as execvp would.
func (p *Plan) LookPath() (string, error) {
	var errbuf [C.HULL_ERRLEN]C.char
	var path *C.char
	if C.hull_lookpath(p.p, &path, &errbuf[0]) < 0 {
		return "", cerr(&errbuf[0])
	}
	return C.GoString(path), nil
}

// Exec execs the payload at path (LookPath's) with process.args and
// process.env. It returns only on failure. It is C's execve rather than
// Go's: Go's would put back the open-files limit the runtime found at
// start over the one Confine set.
func (p *Plan) Exec(path string) error {
	var errbuf [C.HULL_ERRLEN]C.char
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.hull_execve(p.p, cpath, &errbuf[0])
	return cerr(&errbuf[0])
}

// Pty turns the pty master ptmx (opened in the container's devpts) into a
// terminal: unlocked, sized (rows and cols both 0: left alone), sent over
// console; it returns the peer.
func Pty(ptmx, console *os.File, rows, cols uint32) (*os.File, error) {
	var errbuf [C.HULL_ERRLEN]C.char
	m, err := unix.FcntlInt(ptmx.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var peer C.int
	if C.hull_pty(C.int(m), C.uint32_t(rows), C.uint32_t(cols), C.int(console.Fd()), &peer, &errbuf[0]) < 0 {
		return nil, cerr(&errbuf[0])
	}
	return os.NewFile(uintptr(peer), "pty-peer"), nil
}

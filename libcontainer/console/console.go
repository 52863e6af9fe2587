// Package console makes the pty of a container with process.terminal and
// hands its master to the engine over the --console-socket.
package console

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Open allocates a pty from /dev/ptmx (in the init this is the container's
// own devpts instance). The peer is opened with TIOCGPTPEER, from the master
// fd, so no path in the container's /dev can redirect it (CVE-2025-52565).
func Open() (master, peer *os.File, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER's argument is the open flags of the new peer fd.
	pfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("open pty peer: %w", errno)
	}
	return master, os.NewFile(uintptr(pfd), "pty-peer"), nil
}

// SetSize applies process.consoleSize.
func SetSize(f *os.File, height, width uint) error {
	ws := &unix.Winsize{Row: uint16(height), Col: uint16(width)}
	return unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, ws)
}

// MakeControlling makes peer the calling process's controlling terminal and
// stdio, in a new session.
func MakeControlling(peer *os.File) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(peer.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty the controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(int(peer.Fd()), fd, 0); err != nil {
			return fmt.Errorf("pty as stdio: %w", err)
		}
	}
	return nil
}

// SendFd sends f over the unix socket sock with SCM_RIGHTS, with name as
// the message body (runc sends the pty's name; engines ignore it).
func SendFd(sock *os.File, name string, f *os.File) error {
	rights := unix.UnixRights(int(f.Fd()))
	if err := unix.Sendmsg(int(sock.Fd()), []byte(name), rights, nil, 0); err != nil {
		return fmt.Errorf("send the pty master over the console socket: %w", err)
	}
	return nil
}

// RecvFd receives one fd sent by SendFd.
func RecvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive the pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive the pty master: no fd in the message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive the pty master: no fd in the message")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

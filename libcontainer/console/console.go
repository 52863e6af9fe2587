// Package console is the engine's side of --console-socket: receiving the
// pty master the init sends (the init's side is in libcontainer/cinit).
package console

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// RecvFd receives the one fd sent with SCM_RIGHTS over sock.
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

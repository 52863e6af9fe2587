package tests

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// consoleSocket listens on a unix socket for the runtime's pty master
// (design §2: sent with SCM_RIGHTS over --console-socket). The master
// arrives on the returned channel; a failure is reported on the test.
func consoleSocket(t *testing.T) (path string, master <-chan *os.File) {
	t.Helper()
	path = filepath.Join(tempDir(t), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan *os.File, 1)
	go func() {
		defer close(ch)
		conn, err := l.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("console socket: accept: %v", err)
			}
			return
		}
		defer conn.Close()
		f, err := receiveFd(conn)
		if err != nil {
			t.Errorf("console socket: %v", err)
			return
		}
		ch <- f
	}()
	return path, ch
}

// receiveFd reads one message carrying exactly one fd.
func receiveFd(conn *net.UnixConn) (*os.File, error) {
	buf := make([]byte, 4096) // runc sends the pty's name alongside
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, errors.New("want one control message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("want exactly one fd")
	}
	// Non-blocking, so os.File uses the poller and Close interrupts a
	// pending Read instead of waiting for it.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// receiveMaster waits for the pty master from consoleSocket, checks that it
// is a terminal, and closes it at the end of the test.
func receiveMaster(t *testing.T, masterCh <-chan *os.File) *os.File {
	t.Helper()
	var master *os.File
	select {
	case master = <-masterCh:
	case <-time.After(runtimeTimeout):
		t.Fatal("no pty master on the console socket")
	}
	if master == nil {
		t.Fatal("console socket: no fd received")
	}
	t.Cleanup(func() { master.Close() })
	if _, err := unix.IoctlGetTermios(int(master.Fd()), unix.TCGETS); err != nil {
		t.Errorf("the received fd is not a terminal: %v", err)
	}
	return master
}

// ptyOutput reads the master until the last slave closes (EIO), i.e. the
// processes on the pty are done, and then sends everything read.
func ptyOutput(master *os.File) <-chan string {
	output := make(chan string, 1)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				output <- sb.String()
				return
			}
		}
	}()
	return output
}

// With process.terminal the container's stdio is a tty whose master is
// handed over the console socket; what the container prints arrives there.
func TestConsoleSocket(t *testing.T) {
	sock, masterCh := consoleSocket(t)
	b := newBundle(t, "sh", "-c", "test -t 0 && test -t 1 && test -t 2 && echo tty-ok")
	b.spec.Process.Terminal = true
	b.create("--console-socket", sock)

	master := receiveMaster(t, masterCh)
	output := ptyOutput(master)
	pid := mustState(t, b.id).Pid
	mustRun(t, "start", b.id)
	select {
	case out := <-output:
		if !strings.Contains(out, "tty-ok") {
			t.Errorf("pty output %q, want tty-ok (stdio are ttys)", out)
		}
	case <-time.After(runtimeTimeout):
		t.Fatal("the container's output never ended on the pty")
	}
	waitStopped(t, b.id, pid)
	mustRun(t, "delete", b.id)
}

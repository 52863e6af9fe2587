package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer/console"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container, wait for it and return its exit status",
	ArgsUsage: "<container-id>",
	Flags: append([]cli.Flag{
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
	}, createFlags...),
	Action: func(_ context.Context, cmd *cli.Command) error {
		// Signals are caught from before the init exists so that none
		// is lost: each is forwarded to the init once it runs.
		sigs, caught := catchSignals(cmd.Bool("detach"))
		p, err := loadPlan(cmd)
		if err != nil {
			return err
		}
		var proxy *consoleProxy
		if p.Process.Terminal && !cmd.Bool("detach") && cmd.String("console-socket") == "" {
			if proxy, err = startConsoleProxy(cmd); err != nil {
				return err
			}
		}
		c, err := createContainer(cmd, p, caught)
		if proxy != nil {
			proxy.stopListening()
		}
		if err != nil {
			return err
		}
		defer c.Close()
		c.Warn = log.Warn
		if err := c.Start(); err != nil {
			c.Delete(true)
			return err
		}
		startTrace.Mark("started")
		if cmd.Bool("detach") {
			traceDone()
			return nil
		}
		done := make(chan struct{})
		go forwardSignals(sigs, c.InitPid(), done)
		code, err := c.Wait()
		close(done)
		if proxy != nil {
			proxy.drain()
		}
		if err != nil {
			return err
		}
		startTrace.Mark("exited")
		if !cmd.Bool("keep") {
			if err := c.Delete(true); err != nil {
				return err
			}
			startTrace.Mark("deleted")
		}
		traceDone()
		if code != 0 {
			return exitStatus(code)
		}
		return nil
	},
}

// catchSignals starts catching every signal (none when detached) for
// forwardSignals. Catching one costs a round trip to the Go runtime's
// signal thread, over a millisecond for all 65 here: it runs while the
// caller reads its config or state, and caught is closed once it is done.
// The caller waits for it before making anything it would have to clean
// up (run: the state directory) or letting a process run (exec: the
// process, cloned meanwhile, waits for the parent and exits if the parent
// died), so that no signal can kill hull half-way or be lost once the
// process runs.
func catchSignals(detach bool) (sigs chan os.Signal, caught chan struct{}) {
	sigs = make(chan os.Signal, 32)
	caught = make(chan struct{})
	if detach {
		close(caught)
		return sigs, caught
	}
	go func() {
		signal.Notify(sigs)
		close(caught)
	}()
	return sigs, caught
}

func forwardSignals(sigs chan os.Signal, pid int, done chan struct{}) {
	for {
		select {
		case s := <-sigs:
			sig := s.(unix.Signal)
			// SIGCHLD and SIGWINCH concern us, not the container (the pty
			// size is the engine's business).
			if sig == unix.SIGCHLD || sig == unix.SIGWINCH || sig == unix.SIGURG {
				continue
			}
			unix.Kill(pid, sig)
		case <-done:
			return
		}
	}
}

// consoleProxy serves `run` of a terminal container in the foreground with no
// --console-socket: hull itself takes the pty master and copies between it
// and its own stdio, as runc does.
type consoleProxy struct {
	dir    string
	ln     *os.File
	copied chan struct{}
}

func startConsoleProxy(cmd *cli.Command) (*consoleProxy, error) {
	dir, err := os.MkdirTemp("", "hull-console-")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	}
	if err == nil {
		err = unix.Listen(fd, 1)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Set("console-socket", path)
	p := &consoleProxy{dir: dir, ln: os.NewFile(uintptr(fd), path), copied: make(chan struct{})}
	go p.serve()
	return p, nil
}

func (p *consoleProxy) serve() {
	defer close(p.copied)
	nfd, _, err := unix.Accept4(int(p.ln.Fd()), unix.SOCK_CLOEXEC)
	if err != nil {
		return
	}
	conn := os.NewFile(uintptr(nfd), "console-conn")
	master, err := console.RecvFd(conn)
	conn.Close()
	if err != nil {
		return
	}
	if st, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		raw := *st
		raw.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Iflag &^= unix.IXON | unix.ICRNL
		raw.Oflag &^= unix.OPOST
		unix.IoctlSetTermios(0, unix.TCSETS, &raw)
		defer unix.IoctlSetTermios(0, unix.TCSETS, st)
	}
	go io.Copy(master, os.Stdin)
	io.Copy(os.Stdout, master)
}

func (p *consoleProxy) stopListening() {
	p.ln.Close()
	os.RemoveAll(p.dir)
}

// drain waits until the output the container wrote before exiting is
// copied: reads of the master end with EIO once no process holds the peer.
func (p *consoleProxy) drain() { <-p.copied }

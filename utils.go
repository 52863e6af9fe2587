package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"

	"github.com/hull-oci/hull/libcontainer"
	"github.com/hull-oci/hull/libcontainer/trace"
)

// logger writes the lines engines read: containerd takes the last JSON line
// with level "error" from --log as the reason a call failed.
type logger struct {
	out   io.Writer
	json  bool
	debug bool
}

var log = &logger{out: os.Stderr}

func setupLog(ctx context.Context, cmd *cli.Command) (context.Context, error) {
	switch f := cmd.String("log-format"); f {
	case "text":
	case "json":
		log.json = true
	default:
		return ctx, fmt.Errorf("--log-format %q: must be text or json", f)
	}
	log.debug = cmd.Bool("debug")
	if log.debug {
		startTrace = trace.New()
	}
	if path := cmd.String("log"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_SYNC, 0o644)
		if err != nil {
			return ctx, fmt.Errorf("--log %s: %w", path, err)
		}
		log.out = f
	}
	return ctx, nil
}

func (l *logger) line(level, msg string) {
	if l.json {
		data, _ := json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, time.Now().Format(time.RFC3339)})
		fmt.Fprintf(l.out, "%s\n", data)
		return
	}
	fmt.Fprintf(l.out, "hull: %s: %s\n", level, msg)
}

func (l *logger) Warn(msg string) { l.line("warning", msg) }

func (l *logger) Debugf(format string, args ...any) {
	if l.debug {
		l.line("debug", fmt.Sprintf(format, args...))
	}
}

// startTrace collects the phases of create, run and exec with --debug;
// nil (no recording) without.
var startTrace *trace.Trace

// traceDone logs where a container start (or an exec) spent its time.
func traceDone() {
	if startTrace != nil {
		log.Debugf("start phases: %s", startTrace)
	}
}

// exitStatus carries a container's exit status out of run/exec.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// fatal reports err as one line, on stderr and, with --log, in the log
// (JSON for containerd), and exits 1.
func fatal(err error) {
	var es exitStatus
	if errors.As(err, &es) {
		os.Exit(int(es))
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	if log.out != os.Stderr {
		log.line("error", msg)
	}
	fmt.Fprintln(os.Stderr, "hull: "+msg)
	os.Exit(1)
}

// containerID is the single ID argument every verb but list/spec takes.
func containerID(cmd *cli.Command) (string, error) {
	switch cmd.Args().Len() {
	case 1:
		return cmd.Args().First(), nil
	case 0:
		return "", fmt.Errorf("%s: missing the container id (usage: hull %s %s)", cmd.Name, cmd.Name, cmd.ArgsUsage)
	}
	return "", fmt.Errorf("%s: expected one container id, got %d arguments (usage: hull %s %s)", cmd.Name, cmd.Args().Len(), cmd.Name, cmd.ArgsUsage)
}

// loadContainer opens the container named by the single argument, locked
// when the verb changes it.
func loadContainer(cmd *cli.Command, lock bool) (*libcontainer.Container, error) {
	id, err := containerID(cmd)
	if err != nil {
		return nil, err
	}
	return loadContainerID(cmd, id, lock)
}

// parseSignal takes "TERM", "SIGTERM", "term" or "15".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

func loadContainerID(cmd *cli.Command, id string, lock bool) (*libcontainer.Container, error) {
	return libcontainer.Load(cmd.Root().String("root"), id, lock)
}

// preserveFDs counts the fds from 3 up the container inherits: those of
// socket activation (LISTEN_FDS) plus --preserve-fds, as runc does.
func preserveFDs(cmd *cli.Command) int {
	n := int(cmd.Int("preserve-fds"))
	if l, err := strconv.Atoi(os.Getenv("LISTEN_FDS")); err == nil && l > 0 {
		n += l
	}
	return n
}

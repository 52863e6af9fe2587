package main

import (
	"context"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer"
	"github.com/hull-oci/hull/libcontainer/spec"
)

var createFlags = []cli.Flag{
	&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "path to the bundle (the directory holding config.json)"},
	&cli.StringFlag{Name: "pid-file", Usage: "write the init's pid to this file (bare digits, no newline)"},
	&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to when process.terminal is true"},
	&cli.BoolFlag{Name: "no-pivot", Usage: "use MS_MOVE + chroot instead of pivot_root (for ramfs roots)"},
	&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring instead of a new one"},
	&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds, from 3 up, to the container"},
}

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container, its init waiting for start",
	ArgsUsage: "<container-id>",
	Flags:     createFlags,
	Action: func(_ context.Context, cmd *cli.Command) error {
		p, err := loadPlan(cmd)
		if err != nil {
			return err
		}
		c, err := createContainer(cmd, p, nil)
		if err != nil {
			return err
		}
		c.Close()
		traceDone()
		return nil
	},
}

// loadPlan reads and validates the bundle named by --bundle.
func loadPlan(cmd *cli.Command) (*spec.Plan, error) {
	if _, err := containerID(cmd); err != nil {
		return nil, err
	}
	p, err := spec.Load(cmd.String("bundle"))
	if err != nil {
		return nil, err
	}
	startTrace.Mark("config loaded")
	for _, w := range p.Warnings {
		log.Warn(w)
	}
	return p, nil
}

// createContainer is create's work, shared with run; nothing is made
// before gate (if any) is closed.
func createContainer(cmd *cli.Command, p *spec.Plan, gate <-chan struct{}) (*libcontainer.Container, error) {
	id, err := containerID(cmd)
	if err != nil {
		return nil, err
	}
	return libcontainer.Create(p, libcontainer.CreateOpts{
		Warn:          log.Warn,
		Trace:         startTrace,
		Root:          cmd.Root().String("root"),
		ID:            id,
		PidFile:       cmd.String("pid-file"),
		ConsoleSocket: cmd.String("console-socket"),
		NoPivot:       cmd.Bool("no-pivot"),
		NoNewKeyring:  cmd.Bool("no-new-keyring"),
		PreserveFDs:   preserveFDs(cmd),
		SystemdCgroup: cmd.Root().Bool("systemd-cgroup"),
		Gate:          gate,
	})
}

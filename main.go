// hull is an OCI low-level container runtime, a drop-in for runc.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	_ "github.com/hull-oci/hull/libcontainer/cinit"
	"github.com/hull-oci/hull/libcontainer/initproc"
)

// Set at build time with -ldflags "-X main.version=... -X main.gitCommit=...".
var (
	version   = "0.1.0-dev"
	gitCommit = ""
)

func versionText() string {
	commit := gitCommit
	if commit == "" {
		commit = "unknown"
	}
	return strings.Join([]string{
		version,
		"commit: " + commit,
		"spec: " + specs.Version,
		"go: " + runtime.Version(),
	}, "\n")
}

func main() {
	// The re-executed init must not pay for the CLI: it takes its orders
	// from the sync socket.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		initproc.Main()
	}
	app := &cli.Command{
		Name:    "hull",
		Usage:   "an OCI container runtime (a drop-in for runc)",
		Version: versionText(),
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Value: "/run/hull", Usage: "directory for the containers' state"},
			&cli.StringFlag{Name: "log", Usage: "write log lines to this file instead of stderr"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.BoolFlag{Name: "debug", Usage: "log debug lines"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "create the container's cgroup as a systemd scope (linux.cgroupsPath \"slice:prefix:name\"); later commands follow the container's record"},
			&cli.StringFlag{Name: "criu", Usage: "accepted for runc compatibility (checkpoint/restore is not implemented)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "accepted for runc compatibility: auto, true or false"},
		},
		Before: setupLog,
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return fmt.Errorf("unknown command %q (see 'hull --help')", cmd.Args().First())
			}
			return cli.ShowRootCommandHelp(cmd)
		},
		OnUsageError:    usageError,
		HideHelpCommand: true,
		Commands: []*cli.Command{
			createCommand, startCommand, runCommand, stateCommand, killCommand,
			deleteCommand, execCommand, pauseCommand, resumeCommand, psCommand, eventsCommand, updateCommand, specCommand, listCommand,
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	cli.OsExiter = func(code int) {}
	if err := app.Run(context.Background(), os.Args); err != nil {
		fatal(err)
	}
}

func usageError(_ context.Context, cmd *cli.Command, err error, _ bool) error {
	if cmd.Root() == cmd {
		return fmt.Errorf("%w (see 'hull --help')", err)
	}
	return fmt.Errorf("%s: %w (see 'hull %s --help')", cmd.Name, err, cmd.Name)
}

package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v3"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal (default SIGTERM) to a container's init",
	ArgsUsage: "<container-id> [signal]",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "send the signal to every process of the container"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		args := cmd.Args()
		if args.Len() < 1 || args.Len() > 2 {
			return fmt.Errorf("kill: expected a container id and an optional signal (usage: hull kill %s)", cmd.ArgsUsage)
		}
		sig := unix.SIGTERM
		if args.Len() == 2 {
			var err error
			if sig, err = parseSignal(args.Get(1)); err != nil {
				return fmt.Errorf("kill: %w", err)
			}
		}
		c, err := loadContainerID(cmd, args.First(), true)
		if err != nil {
			return err
		}
		defer c.Close()
		return c.Signal(sig, cmd.Bool("all"))
	},
}

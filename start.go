package main

import (
	"context"

	"github.com/urfave/cli/v3"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start the process of a created container",
	ArgsUsage: "<container-id>",
	Action: func(_ context.Context, cmd *cli.Command) error {
		c, err := loadContainer(cmd, true)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Warn = log.Warn
		return c.Start()
	},
}

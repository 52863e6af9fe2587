package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer/state"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a stopped or created container and everything it owns",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container first if it is running"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		c, err := loadContainer(cmd, true)
		if err != nil {
			// As runc: deleting what is already gone is not an error with
			// --force, so cleanup paths can call it blindly.
			if cmd.Bool("force") && errors.Is(err, state.ErrNotExist) {
				return nil
			}
			return err
		}
		c.Warn = log.Warn
		return c.Delete(cmd.Bool("force"))
	},
}

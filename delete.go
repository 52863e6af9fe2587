package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer"
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
		id, err := containerID(cmd)
		if err != nil {
			return err
		}
		var c *libcontainer.Container
		if cmd.Bool("force") {
			c, err = libcontainer.LoadForDelete(cmd.Root().String("root"), id)
		} else {
			c, err = loadContainerID(cmd, id, true)
		}
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

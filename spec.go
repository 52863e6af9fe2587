package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer/spec"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json into the bundle",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Value: ".", Usage: "directory to write config.json into"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for a container run by an unprivileged user"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		path := filepath.Join(cmd.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("spec: %s already exists: remove it first", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spec: %w", err)
		}
		data, err := json.MarshalIndent(spec.Default(cmd.Bool("rootless")), "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(data, '\n'), 0o644)
	},
}

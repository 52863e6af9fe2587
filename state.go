package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/urfave/cli/v3"
)

var stateCommand = &cli.Command{
	Name:      "state",
	Usage:     "print the state of a container as JSON",
	ArgsUsage: "<container-id>",
	Action: func(_ context.Context, cmd *cli.Command) error {
		c, err := loadContainer(cmd, false)
		if err != nil {
			return err
		}
		defer c.Close()
		st := c.OCIState()
		out := struct {
			OCIVersion  string            `json:"ociVersion"`
			ID          string            `json:"id"`
			Pid         int               `json:"pid"`
			Status      string            `json:"status"`
			Bundle      string            `json:"bundle"`
			Rootfs      string            `json:"rootfs"`
			Created     string            `json:"created"`
			Owner       string            `json:"owner"`
			Annotations map[string]string `json:"annotations,omitempty"`
		}{st.Version, st.ID, st.Pid, string(st.Status), st.Bundle, c.State.Rootfs,
			c.State.Created.Format("2006-01-02T15:04:05.999999999Z07:00"), c.State.Owner, st.Annotations}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	},
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer/state"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "print a container's resource statistics as JSON events",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "stats", Usage: "print the statistics once and exit"},
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between statistics events"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		c, err := loadContainer(cmd, false)
		if err != nil {
			return err
		}
		defer c.Close()
		if cmd.Duration("interval") <= 0 {
			return fmt.Errorf("events: --interval must be positive")
		}
		enc := json.NewEncoder(os.Stdout)
		var oomKills uint64
		for first := true; ; first = false {
			if st := c.Status(); st == state.Stopped {
				if cmd.Bool("stats") {
					return fmt.Errorf("events: container %s is stopped", c.State.ID)
				}
				return nil
			}
			s, err := c.Stats()
			if err != nil {
				return err
			}
			if err := enc.Encode(map[string]any{"type": "stats", "id": c.State.ID, "data": s}); err != nil {
				return err
			}
			if cmd.Bool("stats") {
				return nil
			}
			// As runc: an "oom" event when the OOM killer ended a process of
			// the container since the last look (not for older kills).
			if !first && s.Memory.OOMKill > oomKills {
				if err := enc.Encode(map[string]any{"type": "oom", "id": c.State.ID}); err != nil {
					return err
				}
			}
			oomKills = s.Memory.OOMKill
			time.Sleep(cmd.Duration("interval"))
		}
	},
}

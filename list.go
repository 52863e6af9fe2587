package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer"
	"github.com/hull-oci/hull/libcontainer/state"
)

var listCommand = &cli.Command{
	Name:  "list",
	Usage: "list the containers under --root",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		root := cmd.Root().String("root")
		ids, err := state.List(root)
		if err != nil {
			return err
		}
		type item struct {
			OCIVersion  string            `json:"ociVersion"`
			ID          string            `json:"id"`
			Pid         int               `json:"pid"`
			Status      string            `json:"status"`
			Bundle      string            `json:"bundle"`
			Rootfs      string            `json:"rootfs"`
			Created     time.Time         `json:"created"`
			Owner       string            `json:"owner"`
			Annotations map[string]string `json:"annotations,omitempty"`
		}
		items := []item{}
		for _, id := range ids {
			c, err := libcontainer.Load(root, id, false)
			if err != nil {
				continue // deleted meanwhile
			}
			st := c.OCIState()
			items = append(items, item{st.Version, id, st.Pid, string(st.Status), st.Bundle, c.State.Rootfs, c.State.Created, c.State.Owner, st.Annotations})
			c.Close()
		}
		if cmd.Bool("quiet") {
			for _, it := range items {
				fmt.Println(it.ID)
			}
			return nil
		}
		switch cmd.String("format") {
		case "json":
			return json.NewEncoder(os.Stdout).Encode(items)
		case "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, it := range items {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", it.ID, it.Pid, it.Status, it.Bundle, it.Created.Format(time.RFC3339Nano), it.Owner)
			}
			return w.Flush()
		}
		return fmt.Errorf("list: --format %q: must be table or json", cmd.String("format"))
	},
}

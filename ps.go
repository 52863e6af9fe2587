package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v3"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes of a container",
	ArgsUsage: "<container-id> [ps options]",
	// Everything after the id is for ps(1).
	StopOnNthArg: intPtr(1),
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table (ps(1) output) or json (the pids)"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Args().Len() < 1 {
			return fmt.Errorf("ps: missing the container id (usage: hull ps %s)", cmd.ArgsUsage)
		}
		c, err := loadContainerID(cmd, cmd.Args().First(), false)
		if err != nil {
			return err
		}
		defer c.Close()
		pids, err := c.Pids()
		if err != nil {
			return err
		}
		switch cmd.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
		default:
			return fmt.Errorf("ps: --format %q: must be table or json", cmd.String("format"))
		}
		psArgs := cmd.Args().Slice()[1:]
		if len(psArgs) == 0 {
			psArgs = []string{"-ef"}
		}
		out, err := exec.Command("ps", psArgs...).Output()
		if err != nil {
			return fmt.Errorf("ps: running ps %s: %w", strings.Join(psArgs, " "), err)
		}
		return printPsLines(string(out), pids)
	},
}

// printPsLines keeps ps(1)'s header and the lines of the container's pids,
// finding the PID column from the header as runc does.
func printPsLines(out string, pids []int) error {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	col := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps: no PID column in ps(1)'s header %q", lines[0])
	}
	in := make(map[string]bool, len(pids))
	for _, p := range pids {
		in[strconv.Itoa(p)] = true
	}
	fmt.Println(lines[0])
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col && in[f[col]] {
			fmt.Println(l)
		}
	}
	return nil
}

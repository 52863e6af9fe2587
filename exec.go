package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"

	"github.com/hull-oci/hull/libcontainer"
	"github.com/hull-oci/hull/libcontainer/spec"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a process inside a running container",
	ArgsUsage: "<container-id> [command [args...]]",
	// Everything after the id belongs to the command, flags included.
	StopOnNthArg: intPtr(1),
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "a runtime-spec process JSON file describing the process"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to this file"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pty (needs --console-socket)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket to send the pty master to"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (NAME=VALUE), repeatable"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "uid[:gid] to run as"},
		&cli.StringSliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional gid, repeatable"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability (CAP_NET_ADMIN), repeatable"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass this many fds, from 3 up, to the process"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec even if the container is paused"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "run in this existing sub-cgroup of the container's: PATH, or CONTROLLER:PATH (v1), repeatable"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile (accepted, not applied yet)"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label (accepted, not applied yet)"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		if cmd.Args().Len() < 1 {
			return fmt.Errorf("exec: missing the container id (usage: hull exec %s)", cmd.ArgsUsage)
		}
		sub, err := parseSubCgroups(cmd.StringSlice("cgroup"))
		if err != nil {
			return err
		}
		// As with the config's LSM fields: accepted, and said not applied.
		for _, f := range []string{"apparmor", "process-label"} {
			if cmd.String(f) != "" {
				log.Warn(fmt.Sprintf("exec: --%s is not applied: hull has no AppArmor/SELinux support yet", f))
			}
		}
		sigs, caught := catchSignals(cmd.Bool("detach"))
		c, err := loadContainerID(cmd, cmd.Args().First(), false)
		if err != nil {
			return err
		}
		defer c.Close()
		startTrace.Mark("state loaded")
		pr, err := execProcess(cmd, c)
		if err != nil {
			return err
		}
		p, err := c.Exec(pr, libcontainer.ExecOpts{
			ConsoleSocket: cmd.String("console-socket"),
			PreserveFDs:   preserveFDs(cmd),
			IgnorePaused:  cmd.Bool("ignore-paused"),
			SubCgroups:    sub,
			Trace:         startTrace,
			Gate:          caught,
		})
		if err != nil {
			return err
		}
		traceDone()
		if path := cmd.String("pid-file"); path != "" {
			if err := libcontainer.WritePidFile(path, p.Pid); err != nil {
				return err
			}
		}
		if cmd.Bool("detach") {
			return nil
		}
		done := make(chan struct{})
		go forwardSignals(sigs, p.Pid, done)
		code, err := p.Wait()
		close(done)
		if err != nil {
			return err
		}
		if code != 0 {
			return exitStatus(code)
		}
		return nil
	},
}

func intPtr(i int) *int { return &i }

// parseSubCgroups reads runc's --cgroup forms: "path" for every hierarchy,
// "ctrl[,ctrl]:path" for some.
func parseSubCgroups(args []string) (map[string]string, error) {
	if len(args) == 0 {
		return nil, nil
	}
	sub := map[string]string{}
	for _, a := range args {
		ctrls, path, ok := strings.Cut(a, ":")
		if !ok {
			ctrls, path = "", a
		}
		if path == "" || strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("exec: --cgroup %q: want a path relative to the container's cgroup", a)
		}
		for _, c := range strings.Split(ctrls, ",") {
			if _, dup := sub[c]; dup {
				return nil, fmt.Errorf("exec: --cgroup %q: %q given twice", a, c)
			}
			sub[c] = path
		}
	}
	return sub, nil
}

// execProcess is the process to run: the --process JSON as given, or the
// container's own process with the command line's changes, as runc does.
func execProcess(cmd *cli.Command, c *libcontainer.Container) (*spec.Process, error) {
	owner := &spec.Plan{Namespaces: c.State.Namespaces, UIDMappings: c.State.UIDMappings, GIDMappings: c.State.GIDMappings}
	if path := cmd.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("exec: --process: %w", err)
		}
		var sp specs.Process
		if err := json.Unmarshal(data, &sp); err != nil {
			return nil, fmt.Errorf("exec: --process %s: invalid JSON: %w", path, err)
		}
		pr, err := spec.ProcessFromSpec(&sp, owner)
		if err != nil {
			return nil, fmt.Errorf("exec: --process %s: %w", path, err)
		}
		for _, w := range owner.Warnings {
			log.Warn(w)
		}
		return pr, nil
	}
	args := cmd.Args().Slice()[1:]
	if len(args) == 0 {
		return nil, fmt.Errorf("exec: missing the command to run (usage: hull exec %s)", cmd.ArgsUsage)
	}
	pr, err := c.State.ExecProcess()
	if err != nil {
		return nil, err
	}
	pr.Args = args
	pr.Terminal = cmd.Bool("tty")
	pr.ConsoleSize = nil
	pr.OOMScoreAdj = nil
	if cwd := cmd.String("cwd"); cwd != "" {
		pr.Cwd = cwd
	}
	pr.Env = append(append([]string(nil), pr.Env...), cmd.StringSlice("env")...)
	if u := cmd.String("user"); u != "" {
		uid, gid, err := parseUser(u)
		if err != nil {
			return nil, err
		}
		pr.UID = uid
		if gid != nil {
			pr.GID = *gid
		}
	}
	if gids := cmd.StringSlice("additional-gids"); len(gids) > 0 {
		pr.AdditionalGids = nil
		for _, g := range gids {
			n, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("exec: --additional-gids %q: must be a number", g)
			}
			pr.AdditionalGids = append(pr.AdditionalGids, uint32(n))
		}
	}
	for _, name := range cmd.StringSlice("cap") {
		cn := strings.ToUpper(name)
		if !strings.HasPrefix(cn, "CAP_") {
			cn = "CAP_" + cn
		}
		cp, ok := spec.CapabilityByName(cn)
		if !ok {
			return nil, fmt.Errorf("exec: --cap %q: unknown capability", name)
		}
		pr.Caps.Bounding = append(pr.Caps.Bounding, cp)
		pr.Caps.Effective = append(pr.Caps.Effective, cp)
		pr.Caps.Permitted = append(pr.Caps.Permitted, cp)
	}
	if cmd.Bool("no-new-privs") {
		pr.NoNewPrivs = true
	}
	return &pr, nil
}

func parseUser(u string) (uint32, *uint32, error) {
	us, gs, hasGid := strings.Cut(u, ":")
	uid, err := strconv.ParseUint(us, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("exec: --user %q: want uid[:gid] as numbers", u)
	}
	if !hasGid {
		return uint32(uid), nil, nil
	}
	gid, err := strconv.ParseUint(gs, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("exec: --user %q: want uid[:gid] as numbers", u)
	}
	g := uint32(gid)
	return uint32(uid), &g, nil
}

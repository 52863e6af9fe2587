package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v3"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "change the resources of a container",
	ArgsUsage: "<container-id>",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "a runtime-spec linux.resources JSON file, or - for stdin"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (bytes, or with k, m, g suffix; -1 unlimited)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit (-1 unlimited)"},
		&cli.StringFlag{Name: "kernel-memory", Usage: "accepted for runc compatibility; ignored by the kernel"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Usage: "accepted for runc compatibility; ignored"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares (relative weight)"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CPU CFS quota in microseconds"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CPU CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CPU CFS burst in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "CPU realtime period in microseconds"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "CPU realtime runtime in microseconds"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs to run on (0-3, 0,1)"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes to use"},
		&cli.StringFlag{Name: "blkio-weight", Usage: "block IO weight (10 to 1000)"},
		&cli.StringFlag{Name: "pids-limit", Usage: "maximum number of processes"},
	},
	Action: func(_ context.Context, cmd *cli.Command) error {
		r, err := updateResources(cmd)
		if err != nil {
			return err
		}
		c, err := loadContainer(cmd, true)
		if err != nil {
			return err
		}
		defer c.Close()
		warnings, err := c.Update(r)
		for _, w := range warnings {
			log.Warn(w)
		}
		return err
	},
}

// updateResources is the --resources JSON with the flags applied on top,
// as runc reads them.
func updateResources(cmd *cli.Command) (*specs.LinuxResources, error) {
	r := &specs.LinuxResources{}
	if path := cmd.String("resources"); path != "" {
		var in io.Reader = os.Stdin
		if path != "-" {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("update: --resources: %w", err)
			}
			defer f.Close()
			in = f
		}
		if err := json.NewDecoder(in).Decode(r); err != nil {
			return nil, fmt.Errorf("update: --resources %s: invalid JSON: %w", path, err)
		}
	}
	mem := func(flag string, dst **int64) error {
		if v := cmd.String(flag); v != "" {
			n, err := parseBytes(v)
			if err != nil {
				return fmt.Errorf("update: --%s %q: %w", flag, v, err)
			}
			*dst = &n
		}
		return nil
	}
	if r.Memory == nil {
		r.Memory = &specs.LinuxMemory{}
	}
	if r.CPU == nil {
		r.CPU = &specs.LinuxCPU{}
	}
	for flag, dst := range map[string]**int64{
		"memory": &r.Memory.Limit, "memory-reservation": &r.Memory.Reservation, "memory-swap": &r.Memory.Swap,
		"kernel-memory": &r.Memory.Kernel, "kernel-memory-tcp": &r.Memory.KernelTCP,
	} {
		if err := mem(flag, dst); err != nil {
			return nil, err
		}
	}
	for flag, dst := range map[string]**uint64{"cpu-share": &r.CPU.Shares, "cpu-period": &r.CPU.Period, "cpu-burst": &r.CPU.Burst, "cpu-rt-period": &r.CPU.RealtimePeriod} {
		if err := parseFlag(cmd, flag, dst, strconv.ParseUint); err != nil {
			return nil, err
		}
	}
	for flag, dst := range map[string]**int64{"cpu-quota": &r.CPU.Quota, "cpu-rt-runtime": &r.CPU.RealtimeRuntime} {
		if err := parseFlag(cmd, flag, dst, strconv.ParseInt); err != nil {
			return nil, err
		}
	}
	var pids *int64
	if err := parseFlag(cmd, "pids-limit", &pids, strconv.ParseInt); err != nil {
		return nil, err
	}
	if pids != nil {
		r.Pids = &specs.LinuxPids{Limit: pids}
	}
	if v := cmd.String("cpuset-cpus"); v != "" {
		r.CPU.Cpus = v
	}
	if v := cmd.String("cpuset-mems"); v != "" {
		r.CPU.Mems = v
	}
	var weight *uint64
	if err := parseFlag(cmd, "blkio-weight", &weight, strconv.ParseUint); err != nil {
		return nil, err
	}
	if weight != nil {
		if *weight > 1000 {
			return nil, fmt.Errorf("update: --blkio-weight %d: must be 10 to 1000", *weight)
		}
		w := uint16(*weight)
		r.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	return r, nil
}

// parseFlag parses a numeric flag into *dst when it is given.
func parseFlag[T int64 | uint64](cmd *cli.Command, flag string, dst **T, parse func(string, int, int) (T, error)) error {
	v := cmd.String(flag)
	if v == "" {
		return nil
	}
	n, err := parse(v, 10, 64)
	if err != nil {
		return fmt.Errorf("update: --%s %q: must be a number", flag, v)
	}
	*dst = &n
	return nil
}

// parseBytes reads "512", "64k", "256m", "2g", "1t" (powers of 1024) or -1.
func parseBytes(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	mult := int64(1)
	num := strings.ToLower(strings.TrimSuffix(strings.ToLower(s), "b"))
	if n := len(num); n > 0 {
		if i := strings.IndexByte("kmgt", num[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a size in bytes, e.g. 512m, or -1")
	}
	return v * mult, nil
}

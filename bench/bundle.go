package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	hullspec "github.com/hull-oci/hull/libcontainer/spec"
)

// The C helpers, compiled with gcc into the temporary directory at start.
var (
	//go:embed c/floor.c
	floorSource string
	//go:embed c/measure.c
	measureSource string
)

// ociVersion is older than the runtime-spec module's: crun 1.8.1 refuses a
// config of version 1.3.0 ("unknown version specified"), and every runtime
// here reads 1.0.2 configs.
const ociVersion = "1.0.2-dev"

var (
	trueArgs  = []string{"/bin/true"}
	sleepArgs = []string{"/bin/sleep", "100000"} // containers that must stay running
)

// buildRootfs makes a busybox root filesystem: the static busybox and a
// symlink per applet, and the mount points the config needs (the root is
// read-only, so a runtime could not create them itself).
func buildRootfs(dir string) error {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("busybox (apt-get install busybox-static) is needed for the container's rootfs: %w", err)
	}
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "true")); err != nil {
		return fmt.Errorf("this busybox has no `true` applet: %w", err)
	}
	return nil
}

// containerSpec is `hull spec`'s default (which is `runc spec`'s) with
// terminal false, a read-only root at rootfs, args, and the container's own
// absolute cgroupsPath: a relative one would land under the caller's
// cgroup, which on this host belongs to a supervisor.
func containerSpec(rootfs, cgroupsPath string, args []string) *specs.Spec {
	s := hullspec.Default(false)
	s.Version = ociVersion
	s.Process.Terminal = false
	s.Process.Args = args
	s.Root = &specs.Root{Path: rootfs, Readonly: true}
	s.Hostname = "bench"
	s.Linux.CgroupsPath = cgroupsPath
	return s
}

// writeBundle makes dir a bundle: config.json only, the root is shared.
func writeBundle(dir string, spec *specs.Spec) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

// buildC compiles a helper's source into dir, statically when the C
// library allows it, so the helper pays no dynamic loader either.
func buildC(dir, name, source string) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("gcc is needed to build the %s program: %w", name, err)
	}
	src := filepath.Join(dir, name+".c")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, name)
	out, err := exec.Command(gcc, "-O2", "-static", "-o", bin, src).CombinedOutput()
	if err != nil {
		out2, err2 := exec.Command(gcc, "-O2", "-o", bin, src).CombinedOutput()
		if err2 != nil {
			return "", fmt.Errorf("gcc %s.c: %v\n%s%s", name, err2, out, out2)
		}
	}
	return bin, nil
}

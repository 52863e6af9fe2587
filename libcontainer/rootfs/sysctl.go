package rootfs

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// WriteSysctls writes linux.sysctl, in key order, from inside the
// container's namespaces (the kernel picks the namespaced table by the
// writer). It never goes through the container's /proc by path: the
// procfs used is checked to be a real procfs root, each file is looked up
// inside it without crossing a mount or following a magic link, and is
// opened for writing through that handle (CVE-2025-52881, CVE-2019-16884).
func WriteSysctls(m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	// Not the subset=pid instance OpenProcRoot prefers: it has no /proc/sys.
	proc, err := procfs.OpenUnsafeProcRoot()
	if err != nil {
		return fmt.Errorf("linux.sysctl: open a verified procfs: %w", err)
	}
	defer proc.Close()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := writeSysctl(proc, k, m[k]); err != nil {
			return fmt.Errorf("linux.sysctl %q: %w", k, err)
		}
	}
	return nil
}

func writeSysctl(proc *procfs.Handle, key, value string) error {
	rel, err := sysctlPath(key)
	if err != nil {
		return err
	}
	h, err := proc.OpenRoot(rel)
	if err != nil {
		return fmt.Errorf("open /proc/%s: %w", rel, err)
	}
	defer h.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(h.Fd()), &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("/proc/%s is not on a procfs", rel)
	}
	f, err := pathrs.Reopen(h, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open /proc/%s for writing: %w", rel, err)
	}
	defer f.Close()
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("write %q to /proc/%s: %w", value, rel, err)
	}
	return nil
}

// sysctlPath turns a sysctl key into its path under /proc, the way runc
// does ("net.ipv4.ip_forward" is sys/net/ipv4/ip_forward). A key is names
// joined by dots; anything that would walk elsewhere in /proc is refused.
func sysctlPath(key string) (string, error) {
	if key == "" {
		return "", errors.New("empty key")
	}
	parts := strings.Split(strings.ReplaceAll(key, "/", "."), ".")
	for _, p := range parts {
		if p == "" || p == ".." {
			return "", errors.New("not a sysctl name: empty or \"..\" component")
		}
	}
	return "sys/" + strings.Join(parts, "/"), nil
}

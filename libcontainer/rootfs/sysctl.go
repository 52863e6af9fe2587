package rootfs

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"os"

	"golang.org/x/sys/unix"
)

// WriteSysctls writes linux.sysctl, in key order, from inside the
// container's namespaces (the kernel picks the namespaced table by the
// writer). It never goes through the container's /proc by path: the files
// are opened in a procfs instance of hull's own, detached from every mount
// tree so nothing can be mounted over its files, without crossing a mount
// or following a magic link (CVE-2025-52881, CVE-2019-16884).
func WriteSysctls(m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	proc, err := openProcfs()
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

func writeSysctl(proc *os.File, key, value string) error {
	rel, err := sysctlPath(key)
	if err != nil {
		return err
	}
	f, err := openat2(proc, rel, unix.O_WRONLY,
		unix.RESOLVE_BENEATH|unix.RESOLVE_NO_MAGICLINKS|unix.RESOLVE_NO_XDEV)
	if err != nil {
		return fmt.Errorf("open /proc/%s for writing: %w", rel, err)
	}
	defer f.Close()
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("/proc/%s is not on a procfs", rel)
	}
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("write %q to /proc/%s: %w", value, rel, err)
	}
	return nil
}

// openProcfs returns the root of a new procfs instance that is attached
// nowhere. Where the kernel refuses one (a user namespace that does not
// own the pid namespace), the container's /proc, which the init mounted
// itself, checked to be a procfs mount root.
func openProcfs() (*os.File, error) {
	if ctx, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC); err == nil {
		defer unix.Close(ctx)
		if err := unix.FsconfigCreate(ctx); err == nil {
			if fd, err := unix.Fsmount(ctx, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC); err == nil {
				return os.NewFile(uintptr(fd), "/proc"), nil
			}
		}
	}
	f, err := os.OpenFile("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var sfs unix.Statfs_t
	root, rerr := isMountRoot(f)
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil || sfs.Type != unix.PROC_SUPER_MAGIC || rerr != nil || !root {
		f.Close()
		return nil, errors.New("/proc is not a procfs mount")
	}
	return f, nil
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

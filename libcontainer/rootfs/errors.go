package rootfs

import (
	"fmt"
	"os"

	"github.com/hull-oci/hull/libcontainer/spec"
)

// mountError names the mounts[] entry a failure is about, so a user can find
// it in config.json: `mounts[3] (proc on /proc type proc): mount: ...`.
func mountError(i int, m *spec.Mount, err error) error {
	return fmt.Errorf("mounts[%d] (%s): %w", i, describeMount(m), err)
}

func describeMount(m *spec.Mount) string {
	src := m.Source
	if src == "" {
		src = "none"
	}
	return fmt.Sprintf("%s on %s type %s", src, m.Destination, mountKind(m))
}

// mountKind is the type a user would recognise: "bind" for bind mounts even
// when config.json says "none" or leaves the type out.
func mountKind(m *spec.Mount) string {
	switch {
	case isBind(m) && m.Flags&recFlag != 0:
		return "rbind"
	case isBind(m):
		return "bind"
	case m.Type == "":
		return "none"
	}
	return m.Type
}

// fieldError names a config field that holds a list of paths:
// `linux.maskedPaths[2] "/proc/kcore": ...`.
func fieldError(field string, i int, path string, err error) error {
	return fmt.Errorf("%s[%d] %q: %w", field, i, path, err)
}

// sysErr wraps an errno with the syscall that returned it, so messages read
// "mount: permission denied" and errors.Is still sees the errno.
func sysErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return os.NewSyscallError(op, err)
}

package v2

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// progName marks hull's device program among those attached to a cgroup:
// hull finds the one it attached before by asking the kernel, not by
// keeping anything in the state (BPF_PROG_QUERY on the cgroup lists the
// ids of the programs attached to it directly; each id opens with
// BPF_PROG_GET_FD_BY_ID and BPF_OBJ_GET_INFO_BY_FD gives its name). The
// kernel keeps 15 characters of a name.
const progName = "hull_devices"

// The kernel only reads the license for GPL-only helpers, which the
// program does not call.
const progLicense = "Apache-2.0"

// loadDeviceProgram has the kernel verify and load the program; the caller
// closes it.
func loadDeviceProgram(insts asm.Instructions) (*ebpf.Program, error) {
	// Before Linux 5.11 BPF memory counts against RLIMIT_MEMLOCK, which
	// is 64 KiB on many hosts (runc#2167). Lift it for the load and put it
	// back: a process hull starts later must not inherit it.
	var old unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old) == nil && old.Cur != unix.RLIM_INFINITY {
		inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
		if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf) == nil {
			defer unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old)
		}
	}
	return ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         progName,
		Type:         ebpf.CGroupDevice,
		Instructions: insts,
		License:      progLicense,
	})
}

// ownPrograms opens the device programs hull attached to the cgroup dirFD.
// Programs of others (systemd's, an engine's) are left alone: an extra
// device program can only refuse more, never allow more.
func ownPrograms(dirFD int) ([]*ebpf.Program, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: dirFD, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, err
	}
	var own []*ebpf.Program
	for _, ap := range res.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if err != nil {
			// A program an LSM hides from hull is not hull's, or it went
			// away since the query.
			if errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
				continue
			}
			closeAll(own)
			return nil, fmt.Errorf("open attached program %d: %w", ap.ID, err)
		}
		info, err := p.Info()
		if err != nil || info.Name != progName {
			p.Close()
			continue
		}
		own = append(own, p)
	}
	return own, nil
}

func closeAll(ps []*ebpf.Program) {
	for _, p := range ps {
		p.Close()
	}
}

// attachDeviceProgram puts prog on the cgroup in place of the programs hull
// attached before, with no moment when the cgroup has no hull program:
// BPF_F_REPLACE swaps one for the other atomically (Linux 5.6+); otherwise
// the new one is attached first and the old ones detached after, and while
// both are attached the kernel allows only what both allow. Programs are
// never stacked up (runc#2366: one more on every update until the kernel's
// limit of 64 said E2BIG).
func attachDeviceProgram(dir string, prog *ebpf.Program) error {
	dirFD, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", dir, err)
	}
	defer unix.Close(dirFD)
	old, err := ownPrograms(dirFD)
	if err != nil {
		return fmt.Errorf("list the device programs attached to %s: %w", dir, err)
	}
	defer closeAll(old)

	opts := link.RawAttachProgramOptions{
		Target:  dirFD,
		Program: prog,
		Attach:  ebpf.AttachCGroupDevice,
		// Other programs may stay attached (systemd's); hull's own are
		// replaced below.
		Flags: unix.BPF_F_ALLOW_MULTI,
	}
	if len(old) == 1 {
		opts.Anchor = link.ReplaceProgram(old[0])
		err := link.RawAttachProgram(opts)
		if err == nil {
			return nil
		}
		// EINVAL: a kernel without BPF_F_REPLACE; the fallback below is
		// just as safe.
		if !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("replace the device program of %s (BPF_PROG_ATTACH, BPF_F_REPLACE): %w", dir, err)
		}
		opts.Anchor = nil
	}
	if err := link.RawAttachProgram(opts); err != nil {
		return fmt.Errorf("attach the device program to %s (BPF_PROG_ATTACH, BPF_CGROUP_DEVICE): %w", dir, err)
	}
	for _, p := range old {
		if err := detach(dirFD, p); err != nil {
			return fmt.Errorf("detach the old device program of %s (BPF_PROG_DETACH): %w", dir, err)
		}
	}
	return nil
}

func detach(dirFD int, p *ebpf.Program) error {
	err := link.RawDetachProgram(link.RawDetachProgramOptions{Target: dirFD, Program: p, Attach: ebpf.AttachCGroupDevice})
	if errors.Is(err, unix.ENOENT) {
		return nil // detached meanwhile
	}
	return err
}

// detachOwnPrograms removes hull's device programs from a cgroup hull did
// not create and therefore leaves in place on delete.
func detachOwnPrograms(dir string) error {
	dirFD, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer unix.Close(dirFD)
	own, err := ownPrograms(dirFD)
	if err != nil {
		return err
	}
	defer closeAll(own)
	for _, p := range own {
		if err := detach(dirFD, p); err != nil {
			return err
		}
	}
	return nil
}

// inUserNS reports whether hull runs in a user namespace other than the
// initial one, where bpf(2) is refused; runc then skips device programs
// too, since such a process cannot create device nodes or reach devices
// it was not given.
func inUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := strings.Fields(string(data))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

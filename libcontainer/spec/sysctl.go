package spec

import (
	"errors"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setSysctl accepts only the sysctls that live in a namespace the container
// owns, so that a container can never change the host's kernel settings
// (runc's rules).
func setSysctl(s *specs.Spec, p *Plan) error {
	if s.Linux == nil || len(s.Linux.Sysctl) == 0 {
		return nil
	}
	out := make(map[string]string, len(s.Linux.Sysctl))
	for key, val := range s.Linux.Sysctl {
		field := "linux.sysctl." + key
		k := dottedSysctl(key)
		if err := checkSysctlPath(k); err != nil {
			return fieldErr(field, "%s", err)
		}
		if err := sysctlAllowed(k, p); err != nil {
			return fieldErr(field, "%s", err)
		}
		if strings.IndexByte(val, 0) >= 0 {
			return fieldErr(field, "value must not contain a NUL byte")
		}
		if prev, dup := out[k]; dup && prev != val {
			return fieldErr(field, "is set twice, once with '/' and once with '.' separators, to different values")
		}
		out[k] = val
	}
	p.Sysctl = out
	return nil
}

// dottedSysctl converts a key written with '/' separators
// ("net/ipv4/conf/eth0.100/rp_filter") into the dotted form
// ("net.ipv4.conf.eth0/100.rp_filter"), as sysctl(8) does: the first
// separator decides which form the key is in.
func dottedSysctl(k string) string {
	i := strings.IndexAny(k, "./")
	if i < 0 || k[i] == '.' {
		return k
	}
	return sysctlSwap(k)
}

func sysctlSwap(k string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, k)
}

// checkSysctlPath keeps the file the key names inside /proc/sys.
func checkSysctlPath(k string) error {
	if k == "" {
		return errors.New("the key must not be empty")
	}
	for _, c := range strings.Split(sysctlSwap(k), "/") {
		if c == "" || c == "." || c == ".." || strings.IndexByte(c, 0) >= 0 {
			return errors.New("is not a valid sysctl name: want e.g. \"net.ipv4.ip_forward\"")
		}
	}
	return nil
}

func sysctlAllowed(k string, p *Plan) error {
	switch {
	case isIPCSysctl(k):
		if !p.HasNamespace(specs.IPCNamespace) {
			return errors.New(`is not allowed in the host's IPC namespace: add {"type": "ipc"} to linux.namespaces`)
		}
		return nil
	case strings.HasPrefix(k, "net."):
		if !p.HasNamespace(specs.NetworkNamespace) {
			return errors.New(`is not allowed in the host's network namespace: add {"type": "network"} to linux.namespaces`)
		}
		for _, ns := range p.Namespaces {
			if ns.Type == specs.NetworkNamespace && ns.Path != "" && isHostNetNS(ns.Path) {
				return errors.New("is not allowed: the network namespace joined at " + ns.Path + " is the host's")
			}
		}
		return nil
	case k == "kernel.domainname":
		if !p.HasNamespace(specs.UTSNamespace) {
			return errors.New(`is not allowed in the host's UTS namespace: add {"type": "uts"} to linux.namespaces`)
		}
		return nil
	case k == "kernel.hostname":
		// It would fight with the hostname field, which is set later.
		return errors.New(`is not allowed: set the top-level "hostname" field instead`)
	case strings.HasPrefix(k, "user."):
		// ucounts of the initial user namespace would limit the whole host.
		if !p.HasNamespace(specs.UserNamespace) {
			return errors.New(`is not allowed without a user namespace: add {"type": "user"} to linux.namespaces`)
		}
		return nil
	}
	return errors.New("is not in a separate kernel namespace: hull only sets sysctls of the container's own ipc, network, uts and user namespaces")
}

func isIPCSysctl(k string) bool {
	switch k {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(k, "fs.mqueue.")
}

// isHostNetNS reports whether path is the network namespace hull runs in;
// an error counts as "no": checkNSPath has already vetted the path.
func isHostNetNS(path string) bool {
	var self, other unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &self) != nil || unix.Stat(path, &other) != nil {
		return false
	}
	return self.Dev == other.Dev && self.Ino == other.Ino
}

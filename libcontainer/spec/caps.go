package spec

import (
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// capNames is indexed by capability number; static data, no start-up work.
var capNames = [...]string{
	unix.CAP_CHOWN:              "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:       "CAP_DAC_OVERRIDE",
	unix.CAP_DAC_READ_SEARCH:    "CAP_DAC_READ_SEARCH",
	unix.CAP_FOWNER:             "CAP_FOWNER",
	unix.CAP_FSETID:             "CAP_FSETID",
	unix.CAP_KILL:               "CAP_KILL",
	unix.CAP_SETGID:             "CAP_SETGID",
	unix.CAP_SETUID:             "CAP_SETUID",
	unix.CAP_SETPCAP:            "CAP_SETPCAP",
	unix.CAP_LINUX_IMMUTABLE:    "CAP_LINUX_IMMUTABLE",
	unix.CAP_NET_BIND_SERVICE:   "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:      "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:          "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:            "CAP_NET_RAW",
	unix.CAP_IPC_LOCK:           "CAP_IPC_LOCK",
	unix.CAP_IPC_OWNER:          "CAP_IPC_OWNER",
	unix.CAP_SYS_MODULE:         "CAP_SYS_MODULE",
	unix.CAP_SYS_RAWIO:          "CAP_SYS_RAWIO",
	unix.CAP_SYS_CHROOT:         "CAP_SYS_CHROOT",
	unix.CAP_SYS_PTRACE:         "CAP_SYS_PTRACE",
	unix.CAP_SYS_PACCT:          "CAP_SYS_PACCT",
	unix.CAP_SYS_ADMIN:          "CAP_SYS_ADMIN",
	unix.CAP_SYS_BOOT:           "CAP_SYS_BOOT",
	unix.CAP_SYS_NICE:           "CAP_SYS_NICE",
	unix.CAP_SYS_RESOURCE:       "CAP_SYS_RESOURCE",
	unix.CAP_SYS_TIME:           "CAP_SYS_TIME",
	unix.CAP_SYS_TTY_CONFIG:     "CAP_SYS_TTY_CONFIG",
	unix.CAP_MKNOD:              "CAP_MKNOD",
	unix.CAP_LEASE:              "CAP_LEASE",
	unix.CAP_AUDIT_WRITE:        "CAP_AUDIT_WRITE",
	unix.CAP_AUDIT_CONTROL:      "CAP_AUDIT_CONTROL",
	unix.CAP_SETFCAP:            "CAP_SETFCAP",
	unix.CAP_MAC_OVERRIDE:       "CAP_MAC_OVERRIDE",
	unix.CAP_MAC_ADMIN:          "CAP_MAC_ADMIN",
	unix.CAP_SYSLOG:             "CAP_SYSLOG",
	unix.CAP_WAKE_ALARM:         "CAP_WAKE_ALARM",
	unix.CAP_BLOCK_SUSPEND:      "CAP_BLOCK_SUSPEND",
	unix.CAP_AUDIT_READ:         "CAP_AUDIT_READ",
	unix.CAP_PERFMON:            "CAP_PERFMON",
	unix.CAP_BPF:                "CAP_BPF",
	unix.CAP_CHECKPOINT_RESTORE: "CAP_CHECKPOINT_RESTORE",
}

// CapabilityByName returns the number of a capability named as in
// capabilities(7), e.g. "CAP_SYS_ADMIN".
func CapabilityByName(name string) (uint, bool) {
	for n, s := range capNames[:] {
		if s == name {
			return uint(n), true
		}
	}
	return 0, false
}

// CapabilityName is the inverse of CapabilityByName; unknown numbers come
// back as "CAP_<n>".
func CapabilityName(c uint) string {
	if c < uint(len(capNames)) {
		return capNames[c]
	}
	return "CAP_" + strconv.FormatUint(uint64(c), 10)
}

// convertCaps turns capability names into numbers. A name hull does not know
// is left out with a warning, not an error: the spec requires that (a newer
// kernel's capability must not stop the container), and runc does the same.
// Inheritable stays empty unless configured (CVE-2022-29162).
func convertCaps(c *specs.LinuxCapabilities) (Capabilities, []string, error) {
	var out Capabilities
	if c == nil {
		return out, nil, nil
	}
	var warns []string
	for _, set := range []struct {
		field string
		names []string
		dst   *[]uint
	}{
		{"process.capabilities.bounding", c.Bounding, &out.Bounding},
		{"process.capabilities.effective", c.Effective, &out.Effective},
		{"process.capabilities.inheritable", c.Inheritable, &out.Inheritable},
		{"process.capabilities.permitted", c.Permitted, &out.Permitted},
		{"process.capabilities.ambient", c.Ambient, &out.Ambient},
	} {
		for i, name := range set.names {
			n, ok := CapabilityByName(name)
			if !ok {
				warns = append(warns, idx(set.field, i)+": unknown capability "+strconv.Quote(name)+" ignored"+capHint(name))
				continue
			}
			if !containsUint(*set.dst, n) {
				*set.dst = append(*set.dst, n)
			}
		}
	}
	return out, warns, nil
}

// capHint suggests the spelling hull knows for a near miss such as
// "sys_admin" or "cap_sys_admin".
func capHint(name string) string {
	up := strings.ToUpper(name)
	if !strings.HasPrefix(up, "CAP_") {
		up = "CAP_" + up
	}
	if up != name {
		if _, ok := CapabilityByName(up); ok {
			return " (did you mean " + strconv.Quote(up) + "?)"
		}
	}
	return ""
}

func containsUint(s []uint, v uint) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

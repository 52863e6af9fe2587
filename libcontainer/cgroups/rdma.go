package cgroups

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// RdmaMax is one rdma.max line (the same format on v1 and v2) and the
// config field it comes from.
type RdmaMax struct {
	Field string
	Value string
}

// RdmaLimits turns linux.resources.rdma into rdma.max lines, in a fixed
// order (map order is random; errors must be reproducible).
func RdmaLimits(rdma map[string]specs.LinuxRdma) ([]RdmaMax, error) {
	names := make([]string, 0, len(rdma))
	for name := range rdma {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []RdmaMax
	for _, name := range names {
		l := rdma[name]
		field := fmt.Sprintf("linux.resources.rdma[%q]", name)
		if !PlainName(name) {
			return nil, fmt.Errorf("%s: %q is not an RDMA device name (non-empty, no spaces or slashes); see /sys/class/infiniband", field, name)
		}
		if l.HcaHandles == nil && l.HcaObjects == nil {
			return nil, fmt.Errorf("%s: sets no limit: give hcaHandles, hcaObjects or both (the spec requires one)", field)
		}
		v := name
		if l.HcaHandles != nil {
			v += " hca_handle=" + strconv.FormatUint(uint64(*l.HcaHandles), 10)
		}
		if l.HcaObjects != nil {
			v += " hca_object=" + strconv.FormatUint(uint64(*l.HcaObjects), 10)
		}
		out = append(out, RdmaMax{Field: field, Value: v})
	}
	return out, nil
}

// PlainName accepts a device or interface name a control file line can
// carry: non-empty, no blanks, no slashes.
func PlainName(s string) bool {
	return s != "" && !strings.ContainsAny(s, " \t\n\r\x00/")
}

package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Allows follows the v1 kernel: one allow exception must cover the whole
// request; a deny exception refuses on any shared permission. (The merging
// itself is checked rule by rule against a kernel model in v1's tests.)
func TestDeviceRulesAllows(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	deny, err := MergeDeviceRules([]specs.LinuxDeviceCgroup{
		{Allow: false, Type: "a", Access: "rwm"},
		{Allow: true, Type: "c", Major: n(4), Minor: n(1), Access: "r"},
		{Allow: true, Type: "c", Major: n(4), Access: "w"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	allow, err := MergeDeviceRules([]specs.LinuxDeviceCgroup{
		{Allow: true, Type: "a", Access: "rwm"},
		{Allow: false, Type: "c", Major: n(4), Minor: n(1), Access: "w"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		d     *DeviceRules
		typ   byte
		major int64
		minor int64
		acc   DeviceAccess
		want  bool
	}{
		{deny, 'c', 4, 1, DeviceRead, true},
		{deny, 'c', 4, 1, DeviceWrite, true},               // through 4:*
		{deny, 'c', 4, 1, DeviceRead | DeviceWrite, false}, // no one exception covers rw
		{deny, 'c', 1, 3, DeviceRead | DeviceWrite, true},  // the default /dev/null
		{deny, 'b', 4, 1, DeviceRead, false},               // type matters
		{deny, 'c', 9, 9, DeviceMknod, true},               // mknod of any char device
		{allow, 'c', 4, 1, DeviceRead, true},
		{allow, 'c', 4, 1, DeviceRead | DeviceWrite, false}, // the deny shares w
		{allow, 'c', 4, 2, DeviceWrite, true},
	}
	for _, tc := range tests {
		if got := tc.d.Allows(tc.typ, tc.major, tc.minor, tc.acc); got != tc.want {
			t.Errorf("allowAll=%v %c %d:%d %s: %v, want %v", tc.d.AllowAll, tc.typ, tc.major, tc.minor, tc.acc, got, tc.want)
		}
	}
}

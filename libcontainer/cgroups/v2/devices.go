package v2

import (
	"math"
	"strconv"

	"github.com/cilium/ebpf/asm"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// cgroup v2 has no devices files: the kernel asks every
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup (and its
// ancestors) about each mknod and open of a device node, and refuses unless
// all of them return 1.
//
// The program is compiled from the same merged state v1 writes into
// devices.allow/devices.deny (cgroups.MergeDeviceRules): a default and
// exceptions to it, every exception with the verdict opposite to the
// default. "Later rules override earlier" is already resolved there, so the
// blocks can be tried in any order: the first exception that matches
// decides, and no exception matching leaves the default. runc's
// devicefilter does the same from its emulator's rules.

// The context the kernel passes (struct bpf_cgroup_dev_ctx): access_type is
// the device type in the low 16 bits and the requested access in the high
// 16; then major and minor, u32 each.
const (
	ctxAccessType = 0
	ctxMajor      = 4
	ctxMinor      = 8
)

// The kernel's values (include/uapi/linux/bpf.h: BPF_DEVCG_DEV_*,
// BPF_DEVCG_ACC_*), which differ from hull's bit order.
const (
	bpfDevBlock = 1
	bpfDevChar  = 2
	bpfAccMknod = 1
	bpfAccRead  = 2
	bpfAccWrite = 4
	bpfAccAll   = bpfAccMknod | bpfAccRead | bpfAccWrite
)

func bpfAccess(a cgroups.DeviceAccess) int32 {
	var v int32
	if a&cgroups.DeviceRead != 0 {
		v |= bpfAccRead
	}
	if a&cgroups.DeviceWrite != 0 {
		v |= bpfAccWrite
	}
	if a&cgroups.DeviceMknod != 0 {
		v |= bpfAccMknod
	}
	return v
}

func bpfType(t byte) int32 {
	if t == 'b' {
		return bpfDevBlock
	}
	return bpfDevChar
}

// block is one exception as the program tests it: the match table the
// instructions encode, kept separate so tests can check it without a BPF
// interpreter.
type block struct {
	typ          int32 // bpfDevBlock or bpfDevChar
	major, minor int64 // cgroups.DeviceWildcard: not tested
	access       int32 // BPF_DEVCG_ACC_* bits
	allow        bool  // the verdict when it matches
}

// deviceTable is the exceptions as blocks, in the merged order, and the
// verdict when none matches.
func deviceTable(d *cgroups.DeviceRules) (blocks []block, defaultAllow bool) {
	for _, e := range d.Exceptions {
		blocks = append(blocks, block{
			typ:    bpfType(e.Key.Type),
			major:  e.Key.Major,
			minor:  e.Key.Minor,
			access: bpfAccess(e.Access),
			allow:  !d.AllowAll,
		})
	}
	return blocks, d.AllowAll
}

func blockLabel(i int) string { return "hull_dev_" + strconv.Itoa(i) }

// deviceProgram compiles the table. Registers: R2 the device type, R3 the
// requested access, R4 the major, R5 the minor; R1 is scratch after the
// loads.
//
// How a block matches the access follows the v1 kernel, so both layouts
// enforce the same thing: an allow block must cover every requested bit
// (an open for reading and writing asks for both at once); a deny block
// matches when it shares any bit with the request. runc's program tests
// deny blocks like allow blocks, so there a rule denying only "w" lets an
// O_RDWR open through on an allow-all default.
func deviceProgram(blocks []block, defaultAllow bool) asm.Instructions {
	insts := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, ctxAccessType, asm.Word),
		asm.And.Imm32(asm.R2, 0xFFFF),
		asm.LoadMem(asm.R3, asm.R1, ctxAccessType, asm.Word),
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, ctxMajor, asm.Word),
		asm.LoadMem(asm.R5, asm.R1, ctxMinor, asm.Word),
	}
	for i, b := range blocks {
		next := blockLabel(i + 1)
		start := len(insts)
		insts = append(insts, asm.JNE.Imm(asm.R2, b.typ, next))
		insts = append(insts, matchNumber(asm.R4, b.major, next)...)
		insts = append(insts, matchNumber(asm.R5, b.minor, next)...)
		switch {
		case b.allow && b.access != bpfAccAll:
			// Requested bits outside the block's: not covered.
			insts = append(insts,
				asm.Mov.Reg32(asm.R1, asm.R3),
				asm.And.Imm32(asm.R1, ^b.access&bpfAccAll),
				asm.JNE.Imm(asm.R1, 0, next))
		case !b.allow && b.access != bpfAccAll:
			// No requested bit in the block's: no overlap.
			insts = append(insts,
				asm.Mov.Reg32(asm.R1, asm.R3),
				asm.And.Imm32(asm.R1, b.access),
				asm.JEq.Imm(asm.R1, 0, next))
		}
		insts = append(insts, verdict(b.allow)...)
		insts[start] = insts[start].WithSymbol(blockLabel(i))
	}
	tail := verdict(defaultAllow)
	tail[0] = tail[0].WithSymbol(blockLabel(len(blocks)))
	return append(insts, tail...)
}

// matchNumber jumps to next unless reg holds n; a wildcard tests nothing.
// The registers hold a u32 zero-extended, and a jump's immediate is a
// sign-extended s32, so a number above MaxInt32 goes through a 64-bit
// load instead (no real device has one: majors are 12 bits, minors 20).
func matchNumber(reg asm.Register, n int64, next string) asm.Instructions {
	switch {
	case n == cgroups.DeviceWildcard:
		return nil
	case n <= math.MaxInt32:
		return asm.Instructions{asm.JNE.Imm(reg, int32(n), next)}
	}
	return asm.Instructions{
		asm.LoadImm(asm.R1, n, asm.DWord),
		asm.JNE.Reg(reg, asm.R1, next),
	}
}

func verdict(allow bool) asm.Instructions {
	v := int32(0)
	if allow {
		v = 1
	}
	return asm.Instructions{asm.Mov.Imm32(asm.R0, v), asm.Return()}
}

package v2

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hull-oci/hull/libcontainer/cgroups"
)

// The kernel cannot run a cgroup device program on demand
// (BPF_PROG_TEST_RUN has no cgroup-device support), so the program is
// checked without a BPF interpreter: the instructions are decoded back into
// the match table they must encode, every jump must lead to the next block,
// and the table's verdicts are compared with the merged rules' for many
// rule lists and devices. Whether the kernel enforces it is for the VM
// tests (make test-vm).

func devRule(allow bool, typ string, major, minor *int64, access string) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Major: major, Minor: minor, Access: access}
}

// decode reads a program deviceProgram made back into its blocks and
// default, failing the test on any instruction out of the expected shape.
func decode(t *testing.T, insts asm.Instructions) ([]block, bool) {
	t.Helper()
	same := func(a, b asm.Instruction) bool {
		return a.OpCode == b.OpCode && a.Dst == b.Dst && a.Src == b.Src
	}
	prologue := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), asm.And.Imm32(asm.R2, 0xFFFF),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word), asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word), asm.LoadMem(asm.R5, asm.R1, 8, asm.Word),
	}
	if len(insts) < len(prologue)+2 {
		t.Fatalf("program too short: %v", insts)
	}
	for i, want := range prologue {
		if got := insts[i]; !same(got, want) || got.Offset != want.Offset || got.Constant != want.Constant {
			t.Fatalf("prologue instruction %d = %v, want %v", i, got, want)
		}
	}
	pc := len(prologue)
	next := func() asm.Instruction {
		if pc >= len(insts) {
			t.Fatalf("program ends inside a block")
		}
		pc++
		return insts[pc-1]
	}
	peek := func() asm.Instruction { return insts[pc] }
	var blocks []block
	for i := 0; ; i++ {
		first := peek()
		if first.Symbol() != blockLabel(i) {
			t.Fatalf("instruction %d: symbol %q, want %q", pc, first.Symbol(), blockLabel(i))
		}
		if same(first, asm.Mov.Imm32(asm.R0, 0)) {
			// The default: the last block.
			next()
			if ret := next(); ret.OpCode != asm.Return().OpCode || pc != len(insts) {
				t.Fatalf("the program does not end with the default's exit")
			}
			return blocks, first.Constant == 1
		}
		target := blockLabel(i + 1)
		jump := func(want asm.Instruction) asm.Instruction {
			ins := next()
			if !same(ins, want) {
				t.Fatalf("block %d, instruction %d = %v, want the shape of %v", i, pc-1, ins, want)
			}
			if ins.Reference() != target {
				t.Fatalf("block %d: a jump to %q, not to the next block %q", i, ins.Reference(), target)
			}
			return ins
		}
		b := block{major: cgroups.DeviceWildcard, minor: cgroups.DeviceWildcard, access: bpfAccAll}
		b.typ = int32(jump(asm.JNE.Imm(asm.R2, 0, "")).Constant)
		for _, reg := range []asm.Register{asm.R4, asm.R5} {
			n := int64(cgroups.DeviceWildcard)
			switch ins := peek(); {
			case same(ins, asm.JNE.Imm(reg, 0, "")):
				n = jump(ins).Constant
			case same(ins, asm.LoadImm(asm.R1, 0, asm.DWord)):
				n = next().Constant
				jump(asm.JNE.Reg(reg, asm.R1, ""))
			}
			if reg == asm.R4 {
				b.major = n
			} else {
				b.minor = n
			}
		}
		mode := ""
		if same(peek(), asm.Mov.Reg32(asm.R1, asm.R3)) {
			next()
			and := next()
			if !same(and, asm.And.Imm32(asm.R1, 0)) {
				t.Fatalf("block %d: %v, want an and of the access", i, and)
			}
			switch ins := peek(); {
			case same(ins, asm.JNE.Imm(asm.R1, 0, "")) && ins.Constant == 0:
				mode, b.access = "subset", int32(^and.Constant)&bpfAccAll
			case same(ins, asm.JEq.Imm(asm.R1, 0, "")) && ins.Constant == 0:
				mode, b.access = "overlap", int32(and.Constant)
			default:
				t.Fatalf("block %d: %v after the access mask", i, ins)
			}
			jump(ins(peek()))
		}
		v := next()
		if !same(v, asm.Mov.Imm32(asm.R0, 0)) || (v.Constant != 0 && v.Constant != 1) {
			t.Fatalf("block %d: %v, want the verdict", i, v)
		}
		b.allow = v.Constant == 1
		if ret := next(); ret.OpCode != asm.Return().OpCode {
			t.Fatalf("block %d does not exit after its verdict", i)
		}
		// An allow block must cover the request, a deny block overlap it.
		if (mode == "subset" && !b.allow) || (mode == "overlap" && b.allow) {
			t.Fatalf("block %d: %s test on a %v block", i, mode, b.allow)
		}
		blocks = append(blocks, b)
	}
}

func ins(i asm.Instruction) asm.Instruction { return i }

// run is what the decoded table decides for a device and access, with the
// program's semantics.
func run(blocks []block, defaultAllow bool, typ int32, major, minor int64, access int32) bool {
	for _, b := range blocks {
		if b.typ != typ || (b.major != cgroups.DeviceWildcard && b.major != major) || (b.minor != cgroups.DeviceWildcard && b.minor != minor) {
			continue
		}
		if b.allow && access&^b.access != 0 {
			continue
		}
		if !b.allow && access&b.access == 0 {
			continue
		}
		return b.allow
	}
	return defaultAllow
}

func TestDeviceProgramTable(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	d, err := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{
		devRule(false, "a", nil, nil, "rwm"),
		devRule(true, "c", n(10), n(229), "rw"),
		devRule(true, "b", n(8), nil, "r"),
	}, []specs.LinuxDevice{{Path: "/dev/kvm", Type: "c", Major: 10, Minor: 232}})
	if err != nil {
		t.Fatal(err)
	}
	blocks, def := deviceTable(d)
	if def {
		t.Fatal("a deny-all list compiled to allow by default")
	}
	W := int64(cgroups.DeviceWildcard)
	const c, b, r, w, m, all = bpfDevChar, bpfDevBlock, bpfAccRead, bpfAccWrite, bpfAccMknod, bpfAccAll
	want := []block{
		{b, W, W, m, true}, {c, W, W, m, true}, // mknod of anything
		{c, 1, 3, all, true}, {c, 1, 5, all, true}, {c, 1, 7, all, true}, {c, 1, 8, all, true}, {c, 1, 9, all, true},
		{c, 5, 0, all, true}, {c, 5, 2, all, true},
		{b, 8, W, r, true},
		{c, 10, 200, all, true}, {c, 10, 229, r | w, true}, {c, 10, 232, all, true},
		{c, 136, W, all, true},
	}
	if !reflect.DeepEqual(blocks, want) {
		t.Errorf("table:\n got %v\nwant %v", blocks, want)
	}
	got, gotDef := decode(t, deviceProgram(blocks, def))
	if !reflect.DeepEqual(got, want) || gotDef != def {
		t.Errorf("the program encodes\n %v (default %v)\nnot the table\n %v", got, gotDef, want)
	}
}

func TestDeviceProgramDenyOverlaps(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	// Allow-all, then no writing to 5:1: an open for reading and writing
	// asks for both at once, and must be refused as v1 refuses it.
	d, err := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{
		devRule(true, "a", nil, nil, "rwm"),
		devRule(false, "c", n(5), n(1), "w"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blocks, def := decode(t, deviceProgram(deviceTable(d)))
	for _, tc := range []struct {
		access int32
		want   bool
	}{{bpfAccRead, true}, {bpfAccWrite, false}, {bpfAccRead | bpfAccWrite, false}, {bpfAccMknod, true}} {
		if got := run(blocks, def, bpfDevChar, 5, 1, tc.access); got != tc.want {
			t.Errorf("access %d to c 5:1: %v, want %v", tc.access, got, tc.want)
		}
	}
	if !run(blocks, def, bpfDevChar, 5, 2, bpfAccWrite) {
		t.Errorf("another device is refused")
	}
}

func TestDeviceProgramHugeNumbers(t *testing.T) {
	// The u32 register against a sign-extended s32 immediate would never
	// match 1<<31; the program loads such a number whole.
	blocks := []block{{bpfDevChar, 1 << 31, 1<<32 - 1, bpfAccAll, true}}
	got, def := decode(t, deviceProgram(blocks, false))
	if !reflect.DeepEqual(got, blocks) || def {
		t.Errorf("decoded %v, %v", got, def)
	}
}

// Many rule lists: what the program decides for every device and access
// must be what the merged rules (the v1 kernel's semantics, which v1's
// tests check rule by rule) decide.
func TestDeviceProgramMatchesRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	i64 := func(v int64) *int64 { return &v }
	majors := []*int64{nil, i64(1), i64(5), i64(136), i64(8)}
	minors := []*int64{nil, i64(3), i64(0), i64(2)}
	types := []string{"a", "b", "c", "c", "c"}
	accesses := []string{"r", "w", "m", "rw", "rm", "wm", "rwm"}
	hull := map[int32]cgroups.DeviceAccess{bpfAccRead: cgroups.DeviceRead, bpfAccWrite: cgroups.DeviceWrite, bpfAccMknod: cgroups.DeviceMknod}
	checked := 0
	for range 3000 {
		var rules []specs.LinuxDeviceCgroup
		for range rng.IntN(6) {
			rules = append(rules, devRule(rng.IntN(2) == 0, types[rng.IntN(len(types))], majors[rng.IntN(len(majors))], minors[rng.IntN(len(minors))], accesses[rng.IntN(len(accesses))]))
		}
		var extra []specs.LinuxDevice
		if rng.IntN(3) == 0 {
			extra = append(extra, specs.LinuxDevice{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0})
		}
		d, err := cgroups.MergeDeviceRules(rules, extra)
		if err != nil {
			continue // carve-outs v1 cannot express; tested in v1
		}
		checked++
		blocks, def := decode(t, deviceProgram(deviceTable(d)))
		for _, typ := range []byte{'b', 'c'} {
			for _, major := range []int64{1, 5, 8, 10, 136, 200} {
				for _, minor := range []int64{0, 2, 3, 200} {
					for acc := int32(1); acc <= bpfAccAll; acc++ {
						var ha cgroups.DeviceAccess
						for bit, h := range hull {
							if acc&bit != 0 {
								ha |= h
							}
						}
						got := run(blocks, def, bpfType(typ), major, minor, acc)
						if want := d.Allows(typ, major, minor, ha); got != want {
							t.Fatalf("rules %+v: %c %d:%d %s: program %v, rules %v", rules, typ, major, minor, ha, got, want)
						}
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Errorf("only %d rule lists were accepted; the test checks too little", checked)
	}
}

// The kernel's verifier accepts the program (loaded, never attached: no
// cgroup is touched). It needs CAP_SYS_ADMIN (or CAP_BPF), so it is
// skipped without.
func TestDeviceProgramLoads(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading a BPF program needs root")
	}
	d, err := cgroups.MergeDeviceRules([]specs.LinuxDeviceCgroup{devRule(true, "a", nil, nil, "rwm"), devRule(false, "c", ptr[int64](5), ptr[int64](1), "w")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, insts := range []asm.Instructions{
		deviceProgram(deviceTable(d)),
		deviceProgram([]block{{bpfDevChar, 1 << 31, 3, bpfAccRead, true}}, false),
	} {
		prog, err := loadDeviceProgram(insts)
		if errors.Is(err, os.ErrPermission) {
			t.Skipf("the kernel refuses BPF programs here: %v", err)
		}
		if err != nil {
			t.Fatalf("the verifier refuses the program: %v\n%v", err, insts)
		}
		info, err := prog.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Name != progName {
			t.Errorf("program name %q, want %q: the next Set would not find it", info.Name, progName)
		}
		prog.Close()
	}
}

func TestBPFAccess(t *testing.T) {
	for s, want := range map[string]int32{"r": 2, "w": 4, "m": 1, "rwm": 7, "rm": 3} {
		a, _ := cgroups.ParseDeviceAccess(s)
		if got := bpfAccess(a); got != want {
			t.Errorf("bpfAccess(%s) = %d, want %d", s, got, want)
		}
	}
	if fmt.Sprint(bpfType('b'), bpfType('c')) != "1 2" {
		t.Errorf("device types: BPF_DEVCG_DEV_BLOCK is 1, _CHAR 2")
	}
}

package tests

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// ps --format json lists the container's processes (containerd's shim
// calls it so); the table form is ps(1) filtered to them.
func TestPs(t *testing.T) {
	b, st := startedContainer(t)
	mustRun(t, "exec", "--detach", b.id, "sleep", "3600")
	var pids []int
	if err := json.Unmarshal([]byte(mustRun(t, "ps", "--format", "json", b.id)), &pids); err != nil {
		t.Fatalf("ps --format json: %v", err)
	}
	if len(pids) != 2 || (pids[0] != st.Pid && pids[1] != st.Pid) {
		t.Fatalf("ps --format json = %v, want the init %d and the exec'd sleep", pids, st.Pid)
	}
	// The PID column is where the header says: procps' ps -ef has UID
	// first, busybox's ps (the VM's) PID.
	table := lines(mustRun(t, "ps", b.id))
	if len(table) != 3 {
		t.Fatalf("ps table = %q, want a header and two lines", table)
	}
	col := slices.Index(strings.Fields(table[0]), "PID")
	if col < 0 {
		t.Fatalf("ps table header %q has no PID column", table[0])
	}
	var shown []int
	for _, row := range table[1:] {
		f := strings.Fields(row)
		if len(f) <= col {
			t.Fatalf("ps table row %q has no PID column", row)
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil {
			t.Fatalf("ps table row %q: PID column %q: %v", row, f[col], err)
		}
		shown = append(shown, pid)
	}
	slices.Sort(shown)
	slices.Sort(pids)
	if !slices.Equal(shown, pids) {
		t.Errorf("ps table shows pids %v, want those of ps --format json %v: %q", shown, pids, table)
	}
}

// events --stats prints one JSON stats event from the container's cgroup.
func TestEventsStats(t *testing.T) {
	b, _ := startedContainer(t)
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
			Memory struct {
				Usage struct {
					Usage uint64 `json:"usage"`
				} `json:"usage"`
			} `json:"memory"`
		} `json:"data"`
	}
	out := mustRun(t, "events", "--stats", b.id)
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("events --stats: %v: %q", err, out)
	}
	if ev.Type != "stats" || ev.ID != b.id || ev.Data.Pids.Current != 1 || ev.Data.Memory.Usage.Usage == 0 {
		t.Fatalf("events --stats = %+v, want type stats, id %s, 1 pid, some memory", ev, b.id)
	}
}

package tests

import (
	"encoding/json"
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
	table := lines(mustRun(t, "ps", b.id))
	if len(table) != 3 || !strings.Contains(table[0], "PID") {
		t.Fatalf("ps table = %q, want a header and two lines", table)
	}
	if !strings.Contains(strings.Join(table, "\n"), " "+strconv.Itoa(st.Pid)+" ") {
		t.Errorf("ps table does not show the init %d: %q", st.Pid, table)
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

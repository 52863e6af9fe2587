package tests

import (
	"bufio"
	"context"
	"encoding/json"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
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

// events (streaming) reports an "oom" event when the OOM killer ends a
// process of the container, as runc does.
func TestEventsOOM(t *testing.T) {
	requireController(t, "memory")
	b := newBundle(t, "sleep", "3600")
	b.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: ptr[int64](32 << 20), Swap: ptr[int64](32 << 20)}
	b.start()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := runtimeCommand(ctx, "events", "--interval", "50ms", b.id)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
	}()
	events := make(chan string)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var ev struct{ Type string }
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				continue
			}
			select {
			case events <- ev.Type:
			case <-ctx.Done():
				return
			}
		}
	}()
	waitFor := func(typ string) {
		t.Helper()
		timeout := time.After(waitTimeout)
		for {
			select {
			case got, ok := <-events:
				if !ok {
					t.Fatalf("events ended before a %q event", typ)
				}
				if got == typ {
					return
				}
			case <-timeout:
				t.Fatalf("no %q event within %s", typ, waitTimeout)
			}
		}
	}
	waitFor("stats")
	hog := `awk 'BEGIN { s = "x"; while (length(s) < 100000000) s = s s }'`
	if _, _, code := run(t, "exec", b.id, "sh", "-c", hog); code != 137 {
		t.Fatalf("the memory hog: exit %d, want 137 (OOM-killed)", code)
	}
	waitFor("oom")
}

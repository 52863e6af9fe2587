package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// With --log F --log-format json a failure ends the log with a JSON error
// line, which containerd reads to build the error it reports (design §2).
func TestLogJSONError(t *testing.T) {
	b := newBundle(t, "no-such-program")
	b.write()
	logFile := filepath.Join(b.dir, "log.json")
	mustFail(t, "--log", logFile, "--log-format", "json", "create", "--bundle", b.dir, b.id)

	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	all := lines(string(data))
	if len(all) == 0 {
		t.Fatal("log file is empty")
	}
	for _, l := range all {
		if !json.Valid([]byte(l)) {
			t.Errorf("log line is not JSON: %q", l)
		}
	}
	var last struct {
		Level string `json:"level"`
		Msg   string `json:"msg"`
		Time  string `json:"time"`
	}
	if err := json.Unmarshal([]byte(all[len(all)-1]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Level != "error" || last.Msg == "" {
		t.Errorf("last log line %q: want level error and a msg", all[len(all)-1])
	}
	if _, err := time.Parse(time.RFC3339, last.Time); err != nil {
		t.Errorf("last log line's time %q is not RFC3339: %v", last.Time, err)
	}
}

package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestValidateID(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", "../x", ".hidden", "a\x00b"} {
		if ValidateID(bad) == nil {
			t.Errorf("ValidateID(%q) accepted", bad)
		}
	}
	for _, good := range []string{"a", "c1", "my-container_1.2", "0123456789abcdef"} {
		if err := ValidateID(good); err != nil {
			t.Errorf("ValidateID(%q): %v", good, err)
		}
	}
}

func TestCreateTwiceAndOpenMissing(t *testing.T) {
	root := t.TempDir()
	d, err := Create(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := Create(root, "c1"); err == nil {
		t.Fatal("second Create of the same id succeeded")
	}
	if _, err := Open(root, "nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Open of a missing id: %v, want ErrNotExist", err)
	}
	if _, err := Peek(root, "nope"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Peek of a missing id: %v, want ErrNotExist", err)
	}
}

func TestSaveLoadAndStatus(t *testing.T) {
	root := t.TempDir()
	d, err := Create(root, "c1")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s, err := d.Load()
	if err != nil || s.ID != "c1" || s.Pid != 0 {
		t.Fatalf("Load before Save = %+v, %v", s, err)
	}
	if got := d.Status(s); got != Stopped {
		t.Fatalf("status with no pid = %s, want stopped", got)
	}
	s.Pid = os.Getpid()
	s.PidStart = 1 // not our start time: a recycled pid
	s.Bundle = "/b"
	if err := d.Save(s); err != nil {
		t.Fatal(err)
	}
	s2, err := d.Load()
	if err != nil || s2.Bundle != "/b" || s2.Pid != os.Getpid() {
		t.Fatalf("Load after Save = %+v, %v", s2, err)
	}
	if got := d.Status(s2); got != Stopped {
		t.Fatalf("status of a recycled pid = %s, want stopped", got)
	}
	if err := os.WriteFile(filepath.Join(d.Path, stateFile), []byte("{trunc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Load(); err == nil {
		t.Fatal("Load of a truncated state.json succeeded")
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := List(root); len(ids) != 0 {
		t.Fatalf("List after Remove = %v", ids)
	}
}

package proc

import (
	"errors"
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	line := "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100\n"
	got, err := parseStat([]byte(line))
	if err != nil || got != 987654 {
		t.Fatalf("parseStat = %d, %v; want 987654", got, err)
	}
	zombie := "1234 (sh) Z 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100\n"
	if _, err := parseStat([]byte(zombie)); !errors.Is(err, ErrGone) {
		t.Fatalf("zombie: err = %v, want ErrGone", err)
	}
	if _, err := parseStat([]byte("garbage")); err == nil {
		t.Fatal("garbage: no error")
	}
}

func TestSelfIsAliveAndOthersAreNot(t *testing.T) {
	start, err := StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !Alive(os.Getpid(), start) {
		t.Fatal("own process not alive")
	}
	if Alive(os.Getpid(), start+1) {
		t.Fatal("a different start time must not count as the same process")
	}
	if _, err := Open(os.Getpid(), start+1); !errors.Is(err, ErrGone) {
		t.Fatalf("Open with wrong start time: %v, want ErrGone", err)
	}
}

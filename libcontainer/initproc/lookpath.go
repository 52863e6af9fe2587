package initproc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// lookPath finds args[0] in the container the way execvp would, with the
// PATH of process.env, and words its errors as Go's os/exec (and so runc)
// does: engines map "executable file not found in $PATH" and "no such file
// or directory" to exit status 127, "permission denied" to 126.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := executable(file); err != nil {
			return "", fmt.Errorf("exec: %q: %w", file, err)
		}
		return file, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	var firstErr error
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		err := executable(p)
		if err == nil {
			return p, nil
		}
		if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", fmt.Errorf("exec: %q: %w", file, firstErr)
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("stat %s: is a directory: permission denied", path)
	}
	// access(2) checks the real uid: the process's own user by now.
	if err := unix.Access(path, unix.X_OK); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	return nil
}

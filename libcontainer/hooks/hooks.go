// Package hooks runs the runtime-spec lifecycle hooks: each gets the
// container's state JSON on stdin, is bounded by its timeout, and a failure
// names the hook by its place in config.json.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultTimeout bounds a hook without a timeout of its own: a hook that
// never returns must not hang create, start or delete forever.
const defaultTimeout = 2 * time.Minute

// Run runs the hooks of one kind (field names it, e.g. "hooks.prestart")
// in order, stopping at the first failure.
func Run(field string, list []specs.Hook, st specs.State) error {
	if len(list) == 0 {
		return nil
	}
	in, err := json.Marshal(st)
	if err != nil {
		return err
	}
	for i, h := range list {
		if err := run(h, in); err != nil {
			return fmt.Errorf("%s[%d] %s: %w", field, i, h.Path, err)
		}
	}
	return nil
}

// RunAll runs every hook even if some fail and reports the first failure:
// poststop hooks clean up, and one failing must not keep the others from
// running (the spec says to log and continue).
func RunAll(field string, list []specs.Hook, st specs.State) error {
	in, err := json.Marshal(st)
	if err != nil {
		return err
	}
	var first error
	for i, h := range list {
		if err := run(h, in); err != nil && first == nil {
			first = fmt.Errorf("%s[%d] %s: %w", field, i, h.Path, err)
		}
	}
	return first
}

func run(h specs.Hook, stdin []byte) error {
	timeout := defaultTimeout
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		timeout = time.Duration(*h.Timeout) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := h.Args
	if len(args) == 0 {
		args = []string{h.Path}
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = args
	cmd.Env = h.Env
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// A hook's children may keep its pipes open; do not wait for them.
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %s", timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, strings.ReplaceAll(msg, "\n", " "))
		}
		return err
	}
	return nil
}

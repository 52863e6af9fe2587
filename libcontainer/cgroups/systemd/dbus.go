package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// Every D-Bus exchange is bounded (design §11 item 5: runc hung checking
// for systemd, runc#1959, and a flood of starts made D-Bus unresponsive,
// runc#4853): a slow systemd is an error that says so, never a hang. The
// bounds are generous because systemd on a loaded host, or under
// emulation, is slow.
const (
	dialTimeout = 10 * time.Second
	callTimeout = 15 * time.Second
	// jobTimeout bounds the wait for a start or stop job to finish.
	jobTimeout = 30 * time.Second
)

// The connection is made once per command, on first use (a command that
// only reads the cgroup, like state or pause, never makes one), and lives
// as long as the process.
var bus struct {
	sync.Mutex
	conn    *sd.Conn
	version int
}

// connect returns the command's connection to systemd. As root it talks to
// systemd directly on its private socket, as systemctl does, without the
// D-Bus daemon in between; else, or if that fails, over the system bus.
func connect() (*sd.Conn, error) {
	bus.Lock()
	defer bus.Unlock()
	if bus.conn != nil && bus.conn.Connected() {
		return bus.conn, nil
	}
	// godbus closes a connection when the context it was made with ends,
	// so the bound is a cancel on a timer, stopped once connected: the
	// context stays alive with the connection.
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(dialTimeout, cancel)
	var conn *sd.Conn
	var err error
	if os.Geteuid() == 0 {
		conn, err = sd.NewSystemdConnectionContext(ctx)
	}
	if conn == nil && ctx.Err() == nil {
		var berr error
		conn, berr = sd.NewSystemConnectionContext(ctx)
		if err == nil || berr == nil {
			err = berr
		} else {
			err = fmt.Errorf("%w; the system bus: %w", err, berr)
		}
	}
	if !timer.Stop() {
		if conn != nil {
			conn.Close()
		}
		return nil, fmt.Errorf("connect to systemd over D-Bus: no answer within %s", dialTimeout)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect to systemd over D-Bus (/run/systemd/private as root, else the system bus): %w", err)
	}
	bus.conn = conn
	return conn, nil
}

// call runs one D-Bus exchange with the command's connection, bounded by
// callTimeout.
func call(what string, f func(ctx context.Context, c *sd.Conn) error) error {
	c, err := connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	err = f(ctx, c)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: systemd did not answer within %s", what, callTimeout)
	}
	return err
}

// systemdVersion is the version of the systemd hull talks to ("252" of
// "252.36-1~deb12u1"), asked once per command.
func systemdVersion() (int, error) {
	bus.Lock()
	v := bus.version
	bus.Unlock()
	if v != 0 {
		return v, nil
	}
	var s string
	err := call("ask systemd its version", func(ctx context.Context, c *sd.Conn) error {
		var err error
		s, err = c.GetManagerProperty("Version")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ask systemd its version over D-Bus: %w", err)
	}
	v, err = parseVersion(s)
	if err != nil {
		return 0, err
	}
	bus.Lock()
	bus.version = v
	bus.Unlock()
	return v, nil
}

// parseVersion reads the leading number of systemd's version string
// (quoted, maybe with a "v": "\"v245.4-1.fc32\"" is 245).
func parseVersion(s string) (int, error) {
	t := strings.TrimLeft(s, `"v`)
	end := 0
	for end < len(t) && t[end] >= '0' && t[end] <= '9' {
		end++
	}
	v, err := strconv.Atoi(t[:end])
	if err != nil {
		return 0, fmt.Errorf("systemd's version %q has no number", s)
	}
	return v, nil
}

func isDBusError(err error, name string) bool {
	var e dbus.Error
	return errors.As(err, &e) && e.Name == name
}

func noSuchUnit(err error) bool {
	return isDBusError(err, "org.freedesktop.systemd1.NoSuchUnit")
}

// waitJob waits, bounded, for the result of a job systemd queued.
func waitJob(ch <-chan string) (string, error) {
	t := time.NewTimer(jobTimeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r, nil
	case <-t.C:
		return "", fmt.Errorf("the job did not finish within %s", jobTimeout)
	}
}

// startUnit creates the transient unit and waits for its start job. A
// unit of that name left failed by an earlier container is reset and the
// start tried once more; an active one belongs to another container.
func startUnit(unit string, props []sd.Property) error {
	ch := make(chan string, 1)
	start := func() error {
		return call("start "+unit, func(ctx context.Context, c *sd.Conn) error {
			_, err := c.StartTransientUnitContext(ctx, unit, "replace", props, ch)
			return err
		})
	}
	err := start()
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		resetFailed(unit)
		err = start()
	}
	if isDBusError(err, "org.freedesktop.systemd1.UnitExists") {
		return fmt.Errorf("linux.cgroupsPath: the systemd unit %s exists already, probably another container's: give this one another name", unit)
	}
	if err != nil {
		return fmt.Errorf("start the systemd scope %s: %w", unit, err)
	}
	res, err := waitJob(ch)
	if err != nil {
		return fmt.Errorf("start the systemd scope %s: %w", unit, err)
	}
	if res != "done" {
		resetFailed(unit)
		return fmt.Errorf("start the systemd scope %s: systemd's start job ended %q, not \"done\" (journalctl -u %s may say why)", unit, res, unit)
	}
	return nil
}

// stopUnit stops the unit, waits for the stop job, and resets it if it
// failed, so that systemd forgets it: nothing is left, not even a failed
// unit. A unit systemd already removed (its scope emptied) is fine.
func stopUnit(unit string) error {
	ch := make(chan string, 1)
	err := call("stop "+unit, func(ctx context.Context, c *sd.Conn) error {
		_, err := c.StopUnitContext(ctx, unit, "replace", ch)
		return err
	})
	switch {
	case noSuchUnit(err):
		return nil
	case err != nil:
		return fmt.Errorf("stop the systemd scope %s: %w", unit, err)
	}
	// A stop job that ends otherwise than "done" (a failed unit) still
	// leaves it stopped; reset-failed removes what is left of it.
	if _, err := waitJob(ch); err != nil {
		return fmt.Errorf("stop the systemd scope %s: %w", unit, err)
	}
	if err := resetFailed(unit); err != nil {
		return fmt.Errorf("reset the failed systemd scope %s: %w", unit, err)
	}
	return nil
}

// resetFailed makes systemd forget a failed unit; one it does not know is
// fine.
func resetFailed(unit string) error {
	err := call("reset-failed "+unit, func(ctx context.Context, c *sd.Conn) error {
		return c.ResetFailedUnitContext(ctx, unit)
	})
	if noSuchUnit(err) {
		return nil
	}
	return err
}

// setProps changes properties of the running unit, at runtime only (not
// kept across a reboot: the unit is transient anyway).
func setProps(unit string, props []sd.Property) error {
	if len(props) == 0 {
		return nil
	}
	err := call("set the properties of "+unit, func(ctx context.Context, c *sd.Conn) error {
		return c.SetUnitPropertiesContext(ctx, unit, true, props...)
	})
	if noSuchUnit(err) {
		return fmt.Errorf("set the properties of the systemd scope %s: systemd has no such unit (the container stopped, and systemd removed its emptied scope?)", unit)
	}
	if err != nil {
		return fmt.Errorf("set the properties of the systemd scope %s: %w", unit, err)
	}
	return nil
}

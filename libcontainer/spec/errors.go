package spec

import (
	"fmt"
	"strconv"
)

// FieldError is a problem with one field of config.json. Its message is one
// line, "config.json: <field>: <what is wrong and what to do>", because
// engines show only the last error line to their users.
type FieldError struct {
	// Field is the JSON path of the field, e.g. "mounts[3].destination";
	// empty when the problem is with the file as a whole.
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return "config.json: " + e.Err.Error()
	}
	return "config.json: " + e.Field + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr builds a FieldError; format follows fmt.Errorf, so %w keeps the
// underlying error reachable with errors.Is/As.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// idx renders "name[i]" for field paths.
func idx(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}

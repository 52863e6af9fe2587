// Package nsenter links in the constructor (nsenter.c) that joins existing
// namespaces before the Go runtime starts. Importing it is all it takes; the
// constructor does nothing unless the parent set _HULL_SETNS.
package nsenter

// #cgo CFLAGS: -Wall -O2
import "C"

// Env is the environment variable the constructor reads: a comma-separated
// list of "fd:type" pairs, type being a runtime-spec namespace type.
const Env = "_HULL_SETNS"

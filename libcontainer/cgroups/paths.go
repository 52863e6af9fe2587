package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Record is what hull made for a container's cgroup, kept in state.json: it
// is written before the directories are made, so that delete can always
// find them, and it says which directories hull created, so that delete
// removes those and nothing else.
type Record struct {
	Layout Layout `json:"layout"`
	// Paths maps a hierarchy key to the container's cgroup directory in it.
	Paths map[string]string `json:"paths"`
	// Created maps a hierarchy key to the topmost directory hull created
	// for the container; absent when the container's directory existed.
	Created map[string]string `json:"created,omitempty"`
	// Systemd is set when systemd made the cgroup (--systemd-cgroup): a
	// transient scope unit, whose directories are Paths. Later commands
	// then go through the systemd driver, whatever flags they are given.
	Systemd *SystemdUnit `json:"systemd,omitempty"`
}

// SystemdUnit names the container's systemd scope and the slice it is in.
type SystemdUnit struct {
	Unit  string `json:"unit"`  // "prefix-name.scope"
	Slice string `json:"slice"` // "system.slice", "a-b.slice"
}

// Resolve places the container's cgroup in every hierarchy, as runc does:
// an absolute cgroupsPath under each hierarchy's root, a relative one under
// this process's own cgroup, an empty one as the id, relative.
func (h *Host) Resolve(cgroupsPath, id string) (*Record, error) {
	p := cgroupsPath
	if p == "" {
		p = id
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return nil, fmt.Errorf("linux.cgroupsPath %q: must not contain \"..\"", cgroupsPath)
		}
	}
	rec := &Record{Layout: h.Layout, Paths: map[string]string{}, Created: map[string]string{}}
	for _, hy := range h.Hierarchies {
		cg := p
		if !filepath.IsAbs(cg) {
			if hy.Own == "" {
				return nil, fmt.Errorf("linux.cgroupsPath %q: relative, but this process has no cgroup in the %s hierarchy to put it under: give an absolute path", cgroupsPath, hy.Key)
			}
			cg = filepath.Join(hy.Own, cg)
		}
		dir := hy.Dir(filepath.Clean(cg))
		if dir == "" {
			return nil, fmt.Errorf("linux.cgroupsPath %q: %s is not visible under the %s hierarchy mounted at %s", cgroupsPath, cg, hy.Key, hy.Mount)
		}
		if dir == hy.Mount {
			return nil, fmt.Errorf("linux.cgroupsPath %q: resolves to the root of the %s hierarchy: give the container a cgroup of its own", cgroupsPath, hy.Key)
		}
		rec.Paths[hy.Key] = dir
		top, err := firstMissing(dir, hy.Mount)
		if err != nil {
			return nil, fmt.Errorf("linux.cgroupsPath %q: %w", cgroupsPath, err)
		}
		if top != "" {
			rec.Created[hy.Key] = top
		}
	}
	return rec, nil
}

// firstMissing is the topmost missing directory on the way from mount down
// to dir, or "" if dir exists.
func firstMissing(dir, mount string) (string, error) {
	top := ""
	for d := dir; d != mount && strings.HasPrefix(d, mount+"/"); d = filepath.Dir(d) {
		_, err := os.Stat(d)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		top = d
	}
	return top, nil
}

// Key returns the key of the hierarchy in rec holding controller c, or "".
func (rec *Record) Key(c string) string {
	for k := range rec.Paths {
		if k == UnifiedKey {
			continue
		}
		for _, x := range strings.Split(k, ",") {
			if x == c {
				return k
			}
		}
	}
	return ""
}

// Dirs lists the directories of a hierarchy hull must remove on delete, deepest
// first: from the container's directory up to the topmost one hull created.
func (rec *Record) Dirs(key string) []string {
	top, ok := rec.Created[key]
	if !ok {
		return nil
	}
	var dirs []string
	for d := rec.Paths[key]; ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if d == top || !strings.HasPrefix(d, top) || d == "/" {
			break
		}
	}
	return dirs
}

package spec

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkVersion accepts any runtime-spec 1.x: minor versions only add
// optional fields, so a config written for a newer 1.x still runs, minus
// what hull does not know yet (reported as a warning).
func checkVersion(v string) (warning string, err error) {
	if v == "" {
		return "", fieldErr("ociVersion", "must be set: hull implements runtime-spec 1.x (1.0.0 up to %s); e.g. %q", specs.Version, specs.Version)
	}
	major, minor, perr := parseSemver(v)
	if perr != nil || major != specs.VersionMajor {
		e := fieldErr("ociVersion", "%q is not supported: hull implements runtime-spec 1.x (1.0.0 up to %s)", v, specs.Version)
		if perr != nil {
			e.(*FieldError).Err = fmt.Errorf("%w (%w)", e.(*FieldError).Err, perr)
		}
		return "", e
	}
	if minor > specs.VersionMinor {
		return fmt.Sprintf("ociVersion: %q is newer than the runtime-spec %s hull implements; fields added after %s are ignored", v, specs.Version, specs.Version), nil
	}
	return "", nil
}

// parseSemver returns the major and minor number of a SemVer 2.0.0 string
// ("1.2.3", "1.0.2-dev", "1.1.0-rc.1+build").
func parseSemver(v string) (major, minor int, err error) {
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		if i == len(core)-1 {
			return 0, 0, errors.New("empty pre-release or build suffix")
		}
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return 0, 0, errors.New("want MAJOR.MINOR.PATCH")
	}
	var nums [3]int
	for i, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') {
			return 0, 0, fmt.Errorf("bad number %q", p)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("bad number %q", p)
		}
		nums[i] = n
	}
	return nums[0], nums[1], nil
}

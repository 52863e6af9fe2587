package spec

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestVersionAcceptance(t *testing.T) {
	cases := []struct {
		version string
		ok      bool
		warn    bool
	}{
		{"1.0.0", true, false},
		{"1.0.1", true, false},
		{"1.0.2-dev", true, false},
		{"1.0.0-rc5", true, false},
		{"1.1.0", true, false},
		{"1.1.0-rc.1+build.5", true, false},
		{"1.2.0", true, false},
		{"1.2.1", true, false},
		{"1.3.0", true, false},
		{"1.3.7", true, false},
		{"1.4.0", true, true},
		{"1.12.0", true, true},
		{"2.0.0", false, false},
		{"0.6.0", false, false},
		{"1.0", false, false},
		{"1", false, false},
		{"v1.0.0", false, false},
		{"1.0.0-", false, false},
		{"01.0.0", false, false},
		{"1.x.0", false, false},
		{"1..0", false, false},
		{"", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.version, func(t *testing.T) {
			s := Default(false)
			s.Version = tc.version
			p, err := FromSpec(s, newBundle(t))
			if !tc.ok {
				wantFieldErr(t, err, "ociVersion", "hull implements runtime-spec 1.x (1.0.0 up to "+specs.Version+")")
				return
			}
			if err != nil {
				t.Fatalf("want %q accepted, got %v", tc.version, err)
			}
			if got := hasWarning(p, "ociVersion"); got != tc.warn {
				t.Errorf("warning = %v, want %v (%q)", got, tc.warn, p.Warnings)
			}
		})
	}
}

func TestVersionMessage(t *testing.T) {
	s := Default(false)
	s.Version = "2.0.0"
	_, err := FromSpec(s, newBundle(t))
	want := `config.json: ociVersion: "2.0.0" is not supported: hull implements runtime-spec 1.x (1.0.0 up to 1.3.0)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	s.Version = "abc"
	_, err = FromSpec(s, newBundle(t))
	if err == nil || !strings.HasPrefix(err.Error(), `config.json: ociVersion: "abc" is not supported`) {
		t.Errorf("unparsable version: %v", err)
	}
}

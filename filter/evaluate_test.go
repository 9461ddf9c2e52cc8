package filter

import (
	"testing"

	"github.com/corswasm/corswasm/internal/fetch"
)

// checkMethodByList is checkMethod without methodBit: the method must be a
// token, and safelisted, allowed by "*" or listed.
func checkMethodByList(p *policy, m string) Reason {
	switch {
	case !fetch.IsToken(m):
		return ReasonMethodInvalid
	case fetch.IsSafelistedMethod(m), p.anyMethod, contains(p.methods, m):
		return ReasonAllowed
	}
	return ReasonMethodNotAllowed
}

func TestCheckMethodAgreesWithTheListOfMethods(t *testing.T) {
	methods := []string{
		"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OPTIONX", "XPTIONS", "OPTiONS",
		"get", "Put", "patch", "PUTS", "PU", "GETT", "POSTS", "DELETED", "OPTION",
		"PROPFIND", "CONNECT", "TRACE", "", "P T", "PUT\x00", "Ü",
	}
	for _, allow := range []string{
		`[]`, `["PUT"]`, `["put", "patch"]`, `["GET", "POST", "PUT", "DELETE"]`,
		`["OPTIONS", "PROPFIND"]`, `["*"]`, `["Patch", "delete", "options"]`,
	} {
		cfg := mustParse(t, `{"allowOrigins": ["https://a.example"], "allowMethods": `+allow+`}`)
		p := cfg.policies[0]
		for _, m := range methods {
			want := checkMethodByList(p, m)
			got, detail := p.checkMethod(m)
			if got != want {
				t.Errorf("allowMethods %s, method %q: %v, want %v", allow, m, got, want)
			}
			if wantDetail := m; got == ReasonAllowed && detail != "" || got != ReasonAllowed && detail != wantDetail {
				t.Errorf("allowMethods %s, method %q: detail %q with %v", allow, m, detail, got)
			}
		}
	}
}

func TestIsOptions(t *testing.T) {
	for _, tc := range []struct {
		m    string
		want bool
	}{
		{"OPTIONS", true}, {"options", false}, {"OPTION", false}, {"OPTIONSS", false},
		{"XPTIONS", false}, {"OPTIONX", false}, {"OPTXONS", false}, {"", false},
	} {
		if got := isOptions(tc.m); got != tc.want {
			t.Errorf("isOptions(%q) = %v, want %v", tc.m, got, tc.want)
		}
	}
}

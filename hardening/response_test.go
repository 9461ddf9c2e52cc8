//go:build !wasip1

package hardening

import (
	"slices"
	"strconv"
	"testing"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// TestActualResponseLines checks, on the release module, how the plugin
// writes an allowed actual request's response: when no line of the
// upstream's must go, it adds its lines one by one
// (proxy_add_header_map_value) and every upstream line stays as it was,
// vary lines included; otherwise it writes the whole map back
// (proxy_set_header_map_pairs). The SDK's emulator (e2e) joins an added
// value to an existing line, so these cases live here.
func TestActualResponseLines(t *testing.T) {
	vm, p := startPlugin(t, releaseWasm(t), wasmhost.Options{}, testConfig)
	ours := []string{"access-control-allow-origin", app, "access-control-allow-credentials", "true", "access-control-expose-headers", "x-request-id"}
	for _, tt := range []struct {
		name     string
		upstream wasmhost.Headers
		want     wasmhost.Headers
		calls    string // the response side's header map writes
	}{
		{"an upstream without CORS or vary lines gets the plugin's lines added",
			wasmhost.NewHeaders(":status", "200", "content-type", "text/html"),
			wasmhost.NewHeaders(append([]string{":status", "200", "content-type", "text/html"}, append(ours, "vary", "origin")...)...),
			"add 4"},
		{"every upstream vary line is kept, and origin is a line of its own",
			wasmhost.NewHeaders("vary", "accept-encoding", "content-type", "text/html", "vary", "accept-language"),
			wasmhost.NewHeaders(append([]string{"vary", "accept-encoding", "content-type", "text/html", "vary", "accept-language"}, append(ours, "vary", "origin")...)...),
			"add 4"},
		{"an upstream vary naming origin gets no second one",
			wasmhost.NewHeaders(":status", "200", "vary", "Accept-Encoding, Origin"),
			wasmhost.NewHeaders(append([]string{":status", "200", "vary", "Accept-Encoding, Origin"}, ours...)...),
			"add 3"},
		{"an upstream's CORS lines are replaced: the map is written back",
			wasmhost.NewHeaders(":status", "200", "access-control-allow-origin", "*", "vary", "accept-encoding"),
			wasmhost.NewHeaders(append([]string{":status", "200", "vary", "accept-encoding"}, append(ours, "vary", "origin")...)...),
			"set 1"},
		{"an empty upstream vary line is filled in: the map is written back",
			wasmhost.NewHeaders(":status", "200", "vary", ""),
			wasmhost.NewHeaders(append([]string{":status", "200", "vary", "origin"}, ours...)...),
			"set 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vm.ResetCalls()
			x := do(t, p, actual(app), tt.upstream)
			if !slices.Equal(x.Response, tt.want) {
				t.Errorf("response\n  %v\nwant\n  %v", x.Response, tt.want)
			}
			resp := vm.Calls().Response
			var got string
			switch {
			case resp["proxy_add_header_map_value"] > 0 && resp["proxy_set_header_map_pairs"] == 0:
				got = "add " + strconv.Itoa(resp["proxy_add_header_map_value"])
			case resp["proxy_set_header_map_pairs"] > 0 && resp["proxy_add_header_map_value"] == 0:
				got = "set " + strconv.Itoa(resp["proxy_set_header_map_pairs"])
			default:
				got = resp.String()
			}
			if got != tt.calls {
				t.Errorf("response-side writes %q, want %q (%v)", got, tt.calls, resp)
			}
		})
	}
}

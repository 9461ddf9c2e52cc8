//go:build !wasip1

package bench

import (
	"strings"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmhost"
)

// The scenarios, policies and requests are those of the engine benchmarks
// (filter/bench_test.go), so that the engine and module tables line up.

// The policies, testmodule.BenchPolicy and testmodule.LargePolicy, are the
// engine benchmarks' benchPolicy and largePolicy.
var (
	smallPolicy = testmodule.BenchPolicy
	largePolicy = testmodule.LargePolicy
)

// upstream is the upstream's response to requests that reach it.
var upstream = wasmhost.NewHeaders(":status", "200", "content-type", "application/json")

type scenario struct {
	name    string
	large   bool // under largePolicy, else smallPolicy
	request wasmhost.Headers

	// What the plugin must do, checked before a scenario is measured: the
	// status of its local reply (0: none, the request reaches the upstream)
	// and the access-control-allow-origin of the response ("": none).
	wantLocal int
	wantACAO  string
}

// req builds request headers as the engine benchmarks do: method,
// authority, path, then name-value pairs.
func req(method string, pairs ...string) wasmhost.Headers {
	return wasmhost.NewHeaders(append([]string{":method", method, ":authority", "api.example.com", ":path", "/things"}, pairs...)...)
}

func preflight(origin, method string, pairs ...string) wasmhost.Headers {
	return req("OPTIONS", append([]string{"origin", origin, "access-control-request-method", method}, pairs...)...)
}

var scenarios = []scenario{
	{"no origin", false, req("GET"), 0, ""},
	{"allowed actual", false, req("GET", "origin", "https://app.example.com"), 0, "https://app.example.com"},
	{"denied actual", false, req("GET", "origin", "https://evil.net"), 0, ""},
	{"allowed preflight", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization"), 204, "https://app.example.com"},
	{"denied preflight", false, preflight("https://evil.net", "PUT"), 403, ""},
	{"large policy preflight", true, preflight("https://pr-7.preview4.example.com", "PUT", "access-control-request-headers", "content-type"), 204, "https://pr-7.preview4.example.com"},
	{"4 KiB request headers", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", strings.Repeat("content-type,", 315)), 204, "https://app.example.com"},
	// A preflight as Chrome sends it: the allowed preflight's lines among
	// nine the engine does not read (filter/bench_test.go's).
	{"browser preflight", false, preflight("https://app.example.com", "PUT", "access-control-request-headers", "content-type,authorization",
		"accept", "*/*", "accept-encoding", "gzip, deflate, br, zstd", "accept-language", "en-US,en;q=0.9",
		"priority", "u=1, i", "referer", "https://app.example.com/", "sec-fetch-dest", "empty", "sec-fetch-mode", "cors",
		"sec-fetch-site", "same-site", "user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"), 204, "https://app.example.com"},
}

func (s scenario) policy() string {
	if s.large {
		return largePolicy()
	}
	return smallPolicy
}

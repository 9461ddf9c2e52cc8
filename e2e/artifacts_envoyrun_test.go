package e2e

// A run of envoy.yaml in a real Envoy, when an `envoy` binary (1.33 or
// newer) is on PATH; otherwise the test says so and skips. It builds
// plugin.wasm into a temporary directory, starts Envoy with envoy.yaml
// (module path and ports rewritten, so that it runs beside a `make run` or
// another Envoy), a Go upstream, and checks the CORS headers of a preflight
// and of actual requests, and the plugin's counters. Bounded to two minutes.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/encoding/protojson"
)

const envoyRunTimeout = 2 * time.Minute

// envoyRunPorts are the ports a run uses in place of envoy.yaml's.
type envoyRunPorts struct{ listener, upstream, admin int }

// envoyRunConfig is envoy.yaml with the module at wasmPath, the example
// policy (testdata/policy.json, whatever config.json says) and the given
// ports (all on 127.0.0.1), as JSON for `envoy -c x.json`.
func envoyRunConfig(t *testing.T, wasmPath string, p envoyRunPorts) []byte {
	t.Helper()
	b := loadBootstrap(t, envoyYAML)
	setWasmFilename(t, b, wasmPath)
	setWasmPolicy(t, b, fixedPolicy(t))
	l := b.GetStaticResources().GetListeners()[0].GetAddress().GetSocketAddress()
	l.Address, l.PortSpecifier = "127.0.0.1", portValue(p.listener)
	for _, cl := range b.GetStaticResources().GetClusters() {
		for _, eps := range cl.GetLoadAssignment().GetEndpoints() {
			for _, lb := range eps.GetLbEndpoints() {
				s := lb.GetEndpoint().GetAddress().GetSocketAddress()
				s.Address, s.PortSpecifier = "127.0.0.1", portValue(p.upstream)
			}
		}
	}
	a := b.GetAdmin().GetAddress().GetSocketAddress()
	a.Address, a.PortSpecifier = "127.0.0.1", portValue(p.admin)
	js, err := protojson.MarshalOptions{Multiline: true}.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// TestEnvoyRunConfigurationIsValid checks the configuration the run below
// gives Envoy, so that it is known good even where no Envoy runs.
func TestEnvoyRunConfigurationIsValid(t *testing.T) {
	js := envoyRunConfig(t, "/tmp/x/plugin.wasm", envoyRunPorts{10001, 10002, 10003})
	var b bootstrapv3.Bootstrap
	if err := protojson.Unmarshal(js, &b); err != nil {
		t.Fatal(err)
	}
	validateDeep(t, &b, "the run configuration")
	c := inspectEnvoy(t, &b, "the run configuration")
	if got := c.plugin.GetVmConfig().GetCode().GetLocal().GetFilename(); got != "/tmp/x/plugin.wasm" {
		t.Errorf("module %s, want /tmp/x/plugin.wasm", got)
	}
	if got := socketString(c.listener); got != "127.0.0.1:10001" {
		t.Errorf("listener %s", got)
	}
	if len(c.upstreams) != 1 || c.upstreams[0] != "127.0.0.1:10002" {
		t.Errorf("upstreams %v", c.upstreams)
	}
	if got := socketString(b.GetAdmin().GetAddress().GetSocketAddress()); got != "127.0.0.1:10003" {
		t.Errorf("admin %s", got)
	}
}

func TestEnvoyServesCORSWithEnvoyYAML(t *testing.T) {
	envoy, err := exec.LookPath("envoy")
	if err != nil {
		t.Skip("SKIPPED: no `envoy` binary on PATH, so envoy.yaml was not run in a real Envoy (install Envoy 1.33 or newer to run this test); its schema checks ran")
	}
	out, err := exec.Command(envoy, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("envoy --version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`/(\d+)\.(\d+)\.(\d+)/`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cannot read the version of %s: %q", envoy, out)
	}
	if major, _ := strconv.Atoi(string(m[1])); major == 1 {
		if minor, _ := strconv.Atoi(string(m[2])); minor < 33 {
			t.Skipf("SKIPPED: %s is Envoy %s.%s.%s; envoy.yaml's failure_policy needs Envoy 1.33 or newer (docs/compatibility.md)", envoy, m[1], m[2], m[3])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), envoyRunTimeout)
	defer cancel()
	dir := t.TempDir()
	wasmPath := testmodule.WriteFile(t, testmodule.Release, dir, "plugin.wasm")

	// The upstream: a JSON API that also sets CORS headers of its own,
	// which the plugin must replace.
	upstreamLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string // method and path of every request the upstream got
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("X-Request-Id", "req-1")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})}
	go upstream.Serve(upstreamLn)
	defer upstream.Close()

	ports := envoyRunPorts{listener: freePort(t), upstream: upstreamLn.Addr().(*net.TCPAddr).Port, admin: freePort(t)}
	configPath := filepath.Join(dir, "envoy.json")
	if err := os.WriteFile(configPath, envoyRunConfig(t, wasmPath, ports), 0o644); err != nil {
		t.Fatal(err)
	}

	var logs lockedBuffer
	cmd := exec.CommandContext(ctx, envoy, "-c", configPath, "--disable-hot-restart", "--concurrency", "1", "--log-level", "info")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("Envoy's log:\n%s", logs.tail(8000))
		}
	}()

	base := "http://127.0.0.1:" + strconv.Itoa(ports.listener)
	admin := "http://127.0.0.1:" + strconv.Itoa(ports.admin)
	waitForEnvoy(ctx, t, exited, admin+"/ready", base+"/healthz")

	client := &http.Client{Timeout: 10 * time.Second}
	send := func(method, path string, headers ...string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	expect := func(what string, resp *http.Response, status int, want map[string]string, absent ...string) {
		t.Helper()
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d (headers %v)", what, resp.StatusCode, status, resp.Header)
		}
		for k, v := range want {
			if got := strings.Join(resp.Header.Values(k), ", "); !containsToken(got, v) {
				t.Errorf("%s: %s is %q, want %q in it", what, k, got, v)
			}
		}
		for _, k := range absent {
			if got := resp.Header.Values(k); len(got) > 0 {
				t.Errorf("%s: %s is %q, want none", what, k, got)
			}
		}
	}
	const app = "https://app.example.com"

	expect("allowed preflight", send("OPTIONS", "/v1/things",
		"Origin", app, "Access-Control-Request-Method", "PUT", "Access-Control-Request-Headers", "content-type"),
		204, map[string]string{
			"Access-Control-Allow-Origin":      app,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "PUT",
			"Access-Control-Allow-Headers":     "content-type",
			"Access-Control-Max-Age":           "600",
			"Vary":                             "origin",
		})
	expect("denied preflight", send("OPTIONS", "/v1/things",
		"Origin", "https://evil.example", "Access-Control-Request-Method", "PUT"),
		403, nil, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials")
	expect("allowed actual request", send("GET", "/v1/things", "Origin", app),
		200, map[string]string{
			"Access-Control-Allow-Origin":      app,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Expose-Headers":    "x-request-id",
			"Vary":                             "origin",
		})
	expect("disallowed actual request", send("GET", "/v1/things", "Origin", "https://evil.example"),
		200, map[string]string{"Vary": "origin"}, "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials")
	expect("any-origin policy", send("GET", "/public/logo", "Origin", "https://elsewhere.example"),
		200, map[string]string{"Access-Control-Allow-Origin": "*"}, "Access-Control-Allow-Credentials")

	mu.Lock()
	for _, s := range seen {
		if strings.HasPrefix(s, "OPTIONS ") {
			t.Errorf("a preflight reached the upstream (%s): the plugin must answer it", s)
		}
	}
	mu.Unlock()

	// The plugin's counters, as Envoy exposes them.
	resp, err := client.Get(admin + "/stats?filter=cors%5C.preflight")
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, counter := range []string{"cors.preflight.allowed", "cors.preflight.denied"} {
		m := regexp.MustCompile(regexp.QuoteMeta(counter) + `: (\d+)`).FindSubmatch(stats)
		if m == nil || string(m[1]) != "1" {
			t.Errorf("counter %s: want 1 in Envoy's stats, got:\n%s", counter, stats)
		}
	}
}

// waitForEnvoy waits until Envoy's admin says it is live and the listener
// answers, or Envoy exits, or the context ends.
func waitForEnvoy(ctx context.Context, t *testing.T, exited <-chan error, ready, probe string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	ok := func(u string) bool {
		resp, err := client.Get(u)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return u == probe || resp.StatusCode == http.StatusOK
	}
	for {
		if ok(ready) && ok(probe) {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("Envoy exited before serving: %v", err)
		case <-ctx.Done():
			t.Fatalf("Envoy was not ready within %v", envoyRunTimeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func portValue(p int) *corev3.SocketAddress_PortValue {
	return &corev3.SocketAddress_PortValue{PortValue: uint32(p)}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// containsToken reports whether a comma-separated header value holds want
// (case-insensitively).
func containsToken(value, want string) bool {
	for _, v := range strings.Split(value, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	if len(s) > n {
		s = fmt.Sprintf("[... %d bytes]\n%s", len(s)-n, s[len(s)-n:])
	}
	return s
}

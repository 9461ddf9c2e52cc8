//go:build !wasip1

package cpphost

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corswasm/corswasm/internal/testmodule"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

var soakCount = flag.Int("cpphost.soak", 100000, "exchanges per soak run (at least 2000, so that memory after the first 1000 can be compared with the end)")

var noShim = flag.Bool("cpphost.noshim", false, "control: build with wasmbuild.Compile, without the post-link step that defines sched_yield and poll_oneoff inside the module; the tests must then fail on envoy-1.28 and envoy-1.32 (refused at load) and TestForcedRuntimeTimer on envoy-1.33")

// versions are the Envoy eras of the pwhost binaries, oldest first.
var versions = []string{"1.28", "1.32", "1.33", "1.39"}

// State set up by TestMain.
var (
	// missing says why the pwhost binaries cannot be used, "" when they can.
	missing string
	// pwhostDir holds the binaries.
	pwhostDir string
	// releaseWasm and faultWasm are the paths of the release build and of
	// the build with -tags=corswasm_faultinject.
	releaseWasm, faultWasm string
)

func TestMain(m *testing.M) {
	flag.Parse()
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpphost: %v\n", err)
		os.Exit(1)
	}
	pwhostDir, missing = findPwhost(root)
	if missing != "" {
		fmt.Fprintf(os.Stderr, "cpphost: %s\n", missing)
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "corswasm-cpphost-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpphost: %v\n", err)
		os.Exit(1)
	}
	start := time.Now()
	if err := buildModules(dir); err != nil {
		fmt.Fprintf(os.Stderr, "cpphost: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "cpphost: built the modules in %v; pwhost from %s\n", time.Since(start).Round(time.Millisecond), pwhostDir)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// findPwhost returns the directory of the pwhost binaries ($CORSWASM_PWHOST_DIR,
// else ../shared/tools/pwhost beside the repository root), and a message
// saying why they cannot be used, or "" when all four are there.
func findPwhost(root string) (dir, missing string) {
	dir = os.Getenv("CORSWASM_PWHOST_DIR")
	if dir == "" {
		dir = filepath.Join(root, "..", "shared", "tools", "pwhost")
	}
	for _, v := range versions {
		fi, err := os.Stat(filepath.Join(dir, "pwhost-envoy-"+v))
		if err == nil && fi.Mode()&0o111 == 0 {
			err = fmt.Errorf("%s is not executable", fi.Name())
		}
		if err != nil {
			return dir, fmt.Sprintf("../shared/tools/pwhost not found: %v (a user's clone has no ../shared; CI has it; CORSWASM_PWHOST_DIR names another place)", err)
		}
	}
	return dir, ""
}

// buildModules writes the release and fault-injection modules into dir,
// built (package testmodule) as make build does, or without its post-link
// step under -cpphost.noshim, and sets releaseWasm and faultWasm.
func buildModules(dir string) error {
	release, fault := testmodule.Release, testmodule.Fault
	if *noShim {
		release, fault = testmodule.RawRelease, testmodule.RawFault
	}
	if err := testmodule.Prepare(release, fault); err != nil {
		return err
	}
	releaseWasm = filepath.Join(dir, "plugin.wasm")
	faultWasm = filepath.Join(dir, "plugin-faultinject.wasm")
	for path, v := range map[string]testmodule.Variant{releaseWasm: release, faultWasm: fault} {
		code, err := testmodule.Module(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, code, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// A host is one pwhost binary.
type host struct {
	name string // "envoy-1.39"
	path string
}

// forEachHost runs f as a parallel subtest on each pwhost binary. It skips
// t when the binaries are absent, or fails it when CORSWASM_PWHOST=required.
func forEachHost(t *testing.T, f func(t *testing.T, h host)) {
	t.Helper()
	if missing != "" {
		if os.Getenv("CORSWASM_PWHOST") == "required" {
			t.Fatalf("CORSWASM_PWHOST=required, but %s", missing)
		}
		t.Skip(missing)
	}
	for _, v := range versions {
		h := host{name: "envoy-" + v, path: filepath.Join(pwhostDir, "pwhost-envoy-"+v)}
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			f(t, h)
		})
	}
}

// headers are header lines, in order, as pwhost reads and prints them.
type headers [][2]string

// values returns the values of the lines named name.
func (h headers) values(name string) []string {
	var vs []string
	for _, l := range h {
		if l[0] == name {
			vs = append(vs, l[1])
		}
	}
	return vs
}

// sorted returns the lines as "name: value" strings, sorted.
func (h headers) sorted() []string {
	s := make([]string, len(h))
	for i, l := range h {
		s[i] = l[0] + ": " + l[1]
	}
	slices.Sort(s)
	return s
}

// with returns a copy of h followed by name-value pairs.
func (h headers) with(kv ...string) headers {
	out := slices.Clone(h)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, [2]string{kv[i], kv[i+1]})
	}
	return out
}

// An exchange is one input line of pwhost.
type exchange struct {
	Name      string    `json:"name,omitempty"`
	Request   headers   `json:"request"`
	Response  *response `json:"response,omitempty"`
	RouteName string    `json:"route_name,omitempty"`
	Expect    *expect   `json:"expect,omitempty"`
}

// A response is the upstream's answer in an exchange.
type response struct {
	Status  int     `json:"status"`
	Headers headers `json:"headers"`
}

// expect is pwhost's own check of an exchange (exit status 4 when unmet).
type expect struct {
	Status     int   `json:"status,omitempty"`
	LocalReply *bool `json:"local_reply,omitempty"`
}

// An outcome is pwhost's output line for one exchange.
type outcome struct {
	Name              string         `json:"name"`
	LocalReply        bool           `json:"local_reply"`
	Status            int            `json:"status"`
	RequestHeaders    headers        `json:"request_headers_after"`
	ResponseHeaders   headers        `json:"response_headers"`
	HostCalls         int            `json:"host_calls"`
	HostCallsByName   map[string]int `json:"host_calls_by_name"`
	RequestAction     string         `json:"request_action"`
	ResponseAction    *string        `json:"response_action"`
	LocalReplyDetails string         `json:"local_reply_details"`
	PropertiesRead    []string       `json:"properties_read"`
	Logs              [][2]string    `json:"logs"`
	VMFailed          string         `json:"vm_failed"`
	ExpectOK          *bool          `json:"expect_ok"`

	raw string // the line as printed
}

// soakResult is the last output line of a soak.
type soakResult struct {
	Exchanges        int              `json:"soak_exchanges"`
	PagesStart       int              `json:"memory_pages_start"`
	PagesAfter1000   int              `json:"memory_pages_after_1000"`
	PagesEnd         int              `json:"memory_pages_end"`
	USPerExchange    float64          `json:"us_per_exchange"`
	USAfter1000      float64          `json:"us_per_exchange_after_1000"`
	WASICalls        map[string]int64 `json:"wasi_calls"`
	WASICallsCounted string           `json:"wasi_calls_counted"`
}

// A result is what one pwhost run gave.
type result struct {
	code     int              // exit status
	outs     []outcome        // one per exchange served
	soak     *soakResult      // a soak's last line
	counters map[string]int64 // the metrics printed at the end
	wasi     map[string]int64 // the WASI call counts printed at the end
	stderr   string
}

// tail returns the last lines of stderr, for failure messages, after the
// start of the plugin's error output (where the Go runtime's "fatal error"
// lands, one fd_write fragment a line).
func (r *result) tail() string {
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	var errs []string
	for _, l := range lines {
		if s, ok := strings.CutPrefix(l, "[plugin error] "); ok && len(errs) < 24 {
			errs = append(errs, s)
		}
	}
	out := strings.Join(lines[max(0, len(lines)-25):], "\n")
	if len(errs) > 0 {
		out = "the plugin's error output starts: " + strings.Join(errs, "") + "\n...\n" + out
	}
	return out
}

// pwhost runs h with opts on wasm, the configuration file config (a path)
// and the exchanges xs (none: no exchanges file), and returns what it gave.
// It fails t if the binary cannot be run or prints what pwhost never does.
func pwhost(t *testing.T, h host, wasm, config string, xs []exchange, opts ...string) *result {
	t.Helper()
	args := append(slices.Clone(opts), wasm, config)
	if xs != nil {
		var b bytes.Buffer
		for _, x := range xs {
			line, err := json.Marshal(x)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(append(line, '\n'))
		}
		file := filepath.Join(t.TempDir(), "exchanges.jsonl")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, file)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &result{stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.Exited():
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running %s %s: %v\n%s", h.path, strings.Join(args, " "), err, stderr.String())
	}
	if err := parseStdout(r, stdout.Bytes()); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s", h.name, err, stdout.String())
	}
	r.counters, r.wasi = parseStderr(r.stderr)
	return r
}

// parseStdout reads pwhost's output lines into r.outs and r.soak.
func parseStdout(r *result, stdout []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.Contains(line, []byte(`"soak_exchanges"`)) {
			r.soak = new(soakResult)
			if err := json.Unmarshal(line, r.soak); err != nil {
				return fmt.Errorf("soak line %s: %v", line, err)
			}
			continue
		}
		var o outcome
		if err := json.Unmarshal(line, &o); err != nil {
			return fmt.Errorf("output line %s: %v", line, err)
		}
		o.raw = string(line)
		r.outs = append(r.outs, o)
	}
	return sc.Err()
}

var (
	// counterLine is a metric line of pwhost's standard error.
	counterLine = regexp.MustCompile(`^\s+counter (\S+) = (\d+)$`)
	// wasiLine gives the WASI call counts at the end of a run.
	wasiLine = regexp.MustCompile(`^\[pwhost\] WASI calls counted \([^)]*\): (\{.*\})$`)
)

// parseStderr returns the counters and the WASI call counts pwhost printed.
func parseStderr(stderr string) (counters, wasi map[string]int64) {
	counters, wasi = map[string]int64{}, map[string]int64{}
	for line := range strings.SplitSeq(stderr, "\n") {
		if m := counterLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[2], 10, 64)
			counters[m[1]] = n
		} else if m := wasiLine.FindStringSubmatch(line); m != nil {
			_ = json.Unmarshal([]byte(m[1]), &wasi)
		}
	}
	return counters, wasi
}

// wantCode fails t unless pwhost exited with code.
func wantCode(t *testing.T, r *result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("pwhost exited with %d, want %d; its standard error ends:\n%s", r.code, code, r.tail())
	}
}

// wantServed fails t unless the run exited 0 with n outcomes, none of them
// a failed VM, an unmet expect or a warn or error log line, and without a
// host call cpp-host forbids.
func wantServed(t *testing.T, r *result, n int) {
	t.Helper()
	wantCode(t, r, 0)
	if len(r.outs) != n {
		t.Fatalf("%d output lines, want %d", len(r.outs), n)
	}
	if strings.Contains(r.stderr, "V8 would trap") {
		t.Errorf("a host call while cpp-host restricts them:\n%s", r.tail())
	}
	for _, o := range r.outs {
		if o.VMFailed != "" {
			t.Errorf("%s: the VM failed (%s)", o.Name, o.VMFailed)
		}
		if o.ExpectOK != nil && !*o.ExpectOK {
			t.Errorf("%s: pwhost's expect not met: %s", o.Name, o.raw)
		}
		for _, l := range o.Logs {
			if l[0] != "debug" && l[0] != "info" && l[0] != "trace" {
				t.Errorf("%s: logged at %s: %s", o.Name, l[0], l[1])
			}
		}
	}
}

// counts are counter values; a counter it does not name is 0.
type counts map[string]int64

// Counter names, as the plugin defines them.
const (
	preflightAllowed = "cors.preflight.allowed"
	preflightDenied  = "cors.preflight.denied"
	actualAllowed    = "cors.actual.allowed"
	actualDenied     = "cors.actual.denied"
	originInvalid    = "cors.origin.invalid"
	wouldDeny        = "cors.report.would_deny"
	internalError    = "cors.internal_error"
	reportAgree      = "cors.report.agree"
	wouldBreak       = "cors.report.would_break"
	wouldOpen        = "cors.report.would_open"
)

// allCounters are the global counters the plugin defines.
var allCounters = []string{preflightAllowed, preflightDenied, actualAllowed, actualDenied, originInvalid, wouldDeny, internalError,
	reportAgree, wouldBreak, wouldOpen}

// counterProblems compares the counters got with want: each of allCounters
// must be defined and hold want's value (0 when want does not name it), and
// no other counter may be non-zero, except the per-policy counters
// (cors.policy.<segment>.<rest>) that want does not name: those must add
// up, over the policies, to the global counter cors.<rest>.
func counterProblems(got map[string]int64, want counts) []string {
	var ps []string
	got = maps.Clone(got)
	perPolicy := map[string]int64{}
	for name, v := range got {
		if rest, ok := strings.CutPrefix(name, "cors.policy."); ok {
			if _, suffix, ok := strings.Cut(rest, "."); ok {
				perPolicy["cors."+suffix] += v
				if _, named := want[name]; !named {
					delete(got, name)
				}
			}
		}
	}
	for global, v := range perPolicy {
		if got[global] != v {
			ps = append(ps, fmt.Sprintf("per-policy counters *.%s = %d in all, but %s = %d", strings.TrimPrefix(global, "cors."), v, global, got[global]))
		}
	}
	for _, name := range allCounters {
		v, ok := got[name]
		switch {
		case !ok:
			ps = append(ps, fmt.Sprintf("counter %s not defined", name))
		case v != want[name]:
			ps = append(ps, fmt.Sprintf("counter %s = %d, want %d", name, v, want[name]))
		}
	}
	for name, v := range got {
		if !slices.Contains(allCounters, name) && v != want[name] {
			ps = append(ps, fmt.Sprintf("counter %s = %d, want %d", name, v, want[name]))
		}
	}
	slices.Sort(ps)
	return ps
}

// wantCounters fails t unless the counters are want (see counterProblems).
func wantCounters(t *testing.T, got map[string]int64, want counts) {
	t.Helper()
	for _, p := range counterProblems(got, want) {
		t.Error(p)
	}
}

// sum adds the counts cs, each multiplied by n.
func sum(n int64, cs ...counts) counts {
	out := counts{}
	for _, c := range cs {
		for k, v := range c {
			out[k] += n * v
		}
	}
	return out
}

// testdata returns the path of a file of testdata/.
func testdata(name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		panic(err)
	}
	return p
}

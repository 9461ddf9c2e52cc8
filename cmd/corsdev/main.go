//go:build !wasip1

// Command corsdev runs the CORS plugin on a laptop: `make run`, or without
// make, from the repository root,
//
//	go run ./cmd/corsdev
//
// It starts the demo JSON API (the upstream, 127.0.0.1:8081 as in
// envoy.yaml), the demo page on another origin (port 8080) and, in front of
// the API, the plugin with config.json: in Envoy when an envoy binary is on
// PATH (with a temporary copy of envoy.yaml whose inline policy is
// config.json), else in the embedded host (package devhost), which runs
// plugin.wasm in wazero for every request, on port 10000. It prints the
// URLs to open and what the policy does to the demo page's origins, from
// the engine; the page says the same. Ctrl-C stops everything.
//
// plugin.wasm is built first when it is missing or older than the plugin's
// sources. config.json is read at start: restart to pick up a change. A
// configuration the plugin refuses stops corsdev with the plugin's error
// line, the last thing it prints.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/demo"
	"github.com/corswasm/corswasm/internal/devhost"
	"github.com/corswasm/corswasm/internal/wasmbuild"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "corsdev:", err)
		}
		os.Exit(1)
	}
}

// options are corsdev's flags.
type options struct {
	config, wasm             string
	listen, upstream, page   string
	embedded, demo, wasmFlag bool
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fl := flag.NewFlagSet("corsdev", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/corsdev [flags]   (from the repository root; make run does it)\n\n")
		fl.PrintDefaults()
	}
	fl.StringVar(&o.config, "config", "config.json", "the plugin configuration, for the embedded host and for Envoy (rendered into a temporary copy of envoy.yaml)")
	fl.StringVar(&o.wasm, "wasm", "plugin.wasm", "the module; built first when missing or stale, unless this flag is given")
	fl.StringVar(&o.listen, "listen", "127.0.0.1:10000", "address of the embedded host (envoy.yaml's listener is port 10000)")
	fl.StringVar(&o.upstream, "upstream", "127.0.0.1:8081", "address of the upstream (envoy.yaml's cluster), where the demo API listens")
	fl.StringVar(&o.page, "page", "127.0.0.1:8080", "address of the demo page")
	fl.BoolVar(&o.embedded, "embedded", false, "use the embedded host even when envoy is on PATH")
	fl.BoolVar(&o.demo, "demo", true, "start the demo API and page; -demo=false forwards to your own upstream at -upstream")
	if err := fl.Parse(args); err != nil {
		return nil, err
	}
	if fl.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see -h)", fl.Arg(0))
	}
	fl.Visit(func(f *flag.Flag) { o.wasmFlag = o.wasmFlag || f.Name == "wasm" })
	return o, nil
}

func run(args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	envoy := ""
	if !o.embedded {
		envoy, _ = exec.LookPath("envoy")
	}
	if err := ensurePlugin(ctx, o, out); err != nil {
		return err
	}

	// Everything that can fail before serving does: the plugin and its
	// configuration, then every port.
	config, err := readConfig(o.config)
	if err != nil {
		return err
	}
	var host *devhost.Handler
	envoyConfig := ""
	if envoy == "" {
		if host, err = startHost(ctx, o, config, out); err != nil {
			return err
		}
		defer host.Close()
	} else {
		// The plugin in Envoy would refuse it the same way, in Envoy's log.
		if _, err := filter.Parse(config); err != nil {
			return refusedError(o.config, []string{"cors: refusing configuration: " + err.Error()})
		}
		var remove func()
		if envoyConfig, remove, err = writeEnvoyConfig("envoy.yaml", config, o.wasm); err != nil {
			return err
		}
		defer remove()
	}
	policy, err := demo.ParsePolicy(o.config, config)
	if err != nil {
		return refusedError(o.config, []string{"cors: refusing configuration: " + err.Error()})
	}
	g := &group{errc: make(chan error, 4)}
	defer g.shutdown()
	apiURL := "http://" + browserHost(o.listen)
	if envoy == "" {
		if err := g.serve(o.listen, host, "the embedded host", "-listen"); err != nil {
			return err
		}
	} else {
		apiURL = "http://localhost:10000"
		if err := portFree("127.0.0.1:10000", "Envoy's listener (envoy.yaml)"); err != nil {
			return err
		}
	}
	if o.demo {
		if err := g.serve(o.upstream, demo.Upstream(), "the demo API", "-upstream"); err != nil {
			return err
		}
		if err := g.serve(o.page, demo.PolicyPage(apiURL, policy), "the demo page", "-page"); err != nil {
			return err
		}
	}
	if envoy != "" {
		if err := g.envoy(ctx, envoy, envoyConfig); err != nil {
			return err
		}
	}
	banner(out, o, envoy, envoyConfig, apiURL, policy)

	select {
	case <-ctx.Done():
		fmt.Fprintln(out, "\ncorsdev: stopping")
		return nil
	case err := <-g.errc:
		return err
	}
}

// ensurePlugin builds plugin.wasm when it is missing or older than its
// sources (unless -wasm was given).
func ensurePlugin(ctx context.Context, o *options, out io.Writer) error {
	if o.wasmFlag {
		return nil
	}
	root, err := wasmbuild.ModuleRoot(".")
	if err != nil {
		return err
	}
	wasm, err := filepath.Abs(o.wasm)
	if err != nil {
		return err
	}
	why, err := devhost.Stale(root, wasm)
	if err != nil || why == "" {
		return err
	}
	fmt.Fprintf(out, "corsdev: %s is %s; building it (as make build does)\n", o.wasm, why)
	return wasmbuild.Build(ctx, root, ".", wasm)
}

// readConfig reads the plugin configuration.
func readConfig(path string) ([]byte, error) {
	config, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no plugin configuration at %s: run from the repository root, or pass -config FILE", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the plugin configuration: %w", err)
	}
	return config, nil
}

// refusedError is corsdev's error for a configuration the plugin refuses,
// with the plugin's lines.
func refusedError(path string, lines []string) error {
	return fmt.Errorf("%s refused; the plugin says:\n  %s\nfix it and run again (go run ./cmd/corsctl check %s explains each problem)",
		path, strings.Join(lines, "\n  "), path)
}

// startHost loads the configuration and the module into the embedded host.
func startHost(ctx context.Context, o *options, config []byte, out io.Writer) (*devhost.Handler, error) {
	wasm, err := os.ReadFile(o.wasm)
	if err != nil {
		return nil, fmt.Errorf("reading the module: %w (build it with make build)", err)
	}
	h, err := devhost.New(ctx, devhost.Options{
		Wasm:      wasm,
		Config:    config,
		Upstream:  "http://" + o.upstream,
		AccessLog: prefixWriter{out, "request: "},
	})
	var refused *devhost.RefusedError
	if errors.As(err, &refused) {
		return nil, refusedError(o.config, refused.Lines)
	}
	if err != nil {
		return nil, err
	}
	for _, l := range h.StartupLog() {
		fmt.Fprintf(out, "plugin: %s\n", l)
	}
	return h, nil
}

// browserHost is the host:port a browser should use for a listen address:
// "localhost" for loopback and unspecified addresses, so that the demo
// page at http://localhost:8080 and the API are the same site (cookies).
func browserHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || host == "localhost" || ip != nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func banner(out io.Writer, o *options, envoy, envoyConfig, apiURL string, policy *demo.Policy) {
	fmt.Fprintln(out)
	if envoy != "" {
		fmt.Fprintf(out, "corsdev: Envoy (%s) runs %s with %s, rendered into a copy of envoy.yaml (%s); -embedded uses the embedded host\n", envoy, o.wasm, o.config, envoyConfig)
	} else {
		fmt.Fprintf(out, "corsdev: the embedded host runs %s with %s (restart to pick up a change)\n", o.wasm, o.config)
	}
	fmt.Fprintf(out, "  API through the plugin   %s  -> upstream http://%s\n", apiURL, o.upstream)
	page := browserHost(o.page)
	origins := demo.PageOrigins(page)
	if o.demo {
		fmt.Fprintf(out, "  demo page                http://%s/\n", page)
		if len(origins) > 1 {
			fmt.Fprintf(out, "  same page, other origin  %s/\n", origins[1])
		}
	}
	if envoy == "" {
		fmt.Fprintf(out, "  plugin decisions         %s%sdecisions\n", apiURL, devhost.ReservedPrefix)
	}
	fmt.Fprintf(out, "  try   curl -si -X OPTIONS %s/v1/things -H 'origin: %s' -H 'access-control-request-method: PUT'\n", apiURL, origins[0])
	fmt.Fprintf(out, "What %s does to the demo page's origins (the engine's decisions):\n", o.config)
	for _, l := range policy.Describe(apiURL, origins) {
		fmt.Fprintf(out, "  %s\n", l)
	}
	fmt.Fprintf(out, "Ctrl-C stops everything.\n\n")
}

// group runs the servers and Envoy, and stops them.
type group struct {
	servers   []*http.Server
	envoyCmd  *exec.Cmd
	envoyDone chan struct{} // closed when Envoy has exited
	errc      chan error
}

// serve listens on addr, first, so that a port in use stops corsdev
// before anything runs, then serves h.
func (g *group) serve(addr string, h http.Handler, what, flagName string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(err, addr, what, flagName)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g.servers = append(g.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.errc <- fmt.Errorf("%s on %s: %w", what, addr, err)
		}
	}()
	return nil
}

func listenError(err error, addr, what, flagName string) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s cannot listen on %s: the port is in use (another corsdev, envoy or demo?); stop it, or pass %s with another address", what, addr, flagName)
	}
	return fmt.Errorf("%s cannot listen on %s: %w (pass %s with another address)", what, addr, err, flagName)
}

// portFree checks that Envoy will be able to listen on addr.
func portFree(addr, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return listenError(err, addr, what, "-embedded (or change envoy.yaml)")
	}
	return ln.Close()
}

// envoy starts `envoy -c config`, with its output on ours.
func (g *group) envoy(ctx context.Context, path, config string) error {
	cmd := exec.Command(path, "-c", config)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting envoy: %w", err)
	}
	g.envoyCmd, g.envoyDone = cmd, make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(g.envoyDone)
		// Ctrl-C reaches Envoy too, which may exit before we hear of it.
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		g.errc <- fmt.Errorf("envoy exited (%v); its log above says why, or pass -embedded to use the embedded host", err)
	}()
	return nil
}

// shutdown stops Envoy and the servers, waiting up to 5 s for requests in
// flight.
func (g *group) shutdown() {
	if g.envoyCmd != nil {
		g.envoyCmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.envoyDone:
		case <-time.After(5 * time.Second):
			g.envoyCmd.Process.Kill()
			<-g.envoyDone
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range g.servers {
		srv.Shutdown(ctx)
	}
}

// prefixWriter writes each line with a prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
				return 0, err
			}
		}
	}
	return len(b), nil
}

// Command demo serves the demo of `make run` on its own: the demo JSON API
// (the upstream to put behind Envoy or the dev host) and the demo page,
// which calls that API across origins. `go run ./cmd/corsdev` starts both
// itself; this command is for Envoy in docker compose or on the host:
//
//	go run ./cmd/demo                                  # API on 127.0.0.1:8081, page on 127.0.0.1:8080
//	go run ./cmd/demo -upstream :8081 -page :8080 -api http://localhost:10000
//
// Open the page at http://localhost:8080/ and at http://127.0.0.1:8080/: two
// origins. The page says what the policy in -config (config.json by
// default; -config "" for none) does to each, as the engine decides it: give
// the policy the proxy in front of the API runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/corswasm/corswasm/internal/demo"
)

func main() {
	upstream := flag.String("upstream", "127.0.0.1:8081", "address of the demo JSON API (the upstream); empty to not serve it")
	page := flag.String("page", "127.0.0.1:8080", "address of the demo page; empty to not serve it")
	api := flag.String("api", "http://localhost:10000", "URL at which the page calls the API: the proxy (Envoy, the dev host) in front of the upstream")
	config := flag.String("config", "config.json", "the policy the proxy runs, which the page describes; empty to describe none")
	flag.Parse()
	if err := run(*upstream, *page, *api, *config); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(upstreamAddr, pageAddr, api, config string) error {
	var policy *demo.Policy
	if config != "" {
		data, err := os.ReadFile(config)
		if err != nil {
			return fmt.Errorf("reading the policy to describe: %w (pass -config \"\" for none)", err)
		}
		if policy, err = demo.ParsePolicy(config, data); err != nil {
			return fmt.Errorf("%s refused: %w", config, err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var servers []*http.Server
	errc := make(chan error, 2)
	serve := func(addr string, h http.Handler, what string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: cannot listen on %s: %w (is another demo or corsdev running? stop it or pass another address)", what, addr, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
		fmt.Printf("demo: %s on http://%s\n", what, ln.Addr())
		return nil
	}
	if upstreamAddr != "" {
		if err := serve(upstreamAddr, demo.Upstream(), "JSON API (upstream)"); err != nil {
			return err
		}
	}
	if pageAddr != "" {
		if err := serve(pageAddr, demo.PolicyPage(api, policy), "page calling "+api); err != nil {
			return err
		}
	}
	if len(servers) == 0 {
		return errors.New("nothing to serve: -upstream and -page are both empty")
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutdown)
	}
	return err
}

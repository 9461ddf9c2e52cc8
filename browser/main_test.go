//go:build !wasip1

package browser

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", "", "save PNG screenshots of the demo page, after its calls ran, to this path (and the blocked origin's beside it)")

var (
	// chromium is the browser's path, "" when it is not installed.
	chromium string
	// skipNote says why the tests skip.
	skipNote string

	// What TestMain stops when the tests are done.
	closers []func()
	closeMu sync.Mutex
)

func TestMain(m *testing.M) {
	flag.Parse()
	chromium = findChromium()
	if chromium == "" {
		const missing = "no chromium found ($CHROMIUM, else chromium on PATH; apt-get install -y chromium)"
		if os.Getenv("CORSWASM_BROWSER") == "required" {
			fmt.Fprintln(os.Stderr, "browser: CORSWASM_BROWSER=required, but "+missing)
			os.Exit(1)
		}
		skipNote = "skipping the browser tests: " + missing
		fmt.Fprintln(os.Stderr, "browser: "+skipNote)
	} else if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "browser: %s\n", chromium)
	}
	code := m.Run()
	closeMu.Lock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	closeMu.Unlock()
	os.Exit(code)
}

// onClose registers f to run when the test binary ends, last first.
func onClose(f func()) {
	closeMu.Lock()
	defer closeMu.Unlock()
	closers = append(closers, f)
}

func findChromium() string {
	name := "chromium"
	if p := os.Getenv("CHROMIUM"); p != "" {
		name = p
	}
	p, _ := exec.LookPath(name)
	return p
}

// startBrowser starts headless Chromium with a fresh profile and returns a
// chromedp context of it, which later contexts open tabs in.
func startBrowser() (context.Context, error) {
	dir, err := os.MkdirTemp("", "corswasm-chromium-")
	if err != nil {
		return nil, err
	}
	onClose(func() { os.RemoveAll(dir) })
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	onClose(func() { cancel(); cancelAlloc() })
	// The first Run starts the browser; its context must have no timeout.
	if err := chromedp.Do(ctx); err != nil {
		return nil, fmt.Errorf("starting %s: %w", chromium, err)
	}
	return ctx, nil
}

// serve serves h on a new port of 127.0.0.1 until the test binary ends and
// returns the port.
func serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	onClose(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

// A tab is a browser tab showing a page of one origin.
type tab struct {
	ctx     context.Context
	mu      sync.Mutex
	console []string
}

// openTab opens a tab on origin's blank page, collecting what the browser
// logs (Chromium reports CORS failures in the console). It ends with the
// test.
func openTab(t *testing.T, browser context.Context, origin string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	if err := chromedp.Listen(ctx, func(ev any) {
		var text string
		switch e := ev.(type) {
		case *log.EventEntryAdded:
			text = e.Entry.Text
		case *runtime.EventConsoleAPICalled:
			for _, a := range e.Args {
				text += " " + strings.Trim(string(a.Value), `"`)
			}
		default:
			return
		}
		tb.mu.Lock()
		tb.console = append(tb.console, text)
		tb.mu.Unlock()
	}); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	enableLog := chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		_, err := cdp.Call(ctx, target, log.Enable, cdp.Empty{})
		return err
	})
	if err := chromedp.Do(ctx, enableLog); err != nil {
		t.Fatalf("enabling the browser log: %v", err)
	}
	// Derived from a context that ran once: the timeout ends this tab only.
	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(tcancel)
	tb.ctx = tctx
	if err := chromedp.Do(tctx, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatalf("loading %s/: %v", origin, err)
	}
	return tb
}

// fetched is what the page's fetch() gave: the response it could read, or
// the error it rejected with.
type fetched struct {
	OK      bool               `json:"ok"`
	Status  int                `json:"status"`
	Body    string             `json:"body"`
	Headers map[string]*string `json:"headers"`
	Error   string             `json:"error"`
}

func (f fetched) String() string {
	if !f.OK {
		return "rejected: " + f.Error
	}
	b, _ := json.Marshal(f.Headers)
	return fmt.Sprintf("read %d %q, headers %s", f.Status, f.Body, b)
}

// header returns the value the page read for name, or "<null>".
func (f fetched) header(name string) string {
	if v := f.Headers[name]; v != nil {
		return *v
	}
	return "<null>"
}

// fetch runs fetch(url, init) in the page and reads the body and the
// headers named.
func (tb *tab) fetch(t *testing.T, url string, init map[string]any, headers ...string) fetched {
	t.Helper()
	if init == nil {
		init = map[string]any{}
	}
	if headers == nil {
		headers = []string{}
	}
	args, err := json.Marshal([]any{url, init, headers})
	if err != nil {
		t.Fatal(err)
	}
	script := `(async ([url, init, names]) => {
		try {
			const r = await fetch(url, init);
			const body = await r.text();
			const headers = {};
			for (const n of names) headers[n] = r.headers.get(n);
			return {ok: true, status: r.status, body, headers};
		} catch (e) {
			return {ok: false, error: e.name + ": " + e.message};
		}
	})(` + string(args) + `)`
	res, err := chromedp.Run(tb.ctx, chromedp.Evaluate[fetched](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch(%s) in the page: %v", url, err)
	}
	return res
}

// waitConsole waits up to 3 s for a console line containing substr and
// returns it, or reports what the console held.
func (tb *tab) waitConsole(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		tb.mu.Lock()
		for _, l := range tb.console {
			if strings.Contains(l, substr) {
				tb.mu.Unlock()
				return l
			}
		}
		lines := strings.Join(tb.console, "\n  ")
		tb.mu.Unlock()
		if time.Now().After(deadline) {
			t.Errorf("the browser console has no line with %q; it has:\n  %s", substr, lines)
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

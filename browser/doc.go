//go:build !wasip1

// Package browser holds the browser end-to-end tests: Debian's Chromium,
// headless, driven from Go with github.com/chromedp/chromedp, loads a page
// from one origin, and the page's fetch calls an API on another origin
// (another port of localhost) served by the embedded host (package devhost)
// running the real plugin.wasm in front of a recording upstream. The tests
// assert what the page can read: the browser is the judge of CORS.
//
//	go test ./browser                     # skips, saying so, without chromium
//	go test ./browser -screenshot /tmp/demo.png
//
// Chromium is found as $CHROMIUM, else chromium on PATH (apt-get install
// chromium). Without it the tests skip, saying so, unless
// CORSWASM_BROWSER=required (as in CI), which makes that a failure. The
// package has only tests; it keeps chromedp out of the other packages'
// dependencies.
package browser

// Package filter is the CORS engine of the plugin: it parses and validates a
// JSON policy once into a compiled Config, then decides on each request
// (Evaluate) and computes the headers to send (LocalResponse for preflights,
// RewriteResponse for everything else), following the CORS protocol of the
// WHATWG Fetch standard.
//
// It is plain Go with no dependency on the proxy-wasm ABI, so it is tested
// and benchmarked natively; the hot path reads the compiled form and does
// not allocate.
package filter

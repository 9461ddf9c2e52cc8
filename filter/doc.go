// Package filter is the CORS engine of the plugin: it parses and validates a
// JSON policy once into a compiled Config, then decides on each request
// (Evaluate) and computes the headers to send (LocalResponse for preflights,
// RewriteResponse for everything else), following the CORS protocol of the
// WHATWG Fetch standard.
//
// A configuration goes one way, a file per stage: decode.go reads the JSON
// document (json.go) into a Spec (spec.go); validate.go checks it, with a
// Problem per field path (problem.go); compile.go builds the Config
// (config.go) that requests read. Per request, evaluate.go decides
// (Decision, decision.go) and response.go computes the headers. The Fetch
// standard's tables come from internal/fetch; explain.go gives tools a
// read-only view of the same checks.
//
// It is plain Go with no dependency on the proxy-wasm ABI, so it is tested
// and benchmarked natively; the hot path reads the compiled form and does
// not allocate.
package filter

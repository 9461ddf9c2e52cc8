//go:build !wasip1

// Package cpphost runs the real plugin.wasm on proxy-wasm-cpp-host, the C++
// library Envoy embeds, through the pwhost drivers of ../shared/tools/pwhost
// (one binary per Envoy era: pwhost-envoy-1.28, -1.32, -1.33 and -1.39, on
// the WAMR interpreter). It holds tests only:
//
//   - exchanges_test.go: allowed and denied preflights and actual requests,
//     requests without Origin, route-name policies and report mode, with
//     the policy's counters; Envoy's inline-header coalescing (two Origin,
//     Access-Control-Request-Method or Access-Control-Request-Headers lines
//     reach the module as one value joined with ","), which the project's
//     own hosts do not model;
//   - refused_test.go: the configurations of testdata/refused are refused,
//     naming the offending field, and pwhost's exit status means what it
//     says (the controls that show these tests can fail);
//   - soak_test.go: one exchange per scenario run -cpphost.soak times
//     (100 000 by default), memory flat after the first 1000;
//   - timer_test.go: the fault build's "sleep" knob makes the Go runtime
//     wait on a timer (WASI poll_oneoff) inside proxy_on_request_headers;
//     the request completes and the VM lives on.
//
// Every test requires full success on all four hosts. The tests skip when
// the binaries are absent (a user's clone has no ../shared); with
// CORSWASM_PWHOST=required (CI) their absence fails the tests instead.
// CORSWASM_PWHOST_DIR names another directory that holds them. The policies
// are fixed in testdata/, never the repository's config.json.
//
// main_test.go builds the modules once, as make build does, and drives
// pwhost: one process per scenario, so that the counters it prints are the
// exchange's; its output lines and the metrics on its standard error are
// parsed and checked in Go. -cpphost.noshim builds without make build's
// post-link step (the WASI functions older Envoys lack, defined inside the
// module), a control under which envoy-1.28 and envoy-1.32 refuse the
// module and the forced timer kills the VM on envoy-1.33.
package cpphost

.PHONY: build test vet fuzz bench bench-envoy clean run image

# Each target is a plain go command; the README shows them.

# The plugin: a WASI reactor built by the standard Go compiler; then the
# post-link step that defines sched_yield and poll_oneoff inside it (so that
# it loads and runs on Envoy 1.28 and newer) and makes the jumps of its Go
# code direct (internal/gojumps: the same program, faster), folds its stack
# addresses (internal/goaddr), writes its small copies and clears as word
# stores (internal/gomoves), shortens its boolean tests (internal/gobools),
# writes its host-call stubs into their callers (internal/gostubs) and
# serves the usual cases of four callbacks
# from plain WebAssembly (internal/fastpath); then the check against what
# Envoy's proxy-wasm host requires, which prints one line (its size, OK,
# the Envoy releases it runs on); `go run ./cmd/wasmcheck -v plugin.wasm`
# lists the imports and exports. Problems always print.
build:
	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o plugin.wasm .
	go run ./cmd/postlink plugin.wasm
	go run ./cmd/wasmcheck plugin.wasm

# The demo on this machine: builds the plugin, then runs it with config.json
# in front of a demo JSON API (127.0.0.1:8081) with a demo page on another
# origin (http://localhost:8080); in Envoy when envoy is on PATH, else in
# the embedded host. `go run ./cmd/corsdev -h` lists the flags.
# corsdev is built, not run with go run (which adds "exit status 1"), and
# when it fails (a refused config.json) the recipe stops make with SIGINT
# rather than an exit status, so that corsdev's error stays the last line:
# GNU make prints "make: *** [...] Error 1" after any failing recipe, and no
# flag (-s, .SILENT, -) removes that line without also losing the failure.
# The sleep lets make's signal handler reap the shell (else it may report
# "wait: No child processes"). The exit status is then 130.
run: build
	@go build -o build/corsdev ./cmd/corsdev
	@build/corsdev || { kill -INT $$PPID; sleep 0.1; }

# The OCI image Istio pulls (oci://): plugin.wasm in an OCI image layout in
# build/image, built offline; prints the digests to pin.
image: build
	go run ./cmd/ociimage -wasm plugin.wasm -o build/image

# Every test: formatting and vet, the engine, the ABI layer, the build
# checker, and the module tests that build and run the real plugin.wasm
# (e2e builds its own copy; it does not need `make build` first).
test: vet
	go test ./...

# Formatting and vet, natively and for the wasm build. The wasm build is
# vetted without the unsafeptr check, which flags any conversion of a
# host-written address into a pointer.
vet:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	GOOS=wasip1 GOARCH=wasm go vet -unsafeptr=false ./...
	GOOS=wasip1 GOARCH=wasm go vet -unsafeptr=false -tags corswasm_faultinject .

# Runs each fuzz target for FUZZTIME; a failing input lands in
# testdata/fuzz/<target>/ of its package, where the normal test run
# replays it. FUZZTIME is a count of executions (100000x) by default, not a
# duration: Go 1.26's fuzz coordinator can report "context deadline
# exceeded" when a duration ends while a worker is busy (golang/go#75804,
# fixed in Go 1.27), a failure that names no input. A count has no deadline
# to race. FUZZTIME=5m fuzzes for a while by hand.
FUZZTIME ?= 100000x
FUZZ = go test -run '^$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s -fuzz
fuzz:
	$(FUZZ) '^FuzzParse$$' ./filter
	$(FUZZ) '^FuzzOrigin$$' ./filter
	$(FUZZ) '^FuzzRequestHeaders$$' ./filter
	$(FUZZ) '^FuzzEvaluate$$' ./filter
	$(FUZZ) '^FuzzMatch$$' ./internal/originre

# Engine and module benchmarks side by side: prints both tables and the
# footprint, and fails when a budget of BENCHMARKS.md is missed (3-4 min).
bench:
	go run ./cmd/benchreport

# Three Envoy configurations under wrk on loopback; skips without envoy or wrk.
bench-envoy:
	./scripts/envoy-bench.sh

clean:
	rm -rf plugin.wasm build

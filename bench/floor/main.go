// Command floor is the floor module of the module benchmarks (package
// bench): the least a proxy-wasm filter built like plugin.wasm can do. It
// uses the project's ABI layer, and its request-headers callback reads the
// origin header and continues; its response-headers callback does nothing.
// The benchmarks build it with the release command of plugin.wasm:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -ldflags="-s -w" -trimpath -o floor.wasm ./bench/floor
//
// The plugin's cost over the floor is then the CORS engine and the wiring,
// not the Go runtime, the ABI layer or the host.
package main

import (
	"github.com/corswasm/corswasm/abi"
	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// main is not run in a c-shared (reactor) module.
func main() {}

// init registers the plugin; it makes no host call (the host forbids them
// while the module initializes).
func init() { abi.SetPlugin(func(uint32) abi.Root { return root{} }) }

type root struct{}

func (root) OnVMStart(int) bool          { return true }
func (root) OnConfigure([]byte) bool     { return true }
func (root) NewStream(uint32) abi.Stream { return stream{} }

type stream struct{}

// sawOrigin keeps what the request callback read, so that the read is used.
var sawOrigin bool

func (stream) OnRequestHeaders(int, bool) types.Action {
	_, sawOrigin = abi.GetHeader(abi.MapRequestHeaders, "origin")
	return types.ActionContinue
}

func (stream) OnResponseHeaders(int, bool) types.Action { return types.ActionContinue }
func (stream) OnDelete()                                {}

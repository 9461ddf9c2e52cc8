//go:build !wasip1

package wasmhost

import "github.com/tetratelabs/wazero/api"

// Fault injection: a test can make the host's proxy-wasm calls fail or come
// back empty, as a host with a bug, under pressure or of another ABI version
// might, to check that the module fails safe (no trap, the request left
// alone). Faults apply to the env functions (proxy_*) only: WASI calls are
// the Go runtime's, and the restricted phases are checked before any fault.
//
//	vm.SetFaults(func(c wasmhost.HostCall) wasmhost.Fault {
//		if c.Name == "proxy_get_header_map_pairs" && c.Phase == wasmhost.PhaseResponse {
//			return wasmhost.Fault{Fail: wasmhost.StatusInternalFailure}
//		}
//		return wasmhost.Fault{}
//	})
//
// A faulted call is still counted by Calls.

// Status is a proxy-wasm host call status, as the ABI numbers them.
type Status uint32

// Host call statuses (proxy-wasm ABI 0.2.1).
const (
	StatusOK                   Status = 0
	StatusNotFound             Status = 1
	StatusBadArgument          Status = 2
	StatusSerializationFailure Status = 3
	StatusParseFailure         Status = 4
	StatusInvalidMemoryAccess  Status = 6
	StatusEmpty                Status = 7
	StatusInternalFailure      Status = 10
	StatusUnimplemented        Status = 12
)

// Phase is the part of a stream a host call is made in.
type Phase string

// Phases, as Calls groups host calls.
const (
	// PhaseRequest is proxy_on_request_headers.
	PhaseRequest Phase = "request"
	// PhaseResponse is proxy_on_response_headers, including its run for a
	// local reply.
	PhaseResponse Phase = "response"
	// PhaseOther is every other callback: context creation,
	// proxy_on_vm_start, proxy_on_configure, proxy_on_log, proxy_on_done,
	// proxy_on_delete.
	PhaseOther Phase = "other"
)

// HostCall describes a proxy-wasm host call about to run, for a FaultFunc.
type HostCall struct {
	// Name is the import name, e.g. "proxy_get_header_map_pairs".
	Name string
	// Phase is the callback the call is made from.
	Phase Phase
	// MapType is the header map of the header map calls (0 request
	// headers, 2 response headers); -1 for the other calls.
	MapType int
	// Seq numbers the calls of this name since SetFaults, from 1.
	Seq int
}

// Fault is what an injected fault makes a host call do instead of its work.
// The zero Fault lets the call run.
type Fault struct {
	// Fail, when not StatusOK, is returned without doing anything.
	Fail Status
	// Nothing makes the call return StatusOK without doing anything: a call
	// that returns data writes a zero address and size (an empty result,
	// without calling the allocator), proxy_define_metric writes ID 0, and
	// the other calls (proxy_set_header_map_pairs,
	// proxy_send_local_response, proxy_log, ...) drop what they were given.
	Nothing bool
	// ForeignAddress makes a call that returns data return StatusOK with an
	// address the module's allocator never returned (and a size of 8): a
	// host that writes where it should not. Other calls run normally.
	ForeignAddress bool
}

// FaultFunc decides the fault of each proxy-wasm host call. It runs with the
// VM locked, inside the host call: it must not call the VM.
type FaultFunc func(HostCall) Fault

// SetFaults installs f, which decides from now on whether each proxy-wasm
// host call fails; nil removes it. Seq starts again from 1.
func (vm *VM) SetFaults(f FaultFunc) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if f == nil {
		vm.faults = nil
		return
	}
	vm.faults = &faultState{fn: f, seq: make([]int, len(vm.names))}
}

// faultState is the VM's installed FaultFunc and its call numbering.
type faultState struct {
	fn  FaultFunc
	seq []int // by host function index
}

// foreignAddress is the address ForeignAddress writes: inside the module's
// memory, but never one its allocator returns (Go's heap starts higher).
const foreignAddress = 16

// resultSlots gives, for the calls that return data, the stack positions of
// the address and size slots the module passes (-1: no size slot).
var resultSlots = map[string][2]int{
	"proxy_get_buffer_bytes":     {3, 4},
	"proxy_get_header_map_value": {3, 4},
	"proxy_get_header_map_pairs": {1, 2},
	"proxy_get_property":         {2, 3},
	"proxy_define_metric":        {3, -1},
}

// headerMapCalls are the calls whose first parameter is a header map type.
var headerMapCalls = map[string]bool{
	"proxy_get_header_map_value":     true,
	"proxy_add_header_map_value":     true,
	"proxy_replace_header_map_value": true,
	"proxy_remove_header_map_value":  true,
	"proxy_get_header_map_pairs":     true,
	"proxy_set_header_map_pairs":     true,
}

// injectFault applies the installed FaultFunc to the host call fn (its index)
// named name, and reports whether the fault replaced the call, whose status
// it then wrote to stack[0].
func (vm *VM) injectFault(fn int, name string, m api.Memory, stack []uint64) bool {
	fs := vm.faults
	fs.seq[fn]++
	c := HostCall{Name: name, Phase: vm.phase.exported(), MapType: -1, Seq: fs.seq[fn]}
	if headerMapCalls[name] {
		c.MapType = int(u32(stack[0]))
	}
	f := fs.fn(c)
	slots, returnsData := resultSlots[name]
	switch {
	case f.Fail != StatusOK:
		stack[0] = uint64(f.Fail)
	case f.Nothing:
		if returnsData {
			stack[0] = writeResult(m, stack, slots, 0, 0)
		} else {
			stack[0] = uint64(StatusOK)
		}
	case f.ForeignAddress && returnsData:
		stack[0] = writeResult(m, stack, slots, foreignAddress, 8)
	default:
		return false
	}
	return true
}

// writeResult writes addr and size to the module's result slots and returns
// the status of doing so.
func writeResult(m api.Memory, stack []uint64, slots [2]int, addr, size uint32) uint64 {
	if !m.WriteUint32Le(u32(stack[slots[0]]), addr) {
		return statusInvalidMemoryAccess
	}
	if slots[1] >= 0 && !m.WriteUint32Le(u32(stack[slots[1]]), size) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}

// exported names the phase for HostCall.
func (p phase) exported() Phase {
	switch p {
	case phaseRequest:
		return PhaseRequest
	case phaseResponse:
		return PhaseResponse
	}
	return PhaseOther
}

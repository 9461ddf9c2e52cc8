package abi

import (
	"errors"
	"strconv"

	"github.com/tetratelabs/proxy-wasm-go-sdk/proxywasm/types"
)

// MapType selects a header map in the header host calls.
type MapType uint32

// Header maps, as numbered by the proxy-wasm ABI.
const (
	MapRequestHeaders   MapType = 0
	MapRequestTrailers  MapType = 1
	MapResponseHeaders  MapType = 2
	MapResponseTrailers MapType = 3
)

// LogLevel is the level of a log line sent with Log.
type LogLevel uint32

// Log levels, as numbered by the proxy-wasm ABI.
const (
	LogTrace    LogLevel = 0
	LogDebug    LogLevel = 1
	LogInfo     LogLevel = 2
	LogWarn     LogLevel = 3
	LogError    LogLevel = 4
	LogCritical LogLevel = 5
)

// Buffer types read with proxy_get_buffer_bytes.
const (
	bufferVMConfiguration     = 6
	bufferPluginConfiguration = 7
)

// Host call statuses this package tests for. statusNotInHost is not an ABI
// value: the native build's host calls return it.
const (
	statusOK        = 0
	statusNotFound  = 1
	statusNotInHost = ^uint32(0)
)

// metricCounter is the proxy-wasm metric type of a counter.
const metricCounter = 0

// ErrNotInHost is what every host call returns outside a proxy-wasm host
// (a native build).
var ErrNotInHost = errors.New("abi: not running in a proxy-wasm host")

// errBadAddress reports that the host returned memory this package did not
// hand out: a host bug, or a mismatch of ABI versions.
var errBadAddress = errors.New("abi: host returned an address that was not allocated by proxy_on_memory_allocate")

// Status is a proxy-wasm host call result that has no counterpart among the
// SDK's error values (see statusError).
type Status uint32

var statusNames = [...]string{
	"ok", "not found", "bad argument", "serialization failure", "parse failure",
	"bad expression", "invalid memory access", "empty", "cas mismatch",
	"result mismatch", "internal failure", "broken connection", "unimplemented",
}

// Error describes the status, e.g. "proxy-wasm host status 6 (invalid memory access)".
func (s Status) Error() string {
	msg := "proxy-wasm host status " + strconv.FormatUint(uint64(s), 10)
	if int(s) < len(statusNames) {
		msg += " (" + statusNames[s] + ")"
	}
	return msg
}

// statusError converts a host call result to an error: nil for OK, the SDK's
// error value where one exists (types.ErrorStatusNotFound, ...), else a Status.
// It is small enough to inline, so that a host call that succeeds makes no
// Wasm call for its status.
func statusError(st uint32) error {
	if st == 0 {
		return nil
	}
	return failure(st)
}

// failure is statusError for a status that is not OK.
func failure(st uint32) error {
	switch st {
	case statusNotInHost:
		return ErrNotInHost
	case 1:
		return types.ErrorStatusNotFound
	case 2:
		return types.ErrorStatusBadArgument
	case 7:
		return types.ErrorStatusEmpty
	case 8:
		return types.ErrorStatusCasMismatch
	case 10:
		return types.ErrorInternalFailure
	case 12:
		return types.ErrorUnimplemented
	}
	return Status(st)
}

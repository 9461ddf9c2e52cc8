//go:build wasip1

package abi

import (
	"runtime"
	"unsafe"
)

// Host calls (proxy-wasm ABI 0.2.1). Guest addresses and sizes are uint32
// (wasm32); every call returns a status (0 is OK).

//go:wasmimport env proxy_log
func proxyLog(level, msgData, msgSize uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bufferType, start, maxSize, returnData, returnSize uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType, keyData, keySize, returnData, returnSize uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType, returnData, returnSize uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func proxySetHeaderMapPairs(mapType, mapData, mapSize uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mapType, keyData, keySize, valueData, valueSize uint32) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(statusCode, detailsData, detailsSize, bodyData, bodySize, headersData, headersSize, grpcStatus uint32) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(pathData, pathSize, returnData, returnSize uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(metricType, nameData, nameSize, returnID uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(metricID uint32, offset int64) uint32

// The slots the host writes results into. They are package variables, not
// locals: a host call that returns data calls proxy_on_memory_allocate before
// it writes the slots, and the Go code of that nested call may grow, and so
// move, the goroutine stack, which would leave the host writing to a stale
// stack address. Package variables never move. Host calls do not overlap, so
// one set of slots serves them all.
var slotData, slotSize uint32

// noGRPCStatus tells proxy_send_local_response not to set a gRPC status (-1).
const noGRPCStatus = ^uint32(0)

// slots clears the result slots (a host may leave them untouched when it
// returns no data) and returns their addresses.
func slots() (data, size uint32) {
	slotData, slotSize = 0, 0
	return uint32(uintptr(unsafe.Pointer(&slotData))), uint32(uintptr(unsafe.Pointer(&slotSize)))
}

// strAddr is the guest address of s's bytes.
func strAddr(s string) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.StringData(s)))) }

// The host reads its inputs before it can call back into the guest, but the
// KeepAlive calls below make sure no input is collected during a host call.

func callLog(level uint32, msg string) uint32 {
	st := proxyLog(level, strAddr(msg), uint32(len(msg)))
	runtime.KeepAlive(unsafe.StringData(msg))
	return st
}

func callGetHeaderMapValue(mapType uint32, key string) (st, data, size uint32) {
	d, s := slots()
	st = proxyGetHeaderMapValue(mapType, strAddr(key), uint32(len(key)), d, s)
	runtime.KeepAlive(unsafe.StringData(key))
	return st, slotData, slotSize
}

func callGetHeaderMapPairs(mapType uint32) (st, data, size uint32) {
	d, s := slots()
	st = proxyGetHeaderMapPairs(mapType, d, s)
	return st, slotData, slotSize
}

func callSetHeaderMapPairs(mapType uint32, pairs []byte) uint32 {
	st := proxySetHeaderMapPairs(mapType, addrOf(pairs), uint32(len(pairs)))
	runtime.KeepAlive(unsafe.SliceData(pairs))
	return st
}

func callAddHeaderMapValue(mapType uint32, key, value string) uint32 {
	st := proxyAddHeaderMapValue(mapType, strAddr(key), uint32(len(key)), strAddr(value), uint32(len(value)))
	runtime.KeepAlive(unsafe.StringData(key))
	runtime.KeepAlive(unsafe.StringData(value))
	return st
}

func callSendLocalResponse(code uint32, details string, body, headers []byte) uint32 {
	st := proxySendLocalResponse(code,
		strAddr(details), uint32(len(details)),
		addrOf(body), uint32(len(body)),
		addrOf(headers), uint32(len(headers)),
		noGRPCStatus)
	runtime.KeepAlive(unsafe.StringData(details))
	runtime.KeepAlive(unsafe.SliceData(body))
	runtime.KeepAlive(unsafe.SliceData(headers))
	return st
}

func callGetProperty(path []byte) (st, data, size uint32) {
	d, s := slots()
	st = proxyGetProperty(addrOf(path), uint32(len(path)), d, s)
	runtime.KeepAlive(unsafe.SliceData(path))
	return st, slotData, slotSize
}

func callDefineMetric(metricType uint32, name string) (st, id uint32) {
	d, _ := slots()
	st = proxyDefineMetric(metricType, strAddr(name), uint32(len(name)), d)
	runtime.KeepAlive(unsafe.StringData(name))
	return st, slotData
}

func callIncrementMetric(id uint32, delta int64) uint32 {
	return proxyIncrementMetric(id, delta)
}

func callGetBufferBytes(bufferType, start, maxSize uint32) (st, data, size uint32) {
	d, s := slots()
	st = proxyGetBufferBytes(bufferType, start, maxSize, d, s)
	return st, slotData, slotSize
}

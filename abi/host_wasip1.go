//go:build wasip1

package abi

import "unsafe"

// Host calls (proxy-wasm ABI 0.2.1). Every call returns a status (0 is OK).
// A string parameter is passed as the two words the ABI expects, its
// address and length; a pointer parameter as an address. Both keep what
// they point to alive during the call, which matters because the host may
// call back into the module (proxy_on_memory_allocate), and so into Go's
// allocator, before it returns.

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg string) uint32

//go:wasmimport env proxy_get_log_level
func proxyGetLogLevel(returnLevel *uint32) uint32

//go:wasmimport env proxy_get_buffer_bytes
func proxyGetBufferBytes(bufferType, start, maxSize uint32, returnData, returnSize *uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, key string, returnData, returnSize *uint32) uint32

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType uint32, returnData, returnSize *uint32) uint32

//go:wasmimport env proxy_set_header_map_pairs
func proxySetHeaderMapPairs(mapType uint32, mapData *byte, mapSize uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mapType uint32, key, value string) uint32

//go:wasmimport env proxy_send_local_response
func proxySendLocalResponse(statusCode uint32, details string, bodyData *byte, bodySize uint32, headersData *byte, headersSize, grpcStatus uint32) uint32

//go:wasmimport env proxy_get_property
func proxyGetProperty(pathData *byte, pathSize uint32, returnData, returnSize *uint32) uint32

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(metricType uint32, name string, returnID *uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(metricID uint32, offset int64) uint32

// The slots the host writes results into. They are package variables, not
// locals: a host call that returns data calls proxy_on_memory_allocate before
// it writes the slots, and the Go code of that nested call may grow, and so
// move, the goroutine stack, which would leave the host writing to a stale
// stack address. Package variables never move. Host calls do not overlap, so
// one set of slots serves them all. A host may leave them untouched when it
// returns no data, so each call clears them first.
var slotData, slotSize uint32

// noGRPCStatus tells proxy_send_local_response not to set a gRPC status (-1).
const noGRPCStatus = ^uint32(0)

func callLog(level uint32, msg string) uint32 { return proxyLog(level, msg) }

// callLogLevel returns the host's log level, or 0 (the lowest, trace)
// when the host cannot say. Small, so that LogEnabled inlines.
func callLogLevel() uint32 {
	if proxyGetLogLevel(&slotData) != 0 {
		return 0
	}
	return slotData
}

func callGetHeaderMapValue(mapType uint32, key string) (st, data, size uint32) {
	slotData, slotSize = 0, 0
	st = proxyGetHeaderMapValue(mapType, key, &slotData, &slotSize)
	return st, slotData, slotSize
}

func callGetHeaderMapPairs(mapType uint32) (st, data, size uint32) {
	slotData, slotSize = 0, 0
	st = proxyGetHeaderMapPairs(mapType, &slotData, &slotSize)
	return st, slotData, slotSize
}

func callSetHeaderMapPairs(mapType uint32, pairs []byte) uint32 {
	return proxySetHeaderMapPairs(mapType, unsafe.SliceData(pairs), uint32(len(pairs)))
}

func callAddHeaderMapValue(mapType uint32, key, value string) uint32 {
	return proxyAddHeaderMapValue(mapType, key, value)
}

func callSendLocalResponse(code uint32, details string, body, headers []byte) uint32 {
	return proxySendLocalResponse(code, details,
		unsafe.SliceData(body), uint32(len(body)),
		unsafe.SliceData(headers), uint32(len(headers)),
		noGRPCStatus)
}

func callGetProperty(path []byte) (st, data, size uint32) {
	slotData, slotSize = 0, 0
	st = proxyGetProperty(unsafe.SliceData(path), uint32(len(path)), &slotData, &slotSize)
	return st, slotData, slotSize
}

func callDefineMetric(metricType uint32, name string) (st, id uint32) {
	slotData = 0
	st = proxyDefineMetric(metricType, name, &slotData)
	return st, slotData
}

func callIncrementMetric(id uint32, delta int64) uint32 {
	return proxyIncrementMetric(id, delta)
}

func callGetBufferBytes(bufferType, start, maxSize uint32) (st, data, size uint32) {
	slotData, slotSize = 0, 0
	st = proxyGetBufferBytes(bufferType, start, maxSize, &slotData, &slotSize)
	return st, slotData, slotSize
}

//go:build !wasip1

package abi

// Outside a proxy-wasm host (a native build, for vet and unit tests) the host
// calls go to fakeHost when a test sets it, and otherwise fail with
// ErrNotInHost (Log discards its message).

// host is the set of host calls, as the wasip1 build makes them. Data the
// host returns is written into memory from allocate, as a real host does.
type host interface {
	Log(level uint32, msg string) uint32
	GetLogLevel() (st, level uint32)
	GetHeaderMapValue(mapType uint32, key string) (st, data, size uint32)
	GetHeaderMapPairs(mapType uint32) (st, data, size uint32)
	SetHeaderMapPairs(mapType uint32, pairs []byte) uint32
	AddHeaderMapValue(mapType uint32, key, value string) uint32
	SendLocalResponse(code uint32, details string, body, headers []byte) uint32
	GetProperty(path []byte) (st, data, size uint32)
	DefineMetric(metricType uint32, name string) (st, id uint32)
	IncrementMetric(id uint32, delta int64) uint32
	GetBufferBytes(bufferType, start, maxSize uint32) (st, data, size uint32)
}

// fakeHost receives the host calls of a native build; nil outside tests.
var fakeHost host

func callLog(level uint32, msg string) uint32 {
	if fakeHost == nil {
		return statusNotInHost
	}
	return fakeHost.Log(level, msg)
}

func callLogLevel() uint32 {
	if fakeHost == nil {
		return 0
	}
	st, level := fakeHost.GetLogLevel()
	if st != statusOK {
		return 0
	}
	return level
}

func callGetHeaderMapValue(mapType uint32, key string) (st, data, size uint32) {
	if fakeHost == nil {
		return statusNotInHost, 0, 0
	}
	return fakeHost.GetHeaderMapValue(mapType, key)
}

func callGetHeaderMapPairs(mapType uint32) (st, data, size uint32) {
	if fakeHost == nil {
		return statusNotInHost, 0, 0
	}
	return fakeHost.GetHeaderMapPairs(mapType)
}

func callSetHeaderMapPairs(mapType uint32, pairs []byte) uint32 {
	if fakeHost == nil {
		return statusNotInHost
	}
	return fakeHost.SetHeaderMapPairs(mapType, pairs)
}

func callAddHeaderMapValue(mapType uint32, key, value string) uint32 {
	if fakeHost == nil {
		return statusNotInHost
	}
	return fakeHost.AddHeaderMapValue(mapType, key, value)
}

func callSendLocalResponse(code uint32, details string, body, headers []byte) uint32 {
	if fakeHost == nil {
		return statusNotInHost
	}
	return fakeHost.SendLocalResponse(code, details, body, headers)
}

func callGetProperty(path []byte) (st, data, size uint32) {
	if fakeHost == nil {
		return statusNotInHost, 0, 0
	}
	return fakeHost.GetProperty(path)
}

func callDefineMetric(metricType uint32, name string) (st, id uint32) {
	if fakeHost == nil {
		return statusNotInHost, 0
	}
	return fakeHost.DefineMetric(metricType, name)
}

func callIncrementMetric(id uint32, delta int64) uint32 {
	if fakeHost == nil {
		return statusNotInHost
	}
	return fakeHost.IncrementMetric(id, delta)
}

func callGetBufferBytes(bufferType, start, maxSize uint32) (st, data, size uint32) {
	if fakeHost == nil {
		return statusNotInHost, 0, 0
	}
	return fakeHost.GetBufferBytes(bufferType, start, maxSize)
}

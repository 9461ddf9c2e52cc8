package abi

import (
	"errors"
	"strconv"
)

// Host calls for the plugin. They may be called from the callbacks of Root
// and Stream (not from init). Strings and bytes they return may be views of
// memory the host wrote. In a Root's callbacks that memory is never reused.
// In a Stream's callbacks it belongs to the stream: it stays valid until the
// stream's OnDelete returns, and is then reused for later streams, so a
// plugin that keeps a value past OnDelete must copy it.

// Log sends msg to the host's log at level.
func Log(level LogLevel, msg string) {
	callLog(uint32(level), msg)
}

// LogEnabled reports whether the host keeps lines at level, so that a line
// it would drop need not be built. It asks the host each time
// (proxy_get_log_level): an operator may change the level while the VM runs
// (Envoy's admin endpoint /logging). When the host cannot say, it reports
// true.
func LogEnabled(level LogLevel) bool {
	return uint32(level) >= callLogLevel()
}

// LogBytes is Log for a message built in a reused buffer (the host copies
// it before the call returns).
func LogBytes(level LogLevel, msg []byte) {
	callLog(uint32(level), bytesString(msg))
}

// GetHeader returns the value of header name (lower case) in the map. ok is
// false when the header is absent; also when the host call fails, which is
// logged and reported to the internal error hook. With several lines of the
// header, the host returns one of them.
func GetHeader(mapType MapType, name string) (value string, ok bool) {
	st, data, size := callGetHeaderMapValue(uint32(mapType), name)
	afterHostReply()
	var b []byte
	var err error
	switch st {
	case statusOK:
		b, err = claim(data, size)
	case statusNotFound:
		return "", false
	default:
		err = failure(st)
	}
	if err != nil {
		hostFailure("proxy_get_header_map_value("+name+")", err)
		return "", false
	}
	return bytesString(b), true
}

// AddHeader adds one header line to the map, beside any of the same name.
func AddHeader(mapType MapType, name, value string) error {
	return statusError(callAddHeaderMapValue(uint32(mapType), name, value))
}

// AddHeaders adds header lines to the map, as AddHeader does, in order. It
// stops at the first that fails and returns its error with its name.
func AddHeaders(mapType MapType, lines [][2]string) (failed string, err error) {
	for _, h := range lines {
		if st := callAddHeaderMapValue(uint32(mapType), h[0], h[1]); st != statusOK {
			return h[0], failure(st)
		}
	}
	return "", nil
}

// GetHeaders returns every header line of the map, in order.
func GetHeaders(mapType MapType) ([][2]string, error) {
	return AppendHeaders(nil, mapType)
}

// AppendHeaders appends every header line of the map to dst, in order, and
// returns the extended slice. The strings are views of memory the host wrote.
func AppendHeaders(dst [][2]string, mapType MapType) ([][2]string, error) {
	if c := cb.stream; c != nil && c.preSize != 0 && mapType == MapResponseHeaders {
		ps, err := readPre(c)
		if err != nil {
			return dst, err
		}
		return ps.Append(growPairs(dst, ps.n)), nil
	}
	st, data, size := callGetHeaderMapPairs(uint32(mapType))
	afterHostReply()
	if st != statusOK {
		return dst, failure(st)
	}
	b, err := claim(data, size)
	if err != nil {
		return dst, err
	}
	return ParsePairs(dst, b)
}

// SetHeaders replaces every header line of the map with headers.
func SetHeaders(mapType MapType, headers [][2]string) error {
	outbound = AppendPairs(outbound[:0], headers)
	return statusError(callSetHeaderMapPairs(uint32(mapType), outbound))
}

// SendLocalResponse makes the host answer the request itself with status,
// headers and body; details is the response code details Envoy records (no
// spaces). The callback then returns types.ActionPause.
func SendLocalResponse(status int, headers [][2]string, body []byte, details string) error {
	if status < 100 || status > 999 {
		return errBadStatus
	}
	outbound = AppendPairs(outbound[:0], headers)
	return statusError(callSendLocalResponse(uint32(status), details, body, outbound))
}

// SendLocalResponseTemplate is SendLocalResponse with headers serialized
// from t, value filling its open value, and no body.
func SendLocalResponseTemplate(status int, t *HeaderTemplate, value, details string) error {
	if status < 100 || status > 999 {
		return errBadStatus
	}
	return statusError(callSendLocalResponse(uint32(status), details, nil, t.Fill(value)))
}

// SendLocalResponseSerialized is SendLocalResponse with headers already
// serialized (AppendPairs, HeaderTemplate.Fill) and no body: an answer
// that is the same for many requests is serialized once and handed to
// the host as it is.
func SendLocalResponseSerialized(status int, headers []byte, details string) error {
	if status < 100 || status > 999 {
		return errBadStatus
	}
	return statusError(callSendLocalResponse(uint32(status), details, nil, headers))
}

// GetProperty returns the value of the host property at path, e.g.
// GetProperty("xds", "route_name"). ok is false when the property is absent;
// err reports a failed host call, which the caller must not mistake for an
// absent property. The value is a view of memory the host wrote (it may hold
// any bytes: some properties are serialized protobuf).
func GetProperty(path ...string) (value string, ok bool, err error) {
	outbound = AppendPath(outbound[:0], path)
	st, data, size := callGetProperty(outbound)
	afterHostReply()
	if st == statusNotFound {
		return "", false, nil
	}
	b, err := claimResult(st, data, size)
	if err != nil {
		return "", false, err
	}
	return bytesString(b), true, nil
}

// DefineCounter defines a counter metric and returns its ID. Call it from
// OnVMStart or OnConfigure: the host refuses it during init.
func DefineCounter(name string) (uint32, error) {
	st, id := callDefineMetric(metricCounter, name)
	if err := statusError(st); err != nil {
		return 0, err
	}
	return id, nil
}

// IncrementCounter adds delta to the counter id. A failure is ignored: there
// is nothing useful to do about a counter that cannot be counted.
func IncrementCounter(id uint32, delta int64) {
	callIncrementMetric(id, delta)
}

// outbound is reused to serialize what is passed to the host, which copies it
// before the host call returns.
var outbound []byte

// errBadStatus reports an HTTP status outside 100-999.
var errBadStatus = errors.New("abi: HTTP status out of range")

// getBuffer reads the first size bytes of a host buffer (e.g. the plugin
// configuration).
func getBuffer(bufferType, size uint32) ([]byte, error) {
	st, data, n := callGetBufferBytes(bufferType, 0, size)
	afterHostReply()
	return claimResult(st, data, n)
}

// claimResult turns a host call's status and result slots into the bytes the
// host wrote. GetHeader and AppendHeaders spell it out instead, so that
// claim inlines there: one Wasm call less per request header read.
func claimResult(st, data, size uint32) ([]byte, error) {
	if st != statusOK {
		return nil, failure(st)
	}
	return claim(data, size)
}

// hostFailure logs a host call failure that the API cannot return and
// reports it to the internal error hook.
func hostFailure(call string, err error) {
	Log(LogWarn, "abi: "+call+": "+err.Error())
	reportInternalError()
}

// itoa formats n for log lines.
func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

package main

import (
	"slices"
	"strconv"
	"strings"
)

// A small model of what a browser does around a cross-origin fetch(): which
// headers it sends, whether it preflights, and which CORS check fails on
// the answer, worded as Chromium words it in the console
// (third_party/blink/renderer/platform/loader/cors/cors_error_string.cc).
// It models the browser only; every verdict of the plugin comes from the
// engine.

// reqHeader is a header the page sets.
type reqHeader struct {
	name     string // lower case
	value    string
	hasValue bool // the user gave a value
}

// browserMethod is the method as the browser sends it: the six methods
// Fetch normalizes are upper-cased, others go as the page wrote them.
func browserMethod(m string) string {
	if slices.Contains(normalizedMethods, strings.ToUpper(m)) {
		return strings.ToUpper(m)
	}
	return m
}

// safelistedMethod says whether m is a CORS-safelisted method.
func safelistedMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }

// forbiddenHeader reports the names a page can never set: the browser drops
// them silently.
func forbiddenHeader(name string) bool {
	switch name {
	case "accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
		"connection", "content-length", "cookie", "cookie2", "date", "dnt", "expect", "host", "keep-alive",
		"origin", "referer", "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "via":
		return true
	}
	return strings.HasPrefix(name, "proxy-") || strings.HasPrefix(name, "sec-")
}

// safelistedHeader follows Fetch's "CORS-safelisted request-header". A
// header given without a value is judged by the value pages usually send:
// accept and the language headers pass, content-type (JSON) does not.
func safelistedHeader(h reqHeader) bool {
	v := h.value
	switch h.name {
	case "accept":
		return !h.hasValue || len(v) <= 128 && !hasUnsafeByte(v)
	case "accept-language", "content-language":
		if !h.hasValue {
			return true
		}
		if len(v) > 128 {
			return false
		}
		for _, c := range []byte(v) {
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(" *,-.;=", c) >= 0) {
				return false
			}
		}
		return true
	case "content-type":
		if !h.hasValue || len(v) > 128 || hasUnsafeByte(v) {
			return false
		}
		essence, _, _ := strings.Cut(v, ";")
		switch strings.ToLower(strings.TrimSpace(essence)) {
		case "application/x-www-form-urlencoded", "multipart/form-data", "text/plain":
			return true
		}
		return false
	case "range":
		return h.hasValue && simpleRange(v)
	}
	return false
}

// hasUnsafeByte finds a CORS-unsafe request-header byte.
func hasUnsafeByte(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x20 && c != '\t' || c == 0x7f || strings.IndexByte("\"():<>?@[\\]{}", c) >= 0 {
			return true
		}
	}
	return false
}

// simpleRange checks "bytes=N-" or "bytes=N-M" with N <= M.
func simpleRange(v string) bool {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return false
	}
	first, last, ok := strings.Cut(spec, "-")
	a, err := strconv.ParseUint(first, 10, 64)
	if !ok || err != nil {
		return false
	}
	if last == "" {
		return true
	}
	b, err := strconv.ParseUint(last, 10, 64)
	return err == nil && a <= b
}

// unsafeHeaderNames lists, sorted and lower case, the names a preflight
// asks for in Access-Control-Request-Headers.
func unsafeHeaderNames(headers []reqHeader) []string {
	var out []string
	for _, h := range headers {
		if !safelistedHeader(h) && !slices.Contains(out, h.name) {
			out = append(out, h.name)
		}
	}
	slices.Sort(out)
	return out
}

// corsFailure is a failed CORS check, as Chromium reports it.
type corsFailure struct {
	preflight bool   // Chromium prefixes "Response to preflight request doesn't pass access control check: "
	text      string // the rest of the message
}

// headerValues returns every value of name in hdrs.
func headerValues(hdrs [][2]string, name string) []string {
	var out []string
	for _, h := range hdrs {
		if h[0] == name {
			out = append(out, h[1])
		}
	}
	return out
}

// accessCheck is Fetch's "CORS check" of a response, in Chromium's order.
func accessCheck(origin string, credentials bool, hdrs [][2]string) string {
	values := headerValues(hdrs, "access-control-allow-origin")
	switch {
	case len(values) == 0:
		return "No 'Access-Control-Allow-Origin' header is present on the requested resource."
	case len(values) > 1 || strings.Contains(values[0], ","):
		return "The 'Access-Control-Allow-Origin' header contains multiple values '" + strings.Join(values, ", ") + "', but only one is allowed."
	case values[0] == "*":
		if credentials {
			return "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'."
		}
	case values[0] != origin:
		return "The 'Access-Control-Allow-Origin' header has a value '" + values[0] + "' that is not equal to the supplied origin."
	}
	if credentials {
		acac := strings.Join(headerValues(hdrs, "access-control-allow-credentials"), ", ")
		if acac != "true" {
			return "The value of the 'Access-Control-Allow-Credentials' header in the response is '" + acac + "' which must be 'true' when the request's credentials mode is 'include'."
		}
	}
	return ""
}

// noCorsHint is what Chromium adds for fetch() when the origin check fails.
const noCorsHint = " If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."
const noCorsValueHint = " Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."

// withHint adds the hint Chromium adds to some access-check failures.
func withHint(text string) string {
	switch {
	case strings.HasPrefix(text, "No 'Access-Control-Allow-Origin'"):
		return text + noCorsHint
	case strings.HasPrefix(text, "The 'Access-Control-Allow-Origin' header"):
		return text + noCorsValueHint
	}
	return text
}

// checkPreflight is what the browser checks of a preflight's answer.
func checkPreflight(origin, method string, unsafe []string, credentials bool, status int, hdrs [][2]string) *corsFailure {
	if text := accessCheck(origin, credentials, hdrs); text != "" {
		return &corsFailure{preflight: true, text: withHint(text)}
	}
	if status < 200 || status > 299 {
		return &corsFailure{preflight: true, text: "It does not have HTTP ok status."}
	}
	methods := splitList(headerValues(hdrs, "access-control-allow-methods"))
	if !safelistedMethod(method) && !slices.Contains(methods, method) && !(slices.Contains(methods, "*") && !credentials) {
		return &corsFailure{text: "Method " + method + " is not allowed by Access-Control-Allow-Methods in preflight response."}
	}
	allowed := splitList(headerValues(hdrs, "access-control-allow-headers"))
	for i := range allowed {
		allowed[i] = strings.ToLower(allowed[i])
	}
	for _, name := range unsafe {
		if !slices.Contains(allowed, name) && !(slices.Contains(allowed, "*") && !credentials && name != "authorization") {
			return &corsFailure{text: "Request header field " + name + " is not allowed by Access-Control-Allow-Headers in preflight response."}
		}
	}
	return nil
}

// checkResponse is what the browser checks of the actual answer.
func checkResponse(origin string, credentials bool, hdrs [][2]string) *corsFailure {
	if text := accessCheck(origin, credentials, hdrs); text != "" {
		return &corsFailure{text: withHint(text)}
	}
	return nil
}

// splitList splits comma-separated header values into trimmed items.
func splitList(lines []string) []string {
	var out []string
	for _, line := range lines {
		for _, v := range strings.Split(line, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// consoleMessage is the whole console line.
func consoleMessage(url, origin string, f *corsFailure) string {
	msg := "Access to fetch at '" + url + "' from origin '" + origin + "' has been blocked by CORS policy: "
	if f.preflight {
		msg += "Response to preflight request doesn't pass access control check: "
	}
	return msg + f.text
}

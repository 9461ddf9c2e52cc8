// Package fetch holds the tables of the WHATWG Fetch standard (and the HTTP
// token rule it builds on) that the CORS engine and its tools consult:
// which methods and request and response headers are CORS-safelisted,
// which a page can never send, and how browsers normalize a method.
//
// Every function is allocation-free; names are compared byte-case-insensitively
// wherever Fetch does.
package fetch

import "strings"

// IsToken reports whether s is an HTTP token (RFC 9110: token = 1*tchar),
// the syntax of method and header names.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return true
}

// IsTokenChar reports whether c is an RFC 9110 tchar.
func IsTokenChar(c byte) bool { return tchar[c] }

// tchar holds RFC 9110's tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" /
// "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
var tchar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	return t
}()

// IsSafelistedMethod reports whether m is a CORS-safelisted method: GET,
// HEAD or POST, compared case-sensitively as Fetch does. A preflight never
// needs one allowed.
func IsSafelistedMethod(m string) bool { return m == "GET" || m == "HEAD" || m == "POST" }

// normalizedMethods are the methods Fetch upper-cases ("normalize a method").
var normalizedMethods = [...]string{"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"}

// NormalizeMethod returns m as a browser sends it: DELETE, GET, HEAD,
// OPTIONS, POST and PUT in any letter case are upper-cased; any other
// method goes as the page wrote it.
func NormalizeMethod(m string) string {
	for _, n := range normalizedMethods {
		if equalFold(n, m) {
			return n
		}
	}
	return m
}

// forbiddenMethods are the methods Fetch never lets a page send.
var forbiddenMethods = [...]string{"CONNECT", "TRACE", "TRACK"}

// IsForbiddenMethod reports whether m is a forbidden method (CONNECT, TRACE
// or TRACK, in any letter case).
func IsForbiddenMethod(m string) bool {
	for _, f := range forbiddenMethods {
		if equalFold(f, m) {
			return true
		}
	}
	return false
}

// forbiddenRequestHeaders are the names of Fetch's "forbidden request-header"
// list, lower case; names starting with "proxy-" or "sec-" are forbidden too.
var forbiddenRequestHeaders = [...]string{"accept-charset", "accept-encoding", "access-control-request-headers",
	"access-control-request-method", "connection", "content-length", "cookie", "cookie2", "date", "dnt",
	"expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
	"transfer-encoding", "upgrade", "via"}

// IsForbiddenRequestHeader reports whether a page can never set the header
// name (in any letter case): browsers drop it silently and never list it in
// Access-Control-Request-Headers. The method-override headers, which Fetch
// forbids only with some values, are not included.
func IsForbiddenRequestHeader(name string) bool {
	for _, f := range forbiddenRequestHeaders {
		if equalFold(f, name) {
			return true
		}
	}
	return hasPrefixFold(name, "proxy-") || hasPrefixFold(name, "sec-")
}

// IsForbiddenResponseHeader reports whether name (in any letter case) is a
// forbidden response-header name, set-cookie or set-cookie2: browsers never
// expose it to pages, whatever access-control-expose-headers says.
func IsForbiddenResponseHeader(name string) bool {
	return equalFold(name, "set-cookie") || equalFold(name, "set-cookie2")
}

// safelistedResponseHeaders are Fetch's CORS-safelisted response-header
// names, lower case.
var safelistedResponseHeaders = [...]string{"cache-control", "content-language", "content-length",
	"content-type", "expires", "last-modified", "pragma"}

// IsSafelistedResponseHeader reports whether name (in any letter case) is a
// CORS-safelisted response-header name, which pages read without
// access-control-expose-headers listing it.
func IsSafelistedResponseHeader(name string) bool {
	for _, s := range safelistedResponseHeaders {
		if equalFold(s, name) {
			return true
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && equalFold(s[:len(prefix)], prefix)
}

// equalFold compares ASCII case-insensitively ("byte-case-insensitive" in
// Fetch): unlike strings.EqualFold, "\u017f" (long s) is not "s".
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// maxSafelistedValue bounds the value of a CORS-safelisted request header.
const maxSafelistedValue = 128

// IsSafelistedRequestHeader reports whether a header with this name (in
// any letter case) and value is a CORS-safelisted request-header, which a
// page may send without a preflight: accept, accept-language,
// content-language, content-type (form, multipart or plain text) and a
// single-range range, each with a value of at most 128 bytes free of
// CORS-unsafe bytes.
func IsSafelistedRequestHeader(name, value string) bool {
	if len(value) > maxSafelistedValue {
		return false
	}
	switch {
	case equalFold(name, "accept"):
		return !hasUnsafeByte(value)
	case equalFold(name, "accept-language"), equalFold(name, "content-language"):
		for i := 0; i < len(value); i++ {
			c := value[i]
			if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || strings.IndexByte(" *,-.;=", c) >= 0) {
				return false
			}
		}
		return true
	case equalFold(name, "content-type"):
		if hasUnsafeByte(value) {
			return false
		}
		essence, _, _ := strings.Cut(value, ";")
		essence = strings.TrimSpace(essence)
		return equalFold(essence, "application/x-www-form-urlencoded") ||
			equalFold(essence, "multipart/form-data") || equalFold(essence, "text/plain")
	case equalFold(name, "range"):
		return simpleRange(value)
	}
	return false
}

// hasUnsafeByte finds a CORS-unsafe request-header byte.
func hasUnsafeByte(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 && c != '\t' || c == 0x7f || strings.IndexByte("\"():<>?@[\\]{}", c) >= 0 {
			return true
		}
	}
	return false
}

// simpleRange checks "bytes=N-" or "bytes=N-M" with N <= M (Fetch's "simple
// range header value").
func simpleRange(v string) bool {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return false
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return false
	}
	a, ok := decimal(first)
	if !ok {
		return false
	}
	if last == "" {
		return true
	}
	b, ok := decimal(last)
	return ok && a <= b
}

// decimal reads a non-empty run of ASCII digits that fits in a uint64.
func decimal(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (1<<64-1-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

package main

import (
	"slices"
	"strconv"
	"strings"

	"github.com/corswasm/corswasm/filter"
	"github.com/corswasm/corswasm/internal/fetch"
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

// safelistedHeader says whether the page's header is a CORS-safelisted
// request-header, which needs no preflight. A header given without a value
// is judged with the empty one, which gives what pages usually send:
// accept and the language headers pass; content-type (usually JSON) and
// range do not.
func safelistedHeader(h reqHeader) bool {
	return fetch.IsSafelistedRequestHeader(h.name, h.value)
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

// checkPreflight is what the browser checks of a preflight's answer:
// filter.BrowserCheck, worded as Chromium words it.
func checkPreflight(origin, method string, unsafe []string, credentials bool, status int, hdrs [][2]string) *corsFailure {
	r := filter.BrowserRequest{Preflight: true, Origin: origin, Method: method, RequestHeaders: unsafe, Credentialed: credentials}
	resp := append([][2]string{{":status", strconv.Itoa(status)}}, hdrs...)
	return browserFailure(&r, resp, hdrs)
}

// checkResponse is what the browser checks of the actual answer.
func checkResponse(origin string, credentials bool, hdrs [][2]string) *corsFailure {
	r := filter.BrowserRequest{Origin: origin, Credentialed: credentials}
	return browserFailure(&r, hdrs, hdrs)
}

// browserFailure runs the browser's checks of r's answer resp (hdrs: its
// lines without the status) and words a refusal in Chromium's text. A
// failure of the CORS check itself is the preflight's own failure.
func browserFailure(r *filter.BrowserRequest, resp, hdrs [][2]string) *corsFailure {
	refusal, detail := filter.BrowserCheck(r, resp)
	access := func(text string) *corsFailure { return &corsFailure{preflight: r.Preflight, text: text} }
	switch refusal {
	case filter.RefusalNone:
		return nil
	case filter.RefusalNoAllowOrigin:
		return access("No 'Access-Control-Allow-Origin' header is present on the requested resource." + noCorsHint)
	case filter.RefusalOriginNotAllowed:
		values := headerValues(hdrs, "access-control-allow-origin")
		if len(values) > 1 || strings.Contains(values[0], ",") {
			return access("The 'Access-Control-Allow-Origin' header contains multiple values '" + strings.Join(values, ", ") + "', but only one is allowed." + noCorsValueHint)
		}
		return access("The 'Access-Control-Allow-Origin' header has a value '" + values[0] + "' that is not equal to the supplied origin." + noCorsValueHint)
	case filter.RefusalWildcardWithCredentials:
		return access("The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' when the request's credentials mode is 'include'.")
	case filter.RefusalCredentialsNotAllowed:
		acac := strings.Join(headerValues(hdrs, "access-control-allow-credentials"), ", ")
		return access("The value of the 'Access-Control-Allow-Credentials' header in the response is '" + acac + "' which must be 'true' when the request's credentials mode is 'include'.")
	case filter.RefusalPreflightStatus:
		return access("It does not have HTTP ok status.")
	case filter.RefusalInvalidAllowMethods:
		return &corsFailure{text: "Cannot parse Access-Control-Allow-Methods response header field in preflight response."}
	case filter.RefusalMethodNotAllowed:
		return &corsFailure{text: "Method " + detail + " is not allowed by Access-Control-Allow-Methods in preflight response."}
	case filter.RefusalInvalidAllowHeaders:
		return &corsFailure{text: "Cannot parse Access-Control-Allow-Headers response header field in preflight response."}
	case filter.RefusalHeaderNotAllowed:
		return &corsFailure{text: "Request header field " + detail + " is not allowed by Access-Control-Allow-Headers in preflight response."}
	}
	return &corsFailure{text: refusal.String()}
}

// noCorsHint is what Chromium adds for fetch() when the origin check fails.
const noCorsHint = " If an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."
const noCorsValueHint = " Have the server send the header with a valid value, or, if an opaque response serves your needs, set the request's mode to 'no-cors' to fetch the resource with CORS disabled."

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

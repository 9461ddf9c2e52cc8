//go:build !wasip1

package devhost

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/corswasm/corswasm/internal/wasmhost"
)

// Decision is what became of one request: what the browser sent, who
// answered, the CORS headers of the answer and what the plugin logged (its
// reason, for a denial).
type Decision struct {
	// ID increases with every request the Handler records.
	ID     uint64    `json:"id"`
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	// Path is the request target: path and query.
	Path   string `json:"path"`
	Origin string `json:"origin,omitempty"`
	// Kind is "preflight" (OPTIONS with Origin and
	// Access-Control-Request-Method), "actual" (any other request with
	// Origin) or "no origin".
	Kind string `json:"kind"`
	// RequestMethod and RequestHeaders are what a preflight asked for.
	RequestMethod  string `json:"requestMethod,omitempty"`
	RequestHeaders string `json:"requestHeaders,omitempty"`
	// Status is the status the client got.
	Status int `json:"status"`
	// Answer says who answered: "plugin" (a local reply: a preflight
	// answer or a denial), "upstream", or "host" (the upstream could not
	// be reached, or the plugin failed).
	Answer string `json:"answer"`
	// Allowed says whether the request got through: for a request with
	// Origin, whether the answer carries access-control-allow-origin,
	// without which a browser lets no cross-origin page read it; a request
	// without Origin is no CORS request, which the plugin passes: always
	// true.
	Allowed bool `json:"allowed"`
	// Outcome is "allowed" or "denied" for a request with Origin (as
	// Allowed says), "passed" for one without.
	Outcome string `json:"outcome"`
	// CORS holds the answer's access-control-* headers and vary, by name.
	CORS map[string]string `json:"cors,omitempty"`
	// Plugin holds the lines the plugin logged for the request, e.g.
	// `cors: denied preflight from origin "https://evil.example" (policy default): origin not allowed`.
	Plugin []string `json:"plugin,omitempty"`
	// Error is the host's reason for a 502, 504 or 500.
	Error string `json:"error,omitempty"`
}

func newDecision(r *http.Request) Decision {
	d := Decision{Time: time.Now(), Method: r.Method, Path: r.URL.RequestURI(), Kind: "no origin"}
	if o := r.Header.Values("Origin"); len(o) > 0 {
		d.Origin = strings.Join(o, ", ")
		d.Kind = "actual"
		d.RequestMethod = r.Header.Get("Access-Control-Request-Method")
		if r.Method == http.MethodOptions && d.RequestMethod != "" {
			d.Kind = "preflight"
			d.RequestHeaders = strings.Join(r.Header.Values("Access-Control-Request-Headers"), ", ")
		} else {
			d.RequestMethod = ""
		}
	}
	return d
}

// finish completes the decision with the response the client gets.
func (d *Decision) finish(status int, resp wasmhost.Headers, logs []wasmhost.LogLine) {
	d.Status = status
	for _, l := range resp {
		if strings.HasPrefix(l.Name, "access-control-") || l.Name == "vary" {
			if d.CORS == nil {
				d.CORS = map[string]string{}
			}
			if prev, ok := d.CORS[l.Name]; ok {
				d.CORS[l.Name] = prev + ", " + l.Value
			} else {
				d.CORS[l.Name] = l.Value
			}
		}
	}
	_, d.Allowed = d.CORS["access-control-allow-origin"]
	switch {
	case d.Origin == "":
		d.Allowed, d.Outcome = true, "passed"
	case d.Allowed:
		d.Outcome = "allowed"
	default:
		d.Outcome = "denied"
	}
	for _, l := range logs {
		d.Plugin = append(d.Plugin, l.Message)
	}
}

// String describes the decision on one line, e.g.
//
//	PUT /v1/things/42 from http://localhost:8080: preflight, 204 by the plugin, allowed
func (d *Decision) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", d.Method, d.Path)
	if d.Origin != "" {
		fmt.Fprintf(&b, " from %s: %s", d.Origin, d.Kind)
		if d.Kind == "preflight" {
			fmt.Fprintf(&b, " for %s", d.RequestMethod)
			if d.RequestHeaders != "" {
				fmt.Fprintf(&b, " with %s", d.RequestHeaders)
			}
		}
		b.WriteString(",")
	} else {
		b.WriteString(":")
	}
	fmt.Fprintf(&b, " %d by the %s", d.Status, d.Answer)
	switch {
	case d.Origin == "":
		b.WriteString(", passed (no Origin)")
	case d.Allowed:
		b.WriteString(", allowed")
	default:
		b.WriteString(", no CORS headers")
	}
	for _, p := range d.Plugin {
		b.WriteString("; ")
		b.WriteString(p)
	}
	if d.Error != "" {
		b.WriteString("; ")
		b.WriteString(d.Error)
	}
	return b.String()
}

// maxDecisions is how many decisions the Handler keeps.
const maxDecisions = 500

// decisionLog keeps the last decisions.
type decisionLog struct {
	mu     sync.Mutex
	lastID uint64
	recent []Decision // oldest first
}

// record numbers the decision, keeps it and writes it to the access log.
func (h *Handler) record(d *Decision) {
	l := &h.decisions
	l.mu.Lock()
	l.lastID++
	d.ID = l.lastID
	if len(l.recent) == maxDecisions {
		l.recent = slices.Delete(l.recent, 0, maxDecisions/5)
	}
	l.recent = append(l.recent, *d)
	l.mu.Unlock()
	h.logf("%s", d)
}

// Decisions returns the kept decisions (the last 500 at most) whose ID is
// above after, oldest first.
func (h *Handler) Decisions(after uint64) []Decision {
	l := &h.decisions
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.recent, after+1, func(d Decision, id uint64) int {
		switch {
		case d.ID < id:
			return -1
		case d.ID > id:
			return 1
		}
		return 0
	})
	return slices.Clone(l.recent[i:])
}

// serveOwn serves the paths under ReservedPrefix.
func (h *Handler) serveOwn(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		hdr.Set("Access-Control-Allow-Methods", "GET")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "only GET is served under " + ReservedPrefix})
		return
	}
	switch r.URL.Path {
	case ReservedPrefix + "decisions":
		var after uint64
		if s := r.URL.Query().Get("after"); s != "" {
			var err error
			if after, err = strconv.ParseUint(s, 10, 64); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "after must be a decision ID (a number)"})
				return
			}
		}
		ds := h.Decisions(after)
		if ds == nil {
			ds = []Decision{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"decisions": ds})
	case ReservedPrefix + "metrics":
		writeJSON(w, http.StatusOK, h.Metrics())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{
			"error": "not found; the host serves " + ReservedPrefix + "decisions and " + ReservedPrefix + "metrics",
		})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

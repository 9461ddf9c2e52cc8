// Package demo is the demo behind `make run`: a small JSON API to put behind
// the plugin (Upstream), and a page, served from another origin, that calls
// it across origins and shows what the browser allowed and blocked (Page).
package demo

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// Thing is the demo API's resource.
type Thing struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Upstream returns the demo JSON API. It knows nothing of CORS (the plugin
// in front of it does it all):
//
//	GET    /v1/things       the things
//	GET    /v1/things/{id}  one thing
//	PUT    /v1/things/{id}  create or replace a thing from {"name": "..."}
//	DELETE /v1/things/{id}  delete a thing: 204
//	GET    /v1/me           200 with the session cookie (demo_session) it got, 401 without one
//	GET    /public/status   {"status": "ok"} (config.json lets any origin read /public/)
//
// Every response carries the request's x-request-id (Envoy and the dev
// host set one) and x-upstream-build, which config.json does not expose.
func Upstream() http.Handler {
	api := &things{byID: map[int]Thing{1: {1, "Teapot"}, 2: {2, "Lamp"}, 3: {3, "Kettle"}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/things", api.list)
	mux.HandleFunc("GET /v1/things/{id}", api.get)
	mux.HandleFunc("PUT /v1/things/{id}", api.put)
	mux.HandleFunc("DELETE /v1/things/{id}", api.delete)
	mux.HandleFunc("GET /v1/me", me)
	mux.HandleFunc("GET /public/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" {
			id = randomHex(8)
		}
		w.Header().Set("X-Request-Id", id)
		w.Header().Set("X-Upstream-Build", "demo-1")
		mux.ServeHTTP(w, r)
	})
}

type things struct {
	mu   sync.Mutex
	byID map[int]Thing
}

func (t *things) list(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	list := make([]Thing, 0, len(t.byID))
	for _, th := range t.byID {
		list = append(list, th)
	}
	t.mu.Unlock()
	slices.SortFunc(list, func(a, b Thing) int { return a.ID - b.ID })
	writeJSON(w, http.StatusOK, list)
}

func (t *things) get(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(w, r)
	if !ok {
		return
	}
	t.mu.Lock()
	th, found := t.byID[id]
	t.mu.Unlock()
	if !found {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no thing %d", id)})
		return
	}
	writeJSON(w, http.StatusOK, th)
}

func (t *things) put(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(w, r)
	if !ok {
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&in); err != nil || in.Name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send JSON such as {"name": "Teapot"}`})
		return
	}
	th := Thing{id, in.Name}
	t.mu.Lock()
	if len(t.byID) < 1000 {
		t.byID[id] = th
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, th)
}

func (t *things) delete(w http.ResponseWriter, r *http.Request) {
	id, ok := thingID(w, r)
	if !ok {
		return
	}
	t.mu.Lock()
	delete(t.byID, id)
	t.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func thingID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil || id < 0 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a thing's id is a number"})
		return 0, false
	}
	return id, true
}

// me answers with the session cookie it got, or 401.
func me(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie("demo_session")
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Cookie realm="demo", cookie-name=demo_session`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first: no demo_session cookie"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": "demo", "session": c.Value})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

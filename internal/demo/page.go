package demo

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Page returns the demo page's server. Served from another origin than
// apiURL (e.g. http://localhost:8080 for an API at http://localhost:10000),
// the page calls the API with fetch as soon as it loads: a simple GET, a
// preflighted PUT and DELETE, a method and a header the policy does not
// allow, a request with credentials, exposed and unexposed response
// headers, a 401 and a public path. For each call it shows whether the
// browser let it read the answer and, from the dev host's
// /_corsdev/decisions, the plugin's reason. Served on a loopback address,
// the same page is reachable at http://localhost:PORT and
// http://127.0.0.1:PORT: two origins, which the example config.json allows
// and does not allow.
func Page(apiURL string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		pageTemplate.Execute(w, struct{ API string }{apiURL})
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

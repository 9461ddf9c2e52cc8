package demo

import (
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// pageData is what the page template reads.
type pageData struct {
	API string
	// Source names the policy; Policy describes it (Policy.Describe), and
	// Verdicts gives, by origin, what it does to a GET of the API (Short).
	// All empty without a policy.
	Source   string
	Policy   []string
	Verdicts map[string]string
}

// Page returns the demo page's server. Served from another origin than
// apiURL (e.g. http://localhost:8080 for an API at http://localhost:10000),
// the page calls the API with fetch as soon as it loads: a simple GET, a
// preflighted PUT and DELETE, a method and a header the policy does not
// allow, a request with credentials, exposed and unexposed response
// headers, a 401 and a public path. For each call it shows whether the
// browser let it read the answer and, from the dev host's
// /_corsdev/decisions, the plugin's reason. Served on a loopback address,
// the same page is reachable at http://localhost:PORT and
// http://127.0.0.1:PORT: two origins, which a policy may treat apart.
// Page says nothing of the policy; PolicyPage does.
func Page(apiURL string) http.Handler { return PolicyPage(apiURL, nil) }

// PolicyPage is Page that also says what policy, the one the plugin in
// front of the API runs, does to the page's origins (Policy.Describe), as
// the engine decides it.
func PolicyPage(apiURL string, policy *Policy) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		data := pageData{API: apiURL, Verdicts: map[string]string{}}
		if policy != nil {
			origins := PageOrigins(r.Host)
			data.Source = policy.Source
			data.Policy = policy.Describe(apiURL, origins)
			for _, o := range origins {
				data.Verdicts[o] = policy.Verdict(apiURL, o, Paths[0]).Short()
			}
		}
		pageTemplate.Execute(w, data)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

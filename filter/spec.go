package filter

// Spec is a CORS configuration as written: the JSON document the plugin
// reads, as a Go value. The struct tags name the JSON fields; see the
// docs/configuration.md for what each means.
//
// A configuration goes one way: decode (bytes to Spec), validate (the
// rules, as problems at field paths), compile (Spec to the Config that
// requests read). Parse does all three on a document; DecodeSpec and
// Compile do the first and the last two, for tools that build or edit a
// Spec.
//
// The top-level policy fields (the embedded PolicySpec) form the default
// policy, which applies where no entry of Policies matches; it exists
// only when it allows an origin.
type Spec struct {
	PolicySpec              // the default policy; its Match must be nil
	Mode       Mode         `json:"mode,omitempty"`     // enforce (the zero value) or report
	Debug      bool         `json:"debug,omitempty"`    // add ReasonHeader to denials; never in production
	Policies   []PolicySpec `json:"policies,omitempty"` // tried in order; each needs a Match
}

// PolicySpec is one policy as written: where it applies (Match, for an
// entry of Spec.Policies) and whom it lets in with what. The zero value of
// a field means the field is absent, and its default applies.
type PolicySpec struct {
	Name  string     `json:"name,omitempty"`  // optional in Spec.Policies (see ValidPolicyName), empty at the top level
	Match *MatchSpec `json:"match,omitempty"` // required in Spec.Policies, nil at the top level

	AllowOrigins        []string `json:"allowOrigins,omitempty"`        // exact origins, patterns, "null" or "*"
	AllowOriginRegexes  []string `json:"allowOriginRegexes,omitempty"`  // whole-origin regular expressions
	AllowMethods        []string `json:"allowMethods,omitempty"`        // methods a preflight may ask for, or "*"
	AllowHeaders        []string `json:"allowHeaders,omitempty"`        // request headers a preflight may ask for, or "*"
	ExposeHeaders       []string `json:"exposeHeaders,omitempty"`       // response headers pages may read, or "*"
	AllowCredentials    bool     `json:"allowCredentials,omitempty"`    // send access-control-allow-credentials: true
	MaxAge              *int     `json:"maxAge,omitempty"`              // seconds, 0 to 86400; nil leaves the browser's default
	AllowPrivateNetwork bool     `json:"allowPrivateNetwork,omitempty"` // answer Private Network Access preflights
	PreflightStatus     int      `json:"preflightStatus,omitempty"`     // 200 or 204; 0 means 204
	UnmatchedPreflights string   `json:"unmatchedPreflights,omitempty"` // "reject" ("" too) or "forward"
}

// MatchSpec says where a policy applies: every criterion given must hold,
// and a criterion holds when the request matches one of its values.
type MatchSpec struct {
	Hosts        []string `json:"hosts,omitempty"`        // host names, or "*." and a domain for its subdomains
	PathPrefixes []string `json:"pathPrefixes,omitempty"` // prefixes of :path, each starting with '/'
	RouteNames   []string `json:"routeNames,omitempty"`   // Envoy route names
}

// Parse decodes a JSON configuration, validates it and compiles it. On any
// error it returns a *ConfigError listing every problem found, in the order
// of the document, and no Config.
func Parse(data []byte) (*Config, error) {
	var spec Spec
	doc, decodeErrs := decode(data, &spec)
	if doc == nil {
		return nil, &ConfigError{merge(decodeErrs, nil)}
	}
	errs, warns := validate(&spec, doc)
	return build(&spec, merge(decodeErrs, errs), warns)
}

// Compile validates s and compiles it, as Parse does with a decoded
// document. On any error it returns a *ConfigError listing every problem,
// and no Config; warnings are in Config.Warnings.
func Compile(s Spec) (*Config, error) {
	errs, warns := validate(&s, layoutOf(&s))
	return build(&s, merge(nil, errs), warns)
}

// DecodeSpec reads a JSON configuration into a Spec without judging its
// values: it fails, with a *ConfigError, only on what stops it from
// reading the document (invalid JSON, unknown or repeated fields, wrong
// types, an unknown mode). Compile then applies the rules.
func DecodeSpec(data []byte) (Spec, error) {
	var spec Spec
	if _, errs := decode(data, &spec); len(errs) > 0 {
		return Spec{}, &ConfigError{merge(errs, nil)}
	}
	return spec, nil
}

// build compiles s unless there are errors.
func build(s *Spec, errs, warns []Problem) (*Config, error) {
	if len(errs) > 0 {
		return nil, &ConfigError{errs}
	}
	cfg := compile(s)
	cfg.warnings = warns
	return cfg, nil
}

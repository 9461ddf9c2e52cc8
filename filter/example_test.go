package filter_test

import (
	"fmt"

	"github.com/corswasm/corswasm/filter"
)

func Example() {
	cfg, err := filter.Parse([]byte(`{
		"allowOrigins": ["https://app.example.com"],
		"allowMethods": ["PUT"],
		"allowCredentials": true
	}`))
	if err != nil {
		panic(err)
	}
	var r filter.Request
	r.AddHeader(":method", "OPTIONS")
	r.AddHeader("origin", "https://app.example.com")
	r.AddHeader("access-control-request-method", "PUT")
	d := cfg.Evaluate(&r)
	status, headers, _ := d.LocalResponse(nil)
	fmt.Println(status)
	for _, h := range headers {
		fmt.Printf("%s: %s\n", h[0], h[1])
	}
	// Output:
	// 204
	// access-control-allow-origin: https://app.example.com
	// access-control-allow-credentials: true
	// access-control-allow-methods: PUT
	// vary: origin, access-control-request-method, access-control-request-headers
}

func ExampleParse() {
	_, err := filter.Parse([]byte(`{"allowOrigins": ["https://app.example.com/"], "allowCredentials": true, "allowHeaders": ["*"]}`))
	fmt.Println(err)
	// Output:
	// allowOrigins[0]: "https://app.example.com/": an origin has no path (found "/"); remove everything after the host and port; allowHeaders[0]: "*" cannot be used with allowCredentials: browsers read it as a literal header name on credentialed requests; list the headers
}

func ExampleDecision_RewriteResponse() {
	cfg, _ := filter.Parse([]byte(`{"allowOrigins": ["https://app.example.com"], "exposeHeaders": ["x-request-id"]}`))
	r := filter.Request{Method: "GET", Origin: "https://app.example.com", HasOrigin: true}
	d := cfg.Evaluate(&r)
	upstream := [][2]string{{":status", "200"}, {"access-control-allow-origin", "*"}, {"vary", "accept-encoding"}}
	headers, changed := d.RewriteResponse(upstream, nil)
	fmt.Println(changed)
	for _, h := range headers {
		fmt.Printf("%s: %s\n", h[0], h[1])
	}
	// Output:
	// true
	// :status: 200
	// vary: accept-encoding
	// access-control-allow-origin: https://app.example.com
	// access-control-expose-headers: x-request-id
	// vary: origin
}

func ExampleCompile() {
	maxAge := 600
	cfg, err := filter.Compile(filter.Spec{
		Policies: []filter.PolicySpec{{
			Match:        &filter.MatchSpec{Hosts: []string{"admin.example.com"}},
			AllowOrigins: []string{"https://admin.example.com"},
			AllowMethods: []string{"delete"},
			MaxAge:       &maxAge,
		}},
		PolicySpec: filter.PolicySpec{AllowOrigins: []string{"HTTPS://App.Example.com"}},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Summary())
	fmt.Println(cfg.Policies()[0].AllowMethods, cfg.Policies()[1].Origins)
	// Output:
	// cors: configuration loaded: mode enforce; policies[0] (1 origin patterns, 0 regexes); default (1 origin patterns, 0 regexes)
	// DELETE [https://app.example.com]
}

func ExampleCompile_problems() {
	_, err := filter.Compile(filter.Spec{Policies: []filter.PolicySpec{{AllowOrigins: []string{"*"}, AllowCredentials: true}}})
	for _, p := range err.(*filter.ConfigError).Problems {
		fmt.Println(p.Path)
	}
	// Output:
	// policies[0].match
	// policies[0].allowOrigins[0]
}

func ExampleDecodeSpec() {
	spec, err := filter.DecodeSpec([]byte(`{"allowOrigins": ["https://app.example.com"], "mode": "report"}`))
	if err != nil {
		panic(err)
	}
	spec.AllowMethods = append(spec.AllowMethods, "PUT")
	cfg, err := filter.Compile(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Mode(), cfg.Policies()[0].AllowMethods)
	// Output: report PUT
}

func ExampleNormalizeOrigin() {
	for _, entry := range []string{"HTTPS://App.Example.com:443", "http://[0:0::1]:8080", "https://*.Example.com:*", "https://app.example.com/"} {
		fmt.Println(filter.NormalizeOrigin(entry))
	}
	// Output:
	// https://app.example.com <nil>
	// http://[::1]:8080 <nil>
	// https://*.example.com:* <nil>
	//  "https://app.example.com/": an origin has no path (found "/"); remove everything after the host and port
}

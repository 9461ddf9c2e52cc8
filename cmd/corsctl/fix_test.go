package main

import (
	"reflect"
	"testing"

	"github.com/corswasm/corswasm/filter"
)

// TestDescribeChangesComparesValuesNotTheirPrint: a list of one header
// "a b" and a list of the headers "a" and "b" print alike with fmt.Sprint,
// which describeChanges used to compare; they are different lists.
func TestDescribeChangesComparesValuesNotTheirPrint(t *testing.T) {
	a := filter.Spec{PolicySpec: filter.PolicySpec{AllowOrigins: []string{"https://app.example.com"}, AllowHeaders: []string{"a b"}}}
	b := filter.Spec{PolicySpec: filter.PolicySpec{AllowOrigins: []string{"https://app.example.com"}, AllowHeaders: []string{"a", "b"}}}
	got := describeChanges(a, b)
	want := []string{`allowHeaders: replace "a b" with "a", "b"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("describeChanges = %q, want %q", got, want)
	}
}

// TestCloneSpecCopiesDeeply: editing a copy, as suggestFix does, leaves the
// original as it was, down to the lists of policies.
func TestCloneSpecCopiesDeeply(t *testing.T) {
	data := []byte(`{"allowOrigins": ["https://a.example", "*"], "maxAge": 600,
		"policies": [{"match": {"hosts": ["x.example"]}, "allowOrigins": ["https://b.example"]}]}`)
	orig, err := filter.DecodeSpec(data)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := filter.DecodeSpec(data)
	work := cloneSpec(orig)
	if !reflect.DeepEqual(work, orig) {
		t.Fatalf("copy %v differs from %v", work, orig)
	}
	addTo(&work.AllowOrigins, "https://c.example")
	replaceStar(&work.AllowOrigins)
	*work.MaxAge = 60
	addTo(&policySpec(&work, "policies[0]").AllowOrigins, "https://c.example")
	policySpec(&work, "policies[0]").Match.Hosts[0] = "y.example"
	work.Policies = append(work.Policies, filter.PolicySpec{})
	if !reflect.DeepEqual(orig, before) {
		t.Errorf("editing the copy changed the original:\n got %v\nwant %v", orig, before)
	}
}

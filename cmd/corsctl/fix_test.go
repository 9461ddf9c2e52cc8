package main

import (
	"reflect"
	"testing"
)

// TestDescribeChangesComparesValuesNotTheirPrint: a list of one header
// "a b" and a list of the headers "a" and "b" print alike with fmt.Sprint,
// which describeChanges used to compare; they are different lists.
func TestDescribeChangesComparesValuesNotTheirPrint(t *testing.T) {
	a := doc{"allowOrigins": []any{"https://app.example.com"}, "allowHeaders": []any{"a b"}}
	b := doc{"allowOrigins": []any{"https://app.example.com"}, "allowHeaders": []any{"a", "b"}}
	got := describeChanges(a, b)
	want := []string{`allowHeaders: replace "a b" with "a", "b"`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("describeChanges = %q, want %q", got, want)
	}
}

// TestCloneDocCopiesDeeply: editing a copy, as suggestFix does, leaves the
// original as it was, down to the lists of policies.
func TestCloneDocCopiesDeeply(t *testing.T) {
	orig, err := decodeDoc([]byte(`{"allowOrigins": ["https://a.example"], "maxAge": 600,
		"policies": [{"match": {"hosts": ["x.example"]}, "allowOrigins": ["https://b.example"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := decodeDoc(mustJSON(orig))
	work := cloneDoc(orig)
	if !reflect.DeepEqual(work, orig) {
		t.Fatalf("copy %v differs from %v", work, orig)
	}
	addTo(work, "allowOrigins", "https://c.example")
	addTo(policyDoc(work, "policies[0]"), "allowOrigins", "https://c.example")
	policyDoc(work, "policies[0]")["match"].(map[string]any)["hosts"].([]any)[0] = "y.example"
	work["policies"] = append(asList(work["policies"]), doc{})
	if !reflect.DeepEqual(orig, before) {
		t.Errorf("editing the copy changed the original:\n got %v\nwant %v", orig, before)
	}
}

//go:build !wasm

package filter

// skipListed steps over the elements of an Access-Control-Request-Headers
// line, from index i, that are names the policy lists as foldNames (any
// letter case, optional whitespace around them), and over the commas and
// whitespace between elements. It returns the index of the first element
// it does not recognize, or len(line), and whether it stepped over a name.
// An element it stops at is left to checkHeaders' general path: a name of
// another length, one not listed, or an invalid one.
func skipListed(line string, i int, names []foldName) (int, bool) {
	return skipListedGo(line, i, names)
}

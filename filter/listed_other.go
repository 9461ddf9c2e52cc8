//go:build !wasm

package filter

// skipListed is skipListedGo (listed.go), which says what it does.
func skipListed(line string, i int, names []foldName) (int, bool) {
	return skipListedGo(line, i, names)
}

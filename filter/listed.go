package filter

// skipListedGo is skipListed in Go: what the native build runs, and what
// the Wasm build's assembly (listed_wasm.s) is tested against. It steps
// over the elements of an Access-Control-Request-Headers line, from index
// i, that are among names (any letter case, optional whitespace around
// them), and over the commas and whitespace between elements. It returns
// the index of the first element it does not recognize, or len(line), and
// whether it stepped over a name. An element it stops at is left to
// checkHeaders' general path: a name of another length, one not listed,
// or an invalid one. names must hold foldNames of 8 to 16 bytes only
// (n != 0, policy.foldNames): a word is read ending where a name would.
func skipListedGo(line string, i int, names []foldName) (int, bool) {
	asked := false
elements:
	for i < len(line) {
		if c := line[i]; c == ',' || c == ' ' || c == '\t' {
			i++ // between elements, or an empty one
			continue
		}
		if i+8 > len(line) {
			break
		}
		w := load64(line, i)
		for k := range names {
			f := &names[k]
			end := i + f.n
			if end > len(line) || w|f.letters[0] != f.words[0] || load64(line, end-8)|f.letters[1] != f.words[1] {
				continue
			}
			for end < len(line) && (line[end] == ' ' || line[end] == '\t') {
				end++
			}
			if end == len(line) {
				return end, true
			}
			if line[end] == ',' {
				asked, i = true, end+1 // past the comma too
				continue elements
			}
			break // a longer element: the general path decides
		}
		break
	}
	return i, asked
}

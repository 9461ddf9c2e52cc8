// Package suggest finds the name a user most likely meant, for "did you
// mean" hints in configuration errors and command-line usage.
package suggest

import "strings"

// Closest returns the known name a mistyped one most likely meant: the same
// letters in another case or with separators ('_', '-'), or else one or two
// edits away; "" when none is that close.
func Closest(name string, known []string) string {
	squash := func(s string) string {
		b := make([]byte, 0, len(s))
		for _, c := range []byte(strings.ToLower(s)) {
			if c != '_' && c != '-' {
				b = append(b, c)
			}
		}
		return string(b)
	}
	for _, k := range known {
		if squash(k) == squash(name) {
			return k
		}
	}
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(name), strings.ToLower(k)); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

package filter

import "unsafe"

// OriginMemo remembers the verdicts of recent origins that are not one of
// their policy's exact origins: those Evaluate parses and matches against
// the policy's patterns and regexes, about 2,000 of wazero's instructions
// in the module for a denied "https://evil.net", against a few hundred for
// a repeat found here. Traffic repeats its origins (a handful of frontends,
// the same third-party page again and again), so the plugin keeps one memo
// per configuration root and passes it to EvaluateMemo.
//
// It is a direct-mapped table of memoSize entries, keyed by the policy and
// the origin's bytes, which an entry holds in full: a hit is an origin
// equal byte for byte, never a guess from a hash. An origin of another
// length than memoMinOrigin to memoMaxOrigin bytes is never remembered. A
// new origin takes its slot's entry: a client sending a new origin on
// every request only keeps the table changing, and pays for each miss the
// hash and one copy of the origin besides the work the memo would have
// saved.
//
// The zero value is ready to use. It belongs to the first Config it is
// used with, and empties itself when used with another. It is not safe for
// concurrent use (Config is: each goroutine needs a memo of its own).
type OriginMemo struct {
	cfg     *Config
	entries [memoSize]memoEntry
}

// memoSize is the number of entries, a power of two; memoMinOrigin and
// memoMaxOrigin bound the length of the origins an entry holds: "http://a"
// to most names a browser sends (the entries take 4.5 KiB).
const (
	memoSize      = 64
	memoMinOrigin = 8
	memoMaxOrigin = 56
)

// memoEntry is a remembered verdict: matchOrigin's results for an origin
// (its first bytes, as many as the key says) under a policy. key holds the
// policy's index and the origin's length, which is never 0, so that one
// comparison tells both; it is 0 in an empty entry.
type memoEntry struct {
	key    uint64
	reason Reason
	by     originBy
	i      int32
	origin [memoMaxOrigin]byte
}

// reset empties m for c's verdicts.
//
//go:noinline
func (m *OriginMemo) reset(c *Config) { *m = OriginMemo{cfg: c} }

// slot returns the entry origin of policy p maps to and the key of the
// entry that holds its verdict, or a nil entry when an origin of its
// length is never remembered. The hash mixes two of the origin's words
// (the last one, and one about the middle: every origin starts with its
// scheme) and the key.
func (m *OriginMemo) slot(p *policy, origin string) (e *memoEntry, key uint64) {
	n := len(origin)
	if n < memoMinOrigin || n > memoMaxOrigin {
		return nil, 0
	}
	key = uint64(p.index)<<8 | uint64(n)
	h := load64(origin, n-8)*0x9e3779b97f4a7c15 ^ load64(origin, (n-8)/2)*0xc2b2ae3d27d4eb4f ^ key
	h ^= h >> 29
	return &m.entries[(h*0x94d049bb133111eb)>>58], key // 64 entries: the top 6 bits
}

// holds says whether e, of key, is the verdict of origin (the key tells
// the policy and the length).
func (e *memoEntry) holds(key uint64, origin string) bool {
	return e.key == key && sameAt(&e.origin[0], origin)
}

// set makes e, of key, the verdict of origin.
//
// The origin is copied a word at a time, the last word overlapping the one
// before it (origins are at least 8 bytes long), rather than by copy: in
// the module, copy is runtime.memmove's memory.copy, which the WAMR of
// proxy-wasm-cpp-host's Envoy 1.29-1.32 commit refuses as out of bounds
// when its source lies in memory grown during the callback (the host's
// reply to this request, cpphost's tests), besides costing two Wasm calls.
func (e *memoEntry) set(key uint64, origin string, reason Reason, by originBy, i int) {
	e.key, e.reason, e.by, e.i = key, reason, by, int32(i)
	n := len(origin)
	for j := 0; j < n-8; j += 8 {
		*(*uint64)(unsafe.Pointer(&e.origin[j])) = load64(origin, j)
	}
	*(*uint64)(unsafe.Pointer(&e.origin[n-8])) = load64(origin, n-8)
}

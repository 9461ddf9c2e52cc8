package abi

// contexts maps the IDs of live stream contexts to their state. Hosts hand
// out context IDs in sequence (Envoy counts them per VM), so the live ones
// mostly fall in a window narrower than the table: a context is kept in
// slot id mod len(direct), found there with one comparison, and taken out
// with one store. An ID whose slot another live ID holds (a long-lived
// stream, or IDs a host spreads) goes to an overflow map; the table
// doubles, up to maxDirect slots, when it is over half full or when the
// overflow holds more than 8 contexts and an eighth of the live ones (a
// few long-lived streams do not make it grow). A hash table with
// probing cost the module about 600 instructions per stream in put and
// remove (bench/, scripts/wasm-instructions.sh); a Go map costs a dozen
// Wasm calls per operation. ID 0 is never a stream (it is the root's
// parent), so it marks a slot without a live context: an empty one, or
// one where a finished stream's context is parked for the next stream of
// its root (park, unpark); a parked context leaves its slot for the
// released ones (evict) when another stream needs the slot, or the table
// grows.
type contexts struct {
	direct []contextSlot // a power of two in length, or empty
	over   map[uint32]*streamContext
	n      int // live entries, in direct and over
}

// contextSlot is a slot of the direct table: a live context (id not 0),
// a context parked for the next stream of its root that lands here (id
// 0, c not nil: park, unpark), or nothing.
type contextSlot struct {
	id uint32
	c  *streamContext
}

// maxDirect bounds the direct table (16 bytes a slot).
const maxDirect = 1 << 16

// get returns the context of id, or nil.
func (t *contexts) get(id uint32) *streamContext {
	if len(t.direct) != 0 {
		if s := &t.direct[id&uint32(len(t.direct)-1)]; s.id == id && id != 0 {
			return s.c
		}
	}
	if len(t.over) == 0 {
		return nil
	}
	return t.over[id]
}

// put sets the context of id and returns the one it replaces, or nil.
func (t *contexts) put(id uint32, c *streamContext) (old *streamContext) {
	if t.tryPut(id, c) {
		return nil
	}
	return t.putSlow(id, c)
}

// tryPut is put in the usual case, where it inlines: a free slot in a
// table with room and no overflow. It reports whether it stored c.
func (t *contexts) tryPut(id uint32, c *streamContext) bool {
	if id == 0 || 2*(t.n+1) > len(t.direct) || len(t.over) != 0 {
		return false
	}
	s := &t.direct[id&uint32(len(t.direct)-1)]
	if s.id != 0 || s.c != nil {
		return false
	}
	s.id, s.c = id, c
	t.n++
	return true
}

// putSlow is put for the other cases.
func (t *contexts) putSlow(id uint32, c *streamContext) (old *streamContext) {
	if id == 0 {
		return nil
	}
	if len(t.direct) < maxDirect && (2*(t.n+1) > len(t.direct) || len(t.over) > 8 && 8*len(t.over) > t.n) {
		t.grow()
	}
	return t.insert(id, c)
}

// insert is put without growing the table, which must not be empty.
func (t *contexts) insert(id uint32, c *streamContext) (old *streamContext) {
	s := &t.direct[id&uint32(len(t.direct)-1)]
	switch {
	case s.id == id:
		old, s.c = s.c, c
		return old
	case s.id == 0 && (len(t.over) == 0 || t.over[id] == nil):
		if s.c != nil {
			evict(s)
		}
		*s = contextSlot{id, c}
		t.n++
		return nil
	}
	if t.over == nil {
		t.over = make(map[uint32]*streamContext)
	}
	old = t.over[id]
	t.over[id] = c
	if old == nil {
		t.n++
	}
	return old
}

// remove deletes id and returns its context, or nil.
func (t *contexts) remove(id uint32) *streamContext {
	if len(t.direct) == 0 || id == 0 {
		return nil
	}
	if s := &t.direct[id&uint32(len(t.direct)-1)]; s.id == id {
		c := s.c
		*s = contextSlot{}
		t.n--
		return c
	}
	if len(t.over) == 0 {
		return nil
	}
	c := t.over[id]
	if c != nil {
		delete(t.over, id)
		t.n--
	}
	return c
}

// grow doubles the direct table (16 slots at first) and puts every entry
// back.
func (t *contexts) grow() {
	oldDirect, oldOver := t.direct, t.over
	t.direct, t.over, t.n = make([]contextSlot, max(16, 2*len(oldDirect))), nil, 0
	for i, s := range oldDirect {
		if s.id != 0 {
			t.insert(s.id, s.c)
		} else if s.c != nil {
			evict(&oldDirect[i])
		}
	}
	for id, c := range oldOver {
		t.insert(id, c)
	}
}

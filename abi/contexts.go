package abi

// contexts maps the IDs of live stream contexts to their state. It is an
// open-addressing hash table with linear probing: a Go map costs a dozen
// Wasm function calls per stream (hashing, probing, growth checks), and a
// stream is looked up in every callback. ID 0 is never a stream (it is the
// root's parent), so it marks an empty slot.
type contexts struct {
	slots []contextSlot // a power of two in length, or empty
	n     int           // live entries
}

type contextSlot struct {
	id uint32
	c  *streamContext
}

// home is the slot an ID hashes to: Fibonacci hashing, so that the
// consecutive IDs hosts hand out spread over the table.
func (t *contexts) home(id uint32) int {
	return int((id * 0x9e3779b1) & uint32(len(t.slots)-1))
}

// get returns the context of id, or nil.
func (t *contexts) get(id uint32) *streamContext {
	if len(t.slots) == 0 || id == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	for i := t.home(id); ; i = (i + 1) & mask {
		switch t.slots[i].id {
		case id:
			return t.slots[i].c
		case 0:
			return nil
		}
	}
}

// put sets the context of id and returns the one it replaces, or nil.
func (t *contexts) put(id uint32, c *streamContext) (old *streamContext) {
	if id == 0 {
		return nil
	}
	if 2*(t.n+1) > len(t.slots) { // at most half full
		t.grow()
	}
	mask := len(t.slots) - 1
	i := t.home(id)
	for ; t.slots[i].id != 0; i = (i + 1) & mask {
		if t.slots[i].id == id {
			old, t.slots[i].c = t.slots[i].c, c
			return old
		}
	}
	t.slots[i] = contextSlot{id, c}
	t.n++
	return nil
}

// remove deletes id and returns its context, or nil. The entries after it
// in its run move back (backward-shift deletion), so the table never holds
// tombstones and a lookup stops at the first empty slot.
func (t *contexts) remove(id uint32) *streamContext {
	if len(t.slots) == 0 || id == 0 {
		return nil
	}
	mask := len(t.slots) - 1
	i := t.home(id)
	for t.slots[i].id != id {
		if t.slots[i].id == 0 {
			return nil
		}
		i = (i + 1) & mask
	}
	c := t.slots[i].c
	// Move each later entry of the run into the hole when its home is not
	// between the hole and its slot (cyclically).
	for j := (i + 1) & mask; t.slots[j].id != 0; j = (j + 1) & mask {
		h := t.home(t.slots[j].id)
		if (j-h)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = contextSlot{}
	t.n--
	return c
}

// grow doubles the table (16 slots at first) and rehashes it.
func (t *contexts) grow() {
	old := t.slots
	t.slots = make([]contextSlot, max(16, 2*len(old)))
	t.n = 0
	for _, s := range old {
		if s.id != 0 {
			t.put(s.id, s.c)
		}
	}
}

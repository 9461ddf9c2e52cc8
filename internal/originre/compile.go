package originre

import (
	"errors"
	"strconv"
)

// inst is one instruction of a Thompson NFA program. Control passes to the
// next instruction unless it jumps.
type inst struct {
	op    instOp
	x, y  int       // opJump: x; opSplit: x and y
	class charClass // opChar
}

type instOp uint8

const (
	opChar  instOp = iota // take one character of class
	opSplit               // go on at x and at y
	opJump                // go on at x
	opBegin               // pass only at the start of the text
	opEnd                 // pass only at the end of the text
	opMatch
)

var errTooLarge = errors.New("the expression is too large: more than " + strconv.Itoa(maxPositions) +
	" characters, classes and dots once repeats are expanded; split it into several entries or lower the repeat counts")

type compiler struct {
	prog      []inst
	positions int
	tooLarge  bool
}

func (c *compiler) add(i inst) int {
	if i.op == opChar {
		c.positions++
	}
	if len(c.prog) >= maxInsts || c.positions > maxPositions {
		c.tooLarge = true
	}
	c.prog = append(c.prog, i)
	return len(c.prog) - 1
}

// emit appends the program for n: a repeat becomes min copies of its
// subexpression, then a loop or max-min nested optional copies.
func (c *compiler) emit(n *node) {
	if c.tooLarge {
		return
	}
	switch n.kind {
	case kindChar:
		c.add(inst{op: opChar, class: n.class})
	case kindBegin:
		c.add(inst{op: opBegin})
	case kindEnd:
		c.add(inst{op: opEnd})
	case kindConcat:
		for _, s := range n.subs {
			c.emit(s)
		}
	case kindAlt:
		var jumps []int
		for i, s := range n.subs {
			if i == len(n.subs)-1 {
				c.emit(s)
				break
			}
			split := c.add(inst{op: opSplit})
			c.prog[split].x = split + 1
			c.emit(s)
			jumps = append(jumps, c.add(inst{op: opJump}))
			c.prog[split].y = len(c.prog)
		}
		for _, j := range jumps {
			c.prog[j].x = len(c.prog)
		}
	case kindRepeat:
		sub := n.subs[0]
		for range n.min {
			c.emit(sub)
		}
		if n.max < 0 { // L: split L+1, out; sub; jump L; out:
			loop := c.add(inst{op: opSplit})
			c.prog[loop].x = loop + 1
			c.emit(sub)
			c.add(inst{op: opJump, x: loop})
			c.prog[loop].y = len(c.prog)
			break
		}
		// Nested optional copies, (x(x)?)? rather than x?x?, so that a
		// character is taken by one copy only and the sets stay small.
		var splits []int
		for range n.max - n.min {
			split := c.add(inst{op: opSplit})
			c.prog[split].x = split + 1
			c.emit(sub)
			splits = append(splits, split)
		}
		for _, split := range splits {
			c.prog[split].y = len(c.prog)
		}
	}
}

// compile builds the program for tree and resolves its empty moves: what
// remains are the character positions (the opChar instructions), which
// positions can take the first character, which can follow each, and after
// which the text may end.
func compile(tree *node) (*Regexp, error) {
	var c compiler
	c.emit(tree)
	c.add(inst{op: opMatch})
	if c.tooLarge {
		return nil, errTooLarge
	}
	pos := make([]int, len(c.prog)) // instruction -> position
	n := 0
	for pc, in := range c.prog {
		if in.op == opChar {
			pos[pc] = n
			n++
		}
	}

	w := max(1, (n+63)/64)
	re := &Regexp{
		words:  w,
		start:  make([]uint64, w),
		accept: make([]uint64, w),
		follow: make([]uint64, n*w),
		takes:  make([]uint64, (nonASCII+1)*w),
	}
	cl := closer{prog: c.prog, pos: pos, seen: make([]bool, len(c.prog))}
	cl.closure(0, true, false, re.start)
	re.empty = cl.closure(0, true, true, nil)
	for pc, in := range c.prog {
		if in.op != opChar {
			continue
		}
		p := pos[pc]
		cl.closure(pc+1, false, false, re.follow[p*w:(p+1)*w])
		if cl.closure(pc+1, false, true, nil) {
			re.accept[p/64] |= 1 << (p % 64)
		}
		for ch := 0; ch <= nonASCII; ch++ {
			if in.class.has(ch) {
				re.takes[ch*w+p/64] |= 1 << (p % 64)
			}
		}
	}
	return re, nil
}

// closer follows the empty moves of a program.
type closer struct {
	prog  []inst
	pos   []int
	seen  []bool
	stack []int
}

// closure follows the empty moves from pc, passing opBegin only when
// atBegin and opEnd only when atEnd. It adds the positions it reaches to
// set (unless set is nil) and reports whether it reaches opMatch.
func (cl *closer) closure(pc int, atBegin, atEnd bool, set []uint64) (match bool) {
	clear(cl.seen)
	cl.stack = append(cl.stack[:0], pc)
	for len(cl.stack) > 0 {
		pc := cl.stack[len(cl.stack)-1]
		cl.stack = cl.stack[:len(cl.stack)-1]
		if cl.seen[pc] {
			continue
		}
		cl.seen[pc] = true
		switch in := cl.prog[pc]; in.op {
		case opChar:
			if set != nil {
				p := cl.pos[pc]
				set[p/64] |= 1 << (p % 64)
			}
		case opSplit:
			cl.stack = append(cl.stack, in.y, in.x)
		case opJump:
			cl.stack = append(cl.stack, in.x)
		case opBegin:
			if atBegin {
				cl.stack = append(cl.stack, pc+1)
			}
		case opEnd:
			if atEnd {
				cl.stack = append(cl.stack, pc+1)
			}
		case opMatch:
			match = true
		}
	}
	return match
}

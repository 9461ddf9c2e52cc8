#include "textflag.h"

// func skipListed(line string, i int, names []foldName) (int, bool)
//
// skipListedGo in locals rather than in a stack frame, on pointers rather
// than indexes, and with the common case first: at i, a listed name
// followed by a comma. Whether the element at i is a name is tried before
// whether i is a separator, which is the same: a listed name is a token,
// whose first byte is never a comma, a space or a tab, even with 0x20
// or-ed in.
//
// A foldName is n (offset 0), words (8 and 16) and letters (24 and 32):
// 40 bytes. names holds foldNames of 8 to 16 bytes only (n != 0), so that
// every load stays inside line: a word at p needs p+8 <= the line's end,
// one ending at the element's end needs n >= 8.
//
// R0 line's base, R1 its end, R2 the position (line[i:]), R3 the foldName
// tried, R4 the end of names, R5 whether a name was stepped over, R6 a
// byte of line, R7 the word at R2, R8 the element's end, R9 the first
// foldName.
TEXT ·skipListed(SB), NOSPLIT, $0-57
	MOVD line_base+0(FP), R0
	MOVD line_len+8(FP), R1
	MOVD i+16(FP), R2
	MOVD names_base+24(FP), R9
	MOVD names_len+32(FP), R4
	Get R0
	Get R1
	I64Add
	Set R1
	Get R0
	Get R2
	I64Add
	Set R2
	Get R4
	I64Const $40
	I64Mul
	Get R9
	I64Add
	Set R4
	I64Const $0
	Set R5

	Block // done
	Loop  // steps: a name, or a separator
	Block // separators: no listed name at R2; step over a separator there
	Loop  // elements
		// Fewer than eight bytes left: no name fits.
		Get R2
		I64Const $8
		I64Add
		Get R1
		I64GtU
		BrIf $1 // separators

		Get R2
		I32WrapI64
		I64Load $0
		Set R7
		Get R9
		Set R3

		Loop // names
			Block // next name
				// No name left: try the separators.
				Get R3
				Get R4
				I64GeU
				BrIf $3 // separators

				// The name would end past the line: next.
				Get R2
				Get R3
				I32WrapI64
				I64Load $0
				I64Add
				Tee R8
				Get R1
				I64GtU
				BrIf $0

				// The first and last words, lowered where the name has letters.
				Get R7
				Get R3
				I32WrapI64
				I64Load $24
				I64Or
				Get R3
				I32WrapI64
				I64Load $8
				I64Ne
				BrIf $0
				Get R8
				I64Const $8
				I64Sub
				I32WrapI64
				I64Load $0
				Get R3
				I32WrapI64
				I64Load $32
				I64Or
				Get R3
				I32WrapI64
				I64Load $16
				I64Ne
				BrIf $0

				// The name. Then optional whitespace, and the end of the
				// line or a comma; anything else makes a longer element,
				// which checkHeaders' general path decides on.
				Loop
					Get R8
					Get R1
					I64Eq
					If
						Get R8
						Set R2
						I64Const $1
						Set R5
						Br $7 // done
					End
					Get R8
					I32WrapI64
					I64Load8U $0
					Tee R6
					I64Const $44
					I64Eq
					If
						Get R8
						I64Const $1
						I64Add
						Set R2
						I64Const $1
						Set R5
						Br $4 // elements
					End
					Get R6
					I64Const $32
					I64Eq
					Get R6
					I64Const $9
					I64Eq
					I32Or
					I32Eqz
					BrIf $6 // done
					Get R8
					I64Const $1
					I64Add
					Set R8
					Br $0
				End
			End // next name
			Get R3
			I64Const $40
			I64Add
			Set R3
			Br $0 // names
		End
	End // elements
	End // separators

	// No listed name at R2: a comma or whitespace is stepped over, and the
	// walk goes on from the next byte; anything else ends it.
	Get R2
	Get R1
	I64GeU
	BrIf $1 // done
	Get R2
	I32WrapI64
	I64Load8U $0
	Tee R6
	I64Const $44
	I64Eq
	Get R6
	I64Const $32
	I64Eq
	I32Or
	Get R6
	I64Const $9
	I64Eq
	I32Or
	I32Eqz
	BrIf $1 // done
	Get R2
	I64Const $1
	I64Add
	Set R2
	Br $0 // steps
	End // steps
	End // done

	Get SP
	Get R2
	Get R0
	I64Sub
	I64Store ret+48(FP)
	Get SP
	Get R5
	I64Store8 ret1+56(FP)
	RET

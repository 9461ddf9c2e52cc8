#include "textflag.h"

// func pickPairs(buf []byte, t *PickTable, spans *[16]uint64) (n int, present uint64, repeated bool)
//
// pickPairsGo on pointers, in locals: countPairs' pass (pairs_wasm.go),
// each pair's key looked up in t once the pair is known to lie inside buf.
// Each pair's addresses are computed once: R4 its key, R7 the key's NUL,
// R8 the next key; R5 and R6 the key's and the value's lengths. A name of
// 4 bytes or more is compared by its first and last words (4 or 8 bytes,
// overlapping in the middle) against the values t keeps of them, and by
// the words between them, if any, against its bytes.
//
// R0 buf's base, R1 its end, R2 the next pair's sizes, R3 the end of the
// sizes, R9 t, R10 spans - 8, R11 present << 1, R12 repeated, R13 1 + the
// index of the candidate name (the bit of R11 and the word of R10 it
// takes), R14 its entry (t + 8*R13, then its bytes), R15 an offset in the
// key. PickTable (TestPickTableLayout): byLen at 0, next at 64, names at
// 80, head at 208, tail at 336; entry offsets are 8 less.
TEXT ·pickPairs(SB), NOSPLIT, $0-57
	MOVD buf_base+0(FP), R0
	MOVD buf_len+8(FP), R1
	MOVD t+24(FP), R9
	MOVD spans+32(FP), R10
	Get R10
	I64Const $8
	I64Sub
	Set R10
	I64Const $0
	Set R7
	I64Const $0
	Set R11
	I64Const $0
	Set R12

	Block // done
	Block // malformed
	Get R1
	I64Eqz
	BrIf $1 // done: an empty map, n 0
	Get R1
	I64Const $4
	I64LtU
	BrIf $0 // malformed: not even a count

	Get R0
	Get R1
	I64Add
	Set R1
	Get R0
	I64Const $4
	I64Add
	Tee R2
	Get R0
	I32WrapI64
	I64Load32U $0
	I64Const $3
	I64Shl
	I64Add
	Tee R3
	Get R1
	I64GtU
	BrIf $0 // malformed: the sizes end past buf
	Get R3
	Set R4

	Loop // pairs
		// Every pair read: well formed if they end where buf does.
		Get R2
		Get R3
		I64GeU
		If
			Get R4
			Get R1
			I64Ne
			BrIf $2 // malformed
			Get R3
			Get R0
			I64Sub
			I64Const $4
			I64Sub
			I64Const $3
			I64ShrU
			Set R7 // n
			Br $3 // done
		End

		Get R2
		I32WrapI64
		I64Load $0
		Tee R5
		I64Const $32
		I64ShrU
		Set R6
		Get R5
		I64Const $0xffffffff
		I64And
		Set R5

		// The key, the value and their NULs inside buf, and NULs there.
		Get R4
		Get R5
		I64Add
		Tee R7
		Get R6
		I64Add
		I64Const $2
		I64Add
		Tee R8
		Get R1
		I64GtU
		BrIf $1 // malformed
		Get R7
		I32WrapI64
		I32Load8U $0
		BrIf $1 // malformed
		Get R7
		Get R6
		I64Add
		I32WrapI64
		I32Load8U $1
		BrIf $1 // malformed

		// The key among t's names of its length.
		Get R5
		I64Const $64
		I64LtU
		If
			Get R9
			Get R5
			I64Add
			I32WrapI64
			I64Load8U $0
			Set R13
			Block // chain done
			Loop // chain
				Get R13
				I64Eqz
				BrIf $1 // chain done
				Get R9
				Get R13
				I64Const $3
				I64Shl
				I64Add
				Set R14

				Block // mismatch
				Block // match
				Get R5
				I64Const $8
				I64GeU
				If
					// The first and the last 8 bytes.
					Get R4
					I32WrapI64
					I64Load $0
					Get R14
					I32WrapI64
					I64Load $200 // head
					I64Ne
					BrIf $2 // mismatch
					Get R7
					I64Const $8
					I64Sub
					I32WrapI64
					I64Load $0
					Get R14
					I32WrapI64
					I64Load $328 // tail
					I64Ne
					BrIf $2 // mismatch
					// The words between them, from offset 8 while
					// before the last word's.
					Get R5
					I64Const $16
					I64GtU
					If
						Get R14
						I32WrapI64
						I64Load $72 // names
						Set R14
						I64Const $8
						Set R15
						Loop
							Get R4
							Get R15
							I64Add
							I32WrapI64
							I64Load $0
							Get R14
							Get R15
							I64Add
							I32WrapI64
							I64Load $0
							I64Ne
							BrIf $4 // mismatch
							Get R15
							I64Const $8
							I64Add
							Tee R15
							Get R5
							I64Const $8
							I64Sub
							I64LtU
							BrIf $0
						End
					End
					Br $1 // match
				End
				Get R5
				I64Const $4
				I64GeU
				If
					// The first and the last 4 bytes.
					Get R4
					I32WrapI64
					I64Load32U $0
					Get R14
					I32WrapI64
					I64Load $200 // head
					I64Ne
					BrIf $2 // mismatch
					Get R7
					I64Const $4
					I64Sub
					I32WrapI64
					I64Load32U $0
					Get R14
					I32WrapI64
					I64Load $328 // tail
					I64Ne
					BrIf $2 // mismatch
					Br $1 // match
				End
				// 1 to 3 bytes (the table has no name of 0).
				Get R14
				I32WrapI64
				I64Load $72 // names
				Set R14
				I64Const $0
				Set R15
				Loop
					Get R4
					Get R15
					I64Add
					I32WrapI64
					I64Load8U $0
					Get R14
					Get R15
					I64Add
					I32WrapI64
					I64Load8U $0
					I64Ne
					BrIf $2 // mismatch
					Get R15
					I64Const $1
					I64Add
					Tee R15
					Get R5
					I64LtU
					BrIf $0
				End
				End // match

				// The name of bit R13: its first line sets its span, a
				// second says repeated.
				I64Const $1
				Get R13
				I64Shl
				Tee R14
				Get R11
				I64And
				I64Eqz
				If
					Get R11
					Get R14
					I64Or
					Set R11
					Get R10
					Get R13
					I64Const $3
					I64Shl
					I64Add
					I32WrapI64
					Get R7
					I64Const $1
					I64Add
					Get R0
					I64Sub
					I64Const $32
					I64Shl
					Get R6
					I64Or
					I64Store $0 // spans[R13-1]
				Else
					I64Const $1
					Set R12
				End
				Br $2 // chain done
				End // mismatch

				Get R9
				Get R13
				I64Add
				I32WrapI64
				I64Load8U $63 // next[R13-1]: 64 - 1
				Set R13
				Br $0 // chain
			End
			End // chain done
		End

		Get R8
		Set R4
		Get R2
		I64Const $8
		I64Add
		Set R2
		Br $0 // pairs
	End
	End // malformed
	I64Const $-1
	Set R7
	I64Const $0
	Set R11
	I64Const $0
	Set R12
	End // done

	Get SP
	Get R7
	I64Store n+40(FP)
	Get SP
	Get R11
	I64Const $1
	I64ShrU
	I64Store present+48(FP)
	Get SP
	Get R12
	I64Store8 repeated+56(FP)
	RET

#include "textflag.h"

// func pickPairs(buf []byte, t *PickTable, spans *[16]uint64) (n int, present uint64, repeated bool)
//
// pickPairsGo on pointers, in locals: countPairs' pass (pairs_wasm.s),
// each pair's key looked up in t once the pair is known to lie inside buf.
// R0 buf's base, R1 its end, R2 the next pair's sizes, R3 the end of the
// sizes, R4 the pair's key, R5 its length, R6 the value's, R7 the result,
// R8 the count, R9 t, R10 spans, R11 present, R12 repeated, R13 1 + the
// index of the candidate name, R14 its bytes (then its bit), R15 an offset
// in the key. PickTable: byLen at 0, next at 64, names at 80.
TEXT ·pickPairs(SB), NOSPLIT, $0-57
	MOVD buf_base+0(FP), R0
	MOVD buf_len+8(FP), R1
	MOVD t+24(FP), R9
	MOVD spans+32(FP), R10
	I64Const $-1
	Set R7
	I64Const $0
	Set R11
	I64Const $0
	Set R12

	Block // exit
	Get R1
	I64Eqz
	If
		I64Const $0
		Set R7
		Br $1 // exit: an empty map
	End
	Get R1
	I64Const $4
	I64LtU
	BrIf $0 // exit: not even a count

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
	Tee R8
	I64Const $3
	I64Shl
	I64Add
	Tee R3
	Get R1
	I64GtU
	BrIf $0 // exit: the sizes end past buf
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
			I64Eq
			If
				Get R8
				Set R7
			End
			Br $2 // exit
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
		Get R6
		I64Add
		I64Const $2
		I64Add
		Get R1
		I64GtU
		BrIf $1 // exit
		Get R4
		Get R5
		I64Add
		I32WrapI64
		I64Load8U $0
		I64Eqz
		I32Eqz
		BrIf $1 // exit
		Get R4
		Get R5
		I64Add
		Get R6
		I64Add
		I32WrapI64
		I64Load8U $1
		I64Eqz
		I32Eqz
		BrIf $1 // exit

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
				I32WrapI64
				I64Load $72 // names[R13-1]: 80 - 8
				Set R14

				Block // mismatch
				Block // match
				Get R5
				I64Const $8
				I64GeU
				If
					I64Const $0
					Set R15
					Loop // the words before the last
						Get R15
						I64Const $8
						I64Add
						Get R5
						I64GeU
						If
							// The last word, ending where the key does.
							Get R4
							Get R5
							I64Add
							I64Const $8
							I64Sub
							I32WrapI64
							I64Load $0
							Get R14
							Get R5
							I64Add
							I64Const $8
							I64Sub
							I32WrapI64
							I64Load $0
							I64Ne
							BrIf $4 // mismatch
							Br $3 // match
						End
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
						BrIf $3 // mismatch
						Get R15
						I64Const $8
						I64Add
						Set R15
						Br $0
					End
				End
				Get R5
				I64Const $4
				I64GeU
				If
					// Two words of four, the second ending where the key does.
					Get R4
					I32WrapI64
					I64Load32U $0
					Get R14
					I32WrapI64
					I64Load32U $0
					I64Ne
					BrIf $2 // mismatch
					Get R4
					Get R5
					I64Add
					I64Const $4
					I64Sub
					I32WrapI64
					I64Load32U $0
					Get R14
					Get R5
					I64Add
					I64Const $4
					I64Sub
					I32WrapI64
					I64Load32U $0
					I64Ne
					BrIf $2 // mismatch
					Br $1 // match
				End
				// 1 to 3 bytes (the table has no name of 0).
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

				// The name of index R13 - 1, of bit R14: its first line
				// sets its span, a second says repeated.
				I64Const $1
				Get R13
				I64Const $1
				I64Sub
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
					I64Const $8
					I64Sub
					I32WrapI64
					Get R4
					Get R5
					I64Add
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

		// The next pair's key, past the value's NUL.
		Get R4
		Get R5
		I64Add
		Get R6
		I64Add
		I64Const $2
		I64Add
		Set R4
		Get R2
		I64Const $8
		I64Add
		Set R2
		Br $0 // pairs
	End
	End // exit

	Get SP
	Get R7
	I64Store n+40(FP)
	Get SP
	Get R11
	I64Store present+48(FP)
	Get SP
	Get R12
	I64Store8 repeated+56(FP)
	RET

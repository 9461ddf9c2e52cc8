#include "textflag.h"

// func sameBytes(s, t *byte, n int) bool
//
// What is needs after comparing lengths, without the runtime's two calls
// (memequal, memeqbody): 8 bytes or more compared a word at a time, the
// last word overlapping the one before it, fewer a byte at a time. R0 s,
// R1 n, R2 t, R3 the result, R5 an offset.
TEXT ·sameBytes(SB), NOSPLIT, $0-25
	MOVD s+0(FP), R0
	MOVD t+8(FP), R2
	MOVD n+16(FP), R1
	I64Const $0
	Set R3
	I64Const $0
	Set R5

	Block // done
	Get R1
	I64Const $8
	I64LtU
	If
		Block
		Loop
			Get R5
			Get R1
			I64GeU
			BrIf $1
			Get R0
			Get R5
			I64Add
			I32WrapI64
			I64Load8U $0
			Get R2
			Get R5
			I64Add
			I32WrapI64
			I64Load8U $0
			I64Ne
			BrIf $3 // done: a byte differs
			Get R5
			I64Const $1
			I64Add
			Set R5
			Br $0
		End
		End
	Else
		Block
		Loop
			Get R5
			I64Const $8
			I64Add
			Get R1
			I64GeU
			BrIf $1
			Get R0
			Get R5
			I64Add
			I32WrapI64
			I64Load $0
			Get R2
			Get R5
			I64Add
			I32WrapI64
			I64Load $0
			I64Ne
			BrIf $3 // done: a word differs
			Get R5
			I64Const $8
			I64Add
			Set R5
			Br $0
		End
		End
		Get R0
		Get R1
		I64Add
		I64Const $8
		I64Sub
		I32WrapI64
		I64Load $0
		Get R2
		Get R1
		I64Add
		I64Const $8
		I64Sub
		I32WrapI64
		I64Load $0
		I64Ne
		BrIf $1 // done: the last word differs
	End
	I64Const $1
	Set R3
	End // done

	Get SP
	Get R3
	I64Store8 ret+24(FP)
	RET

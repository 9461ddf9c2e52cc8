#include "textflag.h"

// func is(s, t string) bool
//
// s == t without the runtime's two calls (memequal, memeqbody): strings
// of 8 bytes or more compared a word at a time, the last word overlapping
// the one before it, shorter ones a byte at a time. R0 s, R1 its length,
// R2 t, R3 the result, R4 t's length, R5 an offset.
TEXT ·is(SB), NOSPLIT, $0-33
	MOVD s_base+0(FP), R0
	MOVD s_len+8(FP), R1
	MOVD t_base+16(FP), R2
	MOVD t_len+24(FP), R4
	I64Const $0
	Set R3
	I64Const $0
	Set R5

	Block // done
	Get R1
	Get R4
	I64Ne
	BrIf $0 // done: lengths differ

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
	I64Store8 ret+32(FP)
	RET

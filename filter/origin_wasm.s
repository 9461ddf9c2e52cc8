#include "textflag.h"

// func hostLength(s string) int
//
// hostLengthGo in one pass: the host ends at the first ':' or at the end
// of s; its bytes are letters, digits, '-', '_' and the dots between
// non-empty labels of at most 63 bytes; it is 1 to 253 bytes long. R0 s,
// R1 its length, R2 the position, R3 the label's length so far, R4 the
// byte, R5 the result.
TEXT ·hostLength(SB), NOSPLIT, $0-24
	MOVD s_base+0(FP), R0
	MOVD s_len+8(FP), R1
	I64Const $0
	Set R2
	I64Const $0
	Set R3
	I64Const $-1
	Set R5

	Block // done
	Block // end of the host
	Loop
		Get R2
		Get R1
		I64GeU
		BrIf $1 // end of the host
		Get R0
		Get R2
		I64Add
		I32WrapI64
		I64Load8U $0
		Tee R4
		I64Const $58 // ':'
		I64Eq
		BrIf $1 // end of the host
		Get R4
		I64Const $46 // '.'
		I64Eq
		If
			Get R3
			I64Eqz
			BrIf $3 // done: an empty label
			I64Const $0
			Set R3
		Else
			Get R4
			I64Const $97 // 'a'
			I64Sub
			I64Const $26
			I64LtU
			Get R4
			I64Const $48 // '0'
			I64Sub
			I64Const $10
			I64LtU
			I32Or
			Get R4
			I64Const $45 // '-'
			I64Eq
			I32Or
			Get R4
			I64Const $95 // '_'
			I64Eq
			I32Or
			I32Eqz
			BrIf $3 // done: not a host byte
			Get R3
			I64Const $1
			I64Add
			Tee R3
			I64Const $63
			I64GtU
			BrIf $3 // done: a label longer than 63 bytes
		End
		Get R2
		I64Const $1
		I64Add
		Set R2
		Br $0
	End
	End // end of the host

	// Empty, longer than 253 bytes, or ending with a dot: not a host.
	Get R2
	I64Eqz
	BrIf $0
	Get R2
	I64Const $253
	I64GtU
	BrIf $0
	Get R3
	I64Eqz
	BrIf $0
	Get R2
	Set R5
	End // done

	Get SP
	Get R5
	I64Store ret+16(FP)
	RET

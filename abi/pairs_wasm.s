#include "textflag.h"

// func countPairs(buf []byte) int
//
// countPairsGo on pointers, in locals. R0 buf's base, R1 its end, R2 the
// next pair's sizes, R3 the end of the sizes (where the keys and values
// start), R4 the pair's key, R5 its length, R6 the value's, R7 the result,
// R8 the count.
TEXT ·countPairs(SB), NOSPLIT, $0-32
	MOVD buf_base+0(FP), R0
	MOVD buf_len+8(FP), R1
	I64Const $-1
	Set R7

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
		Tee R4
		I32WrapI64
		I64Load8U $1
		I64Eqz
		I32Eqz
		BrIf $1 // exit

		// The next pair's key, past the value's NUL.
		Get R4
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
	I64Store ret+24(FP)
	RET

// func copyBytes(dst, src *byte, n int)
//
// copyBytesGo: R0 dst, R1 src, R2 the bytes left. From 8 bytes on, words,
// the last one ending where the bytes end (it may overlap the one before:
// dst and src do not overlap each other); under 8, bytes.
TEXT ·copyBytes(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2

	Get R2
	I64Const $8
	I64GeU
	If
		// The last word: R3 at dst, R4 at src.
		Get R0
		Get R2
		I64Add
		I64Const $8
		I64Sub
		Set R3
		Get R1
		Get R2
		I64Add
		I64Const $8
		I64Sub
		Set R4
		Block
		Loop // the words before it
			Get R2
			I64Const $8
			I64LeU
			BrIf $1
			Get R0
			I32WrapI64
			Get R1
			I32WrapI64
			I64Load $0
			I64Store $0
			Get R0
			I64Const $8
			I64Add
			Set R0
			Get R1
			I64Const $8
			I64Add
			Set R1
			Get R2
			I64Const $8
			I64Sub
			Set R2
			Br $0
		End
		End
		Get R3
		I32WrapI64
		Get R4
		I32WrapI64
		I64Load $0
		I64Store $0
		RET
	End

	Block
	Loop // bytes
		Get R2
		I64Eqz
		BrIf $1
		Get R0
		I32WrapI64
		Get R1
		I32WrapI64
		I64Load8U $0
		I64Store8 $0
		Get R0
		I64Const $1
		I64Add
		Set R0
		Get R1
		I64Const $1
		I64Add
		Set R1
		Get R2
		I64Const $1
		I64Sub
		Set R2
		Br $0
	End
	End
	RET

#include "textflag.h"

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

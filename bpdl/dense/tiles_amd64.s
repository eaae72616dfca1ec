//go:build goexperiment.simd && amd64

#include "textflag.h"

// The register tiles of the products, in assembly (see tileAsm in kernels_simd.go for why): rows of a
// broadcast one value at a time, 32 columns of b in two Z registers, one accumulator pair per row.
// Every output is the chain of fused multiply-adds over q in increasing order that the Go kernels
// compute, so the bits are theirs.
//
// Registers: DI, R15, DX the rows 0, 4, 8 of dst and R8 (R14) its row stride (three times it), in bytes;
// SI, R11 the rows 0 and 4 of a and R9 (R10) its row stride (three times it); BX b and R13 its row
// stride; CX the count n; Z0..Z15 the accumulators, Z24 and Z25 a row of b, Z26..Z29 broadcasts.

// ROW multiplies the broadcast a value at addr by the row of b into the accumulators lo and hi.
#define ROW(addr, tmp, lo, hi) \
	VBROADCASTSS addr, tmp; \
	VFMADD231PS  Z24, tmp, lo; \
	VFMADD231PS  Z25, tmp, hi

// LOADC and STOREC move a row of the tile between dst and its accumulators.
#define LOADC(addr, off, lo, hi) \
	VMOVUPS addr, lo; \
	VMOVUPS off addr, hi
#define STOREC(addr, off, lo, hi) \
	VMOVUPS lo, addr; \
	VMOVUPS hi, off addr

// SETUP reads the arguments into the registers above.
#define SETUP \
	MOVQ dst+0(FP), DI; \
	MOVQ ldd+8(FP), R8; \
	SHLQ $2, R8; \
	LEAQ (R8)(R8*2), R14; \
	LEAQ (DI)(R8*4), R15; \
	MOVQ a+16(FP), SI; \
	MOVQ lda+24(FP), R9; \
	SHLQ $2, R9; \
	LEAQ (R9)(R9*2), R10; \
	LEAQ (SI)(R9*4), R11; \
	MOVQ b+32(FP), BX; \
	MOVQ ldb+40(FP), R13; \
	SHLQ $2, R13; \
	MOVQ n+48(FP), CX; \
	MOVBLZX init+56(FP), AX

// func tile8x32asm(dst *float32, ldd int, a *float32, lda int, b *float32, ldb int, n int, init bool)
TEXT ·tile8x32asm(SB), NOSPLIT, $0-57
	SETUP
	TESTQ AX, AX
	JNZ   zero8
	LOADC((DI), 64, Z0, Z1)
	LOADC((DI)(R8*1), 64, Z2, Z3)
	LOADC((DI)(R8*2), 64, Z4, Z5)
	LOADC((DI)(R14*1), 64, Z6, Z7)
	LOADC((R15), 64, Z8, Z9)
	LOADC((R15)(R8*1), 64, Z10, Z11)
	LOADC((R15)(R8*2), 64, Z12, Z13)
	LOADC((R15)(R14*1), 64, Z14, Z15)
	JMP   start8

zero8:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

start8:
	TESTQ CX, CX
	JZ    store8

loop8:
	VMOVUPS (BX), Z24
	VMOVUPS 64(BX), Z25
	ROW((SI), Z26, Z0, Z1)
	ROW((SI)(R9*1), Z27, Z2, Z3)
	ROW((SI)(R9*2), Z28, Z4, Z5)
	ROW((SI)(R10*1), Z29, Z6, Z7)
	ROW((R11), Z26, Z8, Z9)
	ROW((R11)(R9*1), Z27, Z10, Z11)
	ROW((R11)(R9*2), Z28, Z12, Z13)
	ROW((R11)(R10*1), Z29, Z14, Z15)
	ADDQ    $4, SI
	ADDQ    $4, R11
	ADDQ    R13, BX
	DECQ    CX
	JNZ     loop8

store8:
	STOREC((DI), 64, Z0, Z1)
	STOREC((DI)(R8*1), 64, Z2, Z3)
	STOREC((DI)(R8*2), 64, Z4, Z5)
	STOREC((DI)(R14*1), 64, Z6, Z7)
	STOREC((R15), 64, Z8, Z9)
	STOREC((R15)(R8*1), 64, Z10, Z11)
	STOREC((R15)(R8*2), 64, Z12, Z13)
	STOREC((R15)(R14*1), 64, Z14, Z15)
	VZEROUPPER
	RET

// func tile4x32asm(dst *float32, ldd int, a *float32, lda int, b *float32, ldb int, n int, init bool)
TEXT ·tile4x32asm(SB), NOSPLIT, $0-57
	SETUP
	TESTQ AX, AX
	JNZ   zero4
	LOADC((DI), 64, Z0, Z1)
	LOADC((DI)(R8*1), 64, Z2, Z3)
	LOADC((DI)(R8*2), 64, Z4, Z5)
	LOADC((DI)(R14*1), 64, Z6, Z7)
	JMP   start4

zero4:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7

start4:
	TESTQ CX, CX
	JZ    store4

loop4:
	VMOVUPS (BX), Z24
	VMOVUPS 64(BX), Z25
	ROW((SI), Z26, Z0, Z1)
	ROW((SI)(R9*1), Z27, Z2, Z3)
	ROW((SI)(R9*2), Z28, Z4, Z5)
	ROW((SI)(R10*1), Z29, Z6, Z7)
	ADDQ    $4, SI
	ADDQ    R13, BX
	DECQ    CX
	JNZ     loop4

store4:
	STOREC((DI), 64, Z0, Z1)
	STOREC((DI)(R8*1), 64, Z2, Z3)
	STOREC((DI)(R8*2), 64, Z4, Z5)
	STOREC((DI)(R14*1), 64, Z6, Z7)
	VZEROUPPER
	RET

// func prefetchRowsAsm(p *float32, stride int, rows int, bytes int)
TEXT ·prefetchRowsAsm(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), SI
	MOVQ stride+8(FP), R9
	MOVQ rows+16(FP), CX
	MOVQ bytes+24(FP), DX

rowloop:
	TESTQ CX, CX
	JZ    done
	XORQ  AX, AX

lineloop:
	CMPQ       AX, DX
	JAE        nextrow
	PREFETCHT1 (SI)(AX*1)
	ADDQ       $64, AX
	JMP        lineloop

nextrow:
	ADDQ R9, SI
	DECQ CX
	JMP  rowloop

done:
	RET

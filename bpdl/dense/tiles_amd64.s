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

// ZERO4 clears the accumulators of four rows, Z0..Z7; ZERO8 those of eight, Z0..Z15.
#define ZERO4 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7
#define ZERO8 \
	ZERO4; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// FMA4 is one step q of the loop over the shared dimension for rows 0..3 of a (from SI): the row q of b
// into Z24, Z25, times each row's a value into its accumulators. FMA8 adds rows 4..7 (from R11).
#define FMA4 \
	VMOVUPS (BX), Z24; \
	VMOVUPS 64(BX), Z25; \
	ROW((SI), Z26, Z0, Z1); \
	ROW((SI)(R9*1), Z27, Z2, Z3); \
	ROW((SI)(R9*2), Z28, Z4, Z5); \
	ROW((SI)(R10*1), Z29, Z6, Z7)
#define FMA8 \
	FMA4; \
	ROW((R11), Z26, Z8, Z9); \
	ROW((R11)(R9*1), Z27, Z10, Z11); \
	ROW((R11)(R9*2), Z28, Z12, Z13); \
	ROW((R11)(R10*1), Z29, Z14, Z15)

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
	ZERO8

start8:
	TESTQ CX, CX
	JZ    store8

loop8:
	FMA8
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
	ZERO4

start4:
	TESTQ CX, CX
	JZ    store4

loop4:
	FMA4
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

// func transpose16asm(dst *float32, ldd int, src *float32, lds int, add *float32)
//
// transpose16asm sets dst[c*ldd + r] = src[r*lds + c] (+ add[r] when add is not nil) for r, c < 16: one
// 16 x 16 block, the classic AVX-512 network (interleave 32-bit, then 64-bit elements, then shuffle
// 128-bit lanes twice). Strides are in elements.
TEXT ·transpose16asm(SB), NOSPLIT, $0-40
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	SHLQ $2, R9
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	SHLQ $2, R8
	MOVQ add+32(FP), AX
	VMOVUPS (SI), Z0
	ADDQ R9, SI
	VMOVUPS (SI), Z1
	ADDQ R9, SI
	VMOVUPS (SI), Z2
	ADDQ R9, SI
	VMOVUPS (SI), Z3
	ADDQ R9, SI
	VMOVUPS (SI), Z4
	ADDQ R9, SI
	VMOVUPS (SI), Z5
	ADDQ R9, SI
	VMOVUPS (SI), Z6
	ADDQ R9, SI
	VMOVUPS (SI), Z7
	ADDQ R9, SI
	VMOVUPS (SI), Z8
	ADDQ R9, SI
	VMOVUPS (SI), Z9
	ADDQ R9, SI
	VMOVUPS (SI), Z10
	ADDQ R9, SI
	VMOVUPS (SI), Z11
	ADDQ R9, SI
	VMOVUPS (SI), Z12
	ADDQ R9, SI
	VMOVUPS (SI), Z13
	ADDQ R9, SI
	VMOVUPS (SI), Z14
	ADDQ R9, SI
	VMOVUPS (SI), Z15
	VUNPCKLPS Z1, Z0, Z16
	VUNPCKHPS Z1, Z0, Z17
	VUNPCKLPS Z3, Z2, Z18
	VUNPCKHPS Z3, Z2, Z19
	VUNPCKLPS Z5, Z4, Z20
	VUNPCKHPS Z5, Z4, Z21
	VUNPCKLPS Z7, Z6, Z22
	VUNPCKHPS Z7, Z6, Z23
	VUNPCKLPS Z9, Z8, Z24
	VUNPCKHPS Z9, Z8, Z25
	VUNPCKLPS Z11, Z10, Z26
	VUNPCKHPS Z11, Z10, Z27
	VUNPCKLPS Z13, Z12, Z28
	VUNPCKHPS Z13, Z12, Z29
	VUNPCKLPS Z15, Z14, Z30
	VUNPCKHPS Z15, Z14, Z31
	VUNPCKLPD Z18, Z16, Z0
	VUNPCKHPD Z18, Z16, Z1
	VUNPCKLPD Z19, Z17, Z2
	VUNPCKHPD Z19, Z17, Z3
	VUNPCKLPD Z22, Z20, Z4
	VUNPCKHPD Z22, Z20, Z5
	VUNPCKLPD Z23, Z21, Z6
	VUNPCKHPD Z23, Z21, Z7
	VUNPCKLPD Z26, Z24, Z8
	VUNPCKHPD Z26, Z24, Z9
	VUNPCKLPD Z27, Z25, Z10
	VUNPCKHPD Z27, Z25, Z11
	VUNPCKLPD Z30, Z28, Z12
	VUNPCKHPD Z30, Z28, Z13
	VUNPCKLPD Z31, Z29, Z14
	VUNPCKHPD Z31, Z29, Z15
	VSHUFF32X4 $0x88, Z4, Z0, Z16
	VSHUFF32X4 $0xdd, Z4, Z0, Z20
	VSHUFF32X4 $0x88, Z5, Z1, Z17
	VSHUFF32X4 $0xdd, Z5, Z1, Z21
	VSHUFF32X4 $0x88, Z6, Z2, Z18
	VSHUFF32X4 $0xdd, Z6, Z2, Z22
	VSHUFF32X4 $0x88, Z7, Z3, Z19
	VSHUFF32X4 $0xdd, Z7, Z3, Z23
	VSHUFF32X4 $0x88, Z12, Z8, Z24
	VSHUFF32X4 $0xdd, Z12, Z8, Z28
	VSHUFF32X4 $0x88, Z13, Z9, Z25
	VSHUFF32X4 $0xdd, Z13, Z9, Z29
	VSHUFF32X4 $0x88, Z14, Z10, Z26
	VSHUFF32X4 $0xdd, Z14, Z10, Z30
	VSHUFF32X4 $0x88, Z15, Z11, Z27
	VSHUFF32X4 $0xdd, Z15, Z11, Z31
	VSHUFF32X4 $0x88, Z24, Z16, Z0
	VSHUFF32X4 $0xdd, Z24, Z16, Z8
	VSHUFF32X4 $0x88, Z25, Z17, Z1
	VSHUFF32X4 $0xdd, Z25, Z17, Z9
	VSHUFF32X4 $0x88, Z26, Z18, Z2
	VSHUFF32X4 $0xdd, Z26, Z18, Z10
	VSHUFF32X4 $0x88, Z27, Z19, Z3
	VSHUFF32X4 $0xdd, Z27, Z19, Z11
	VSHUFF32X4 $0x88, Z28, Z20, Z4
	VSHUFF32X4 $0xdd, Z28, Z20, Z12
	VSHUFF32X4 $0x88, Z29, Z21, Z5
	VSHUFF32X4 $0xdd, Z29, Z21, Z13
	VSHUFF32X4 $0x88, Z30, Z22, Z6
	VSHUFF32X4 $0xdd, Z30, Z22, Z14
	VSHUFF32X4 $0x88, Z31, Z23, Z7
	VSHUFF32X4 $0xdd, Z31, Z23, Z15
	TESTQ AX, AX
	JZ    store16
	VMOVUPS (AX), Z16
	VADDPS Z16, Z0, Z0
	VADDPS Z16, Z1, Z1
	VADDPS Z16, Z2, Z2
	VADDPS Z16, Z3, Z3
	VADDPS Z16, Z4, Z4
	VADDPS Z16, Z5, Z5
	VADDPS Z16, Z6, Z6
	VADDPS Z16, Z7, Z7
	VADDPS Z16, Z8, Z8
	VADDPS Z16, Z9, Z9
	VADDPS Z16, Z10, Z10
	VADDPS Z16, Z11, Z11
	VADDPS Z16, Z12, Z12
	VADDPS Z16, Z13, Z13
	VADDPS Z16, Z14, Z14
	VADDPS Z16, Z15, Z15
store16:
	VMOVUPS Z0, (DI)
	ADDQ R8, DI
	VMOVUPS Z1, (DI)
	ADDQ R8, DI
	VMOVUPS Z2, (DI)
	ADDQ R8, DI
	VMOVUPS Z3, (DI)
	ADDQ R8, DI
	VMOVUPS Z4, (DI)
	ADDQ R8, DI
	VMOVUPS Z5, (DI)
	ADDQ R8, DI
	VMOVUPS Z6, (DI)
	ADDQ R8, DI
	VMOVUPS Z7, (DI)
	ADDQ R8, DI
	VMOVUPS Z8, (DI)
	ADDQ R8, DI
	VMOVUPS Z9, (DI)
	ADDQ R8, DI
	VMOVUPS Z10, (DI)
	ADDQ R8, DI
	VMOVUPS Z11, (DI)
	ADDQ R8, DI
	VMOVUPS Z12, (DI)
	ADDQ R8, DI
	VMOVUPS Z13, (DI)
	ADDQ R8, DI
	VMOVUPS Z14, (DI)
	ADDQ R8, DI
	VMOVUPS Z15, (DI)
	VZEROUPPER
	RET

// MOM applies SGD with momentum to a row of 32 weights at waddr and their velocities at vaddr, the
// row's gradient in the accumulators lo and hi: v <- v*mu + g*coef, then w <- w - v*lr, each product
// and sum rounded on its own (no fused multiply-add), as optim's momentumSpan computes it. Z16, Z17,
// Z18 hold lr, mu and coef broadcast; Z20..Z23 are scratch.
#define MOM(waddr, vaddr, lo, hi) \
	VMOVUPS vaddr, Z20; \
	VMOVUPS 64 vaddr, Z21; \
	VMULPS  Z17, Z20, Z20; \
	VMULPS  Z17, Z21, Z21; \
	VMULPS  Z18, lo, lo; \
	VMULPS  Z18, hi, hi; \
	VADDPS  lo, Z20, Z20; \
	VADDPS  hi, Z21, Z21; \
	VMOVUPS Z20, vaddr; \
	VMOVUPS Z21, 64 vaddr; \
	VMULPS  Z16, Z20, Z20; \
	VMULPS  Z16, Z21, Z21; \
	VMOVUPS waddr, Z22; \
	VMOVUPS 64 waddr, Z23; \
	VSUBPS  Z20, Z22, Z22; \
	VSUBPS  Z21, Z23, Z23; \
	VMOVUPS Z22, waddr; \
	VMOVUPS Z23, 64 waddr

// PF asks for the two cache lines at addr into the L2 cache.
#define PF(addr) \
	PREFETCHT1 addr; \
	PREFETCHT1 64 addr

// PF4 asks for the 32 columns at base of four rows R8 bytes apart.
#define PF4(base) \
	PF((base)); \
	PF((base)(R8*1)); \
	PF((base)(R8*2)); \
	PF((base)(R14*1))

// func tile8x32momAsm(w *float32, v *float32, ldw int, a *float32, lda int, b *float32, ldb int, n int, lr, mu, coef float32, pf int)
//
// tile8x32momAsm forms the gradient of eight rows by 32 columns of weights as tile8x32asm does from zero
// (n >= 1), then applies MOM to the weights w and velocities v (row stride ldw, in elements) instead of
// storing it. Before the loop, unless pf is 0, it asks for the 32 columns of the eight rows of w and v
// that start pf bytes after w and v. Registers as in SETUP, with DI, R15 the rows 0 and 4 of w and DX,
// R12 those of v.
TEXT ·tile8x32momAsm(SB), NOSPLIT, $0-88
	MOVQ         w+0(FP), DI
	MOVQ         v+8(FP), DX
	MOVQ         ldw+16(FP), R8
	SHLQ         $2, R8
	LEAQ         (R8)(R8*2), R14
	LEAQ         (DI)(R8*4), R15
	LEAQ         (DX)(R8*4), R12
	MOVQ         a+24(FP), SI
	MOVQ         lda+32(FP), R9
	SHLQ         $2, R9
	LEAQ         (R9)(R9*2), R10
	LEAQ         (SI)(R9*4), R11
	MOVQ         b+40(FP), BX
	MOVQ         ldb+48(FP), R13
	SHLQ         $2, R13
	MOVQ         n+56(FP), CX
	VBROADCASTSS lr+64(FP), Z16
	VBROADCASTSS mu+68(FP), Z17
	VBROADCASTSS coef+72(FP), Z18
	ZERO8
	MOVQ         pf+80(FP), AX
	TESTQ        AX, AX
	JZ           loopm
	LEAQ         (DI)(AX*1), R10
	PF4(R10)
	LEAQ         (R15)(AX*1), R10
	PF4(R10)
	LEAQ         (DX)(AX*1), R10
	PF4(R10)
	LEAQ         (R12)(AX*1), R10
	PF4(R10)
	LEAQ         (R9)(R9*2), R10

loopm:
	FMA8
	ADDQ    $4, SI
	ADDQ    $4, R11
	ADDQ    R13, BX
	DECQ    CX
	JNZ     loopm

	MOM((DI), (DX), Z0, Z1)
	MOM((DI)(R8*1), (DX)(R8*1), Z2, Z3)
	MOM((DI)(R8*2), (DX)(R8*2), Z4, Z5)
	MOM((DI)(R14*1), (DX)(R14*1), Z6, Z7)
	MOM((R15), (R12), Z8, Z9)
	MOM((R15)(R8*1), (R12)(R8*1), Z10, Z11)
	MOM((R15)(R8*2), (R12)(R8*2), Z12, Z13)
	MOM((R15)(R14*1), (R12)(R14*1), Z14, Z15)
	VZEROUPPER
	RET

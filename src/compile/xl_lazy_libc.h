/*
 * What a lazy batch (src/compile/lazy.c) declares of the C library instead
 * of including <math.h>, <string.h>, <stdlib.h>, <setjmp.h>, <stdint.h>,
 * <stdbool.h> and <stddef.h>:
 * the prelude (xl_prelude.h), abi.h and wasm-rt.h use these few, and parsing
 * those headers was most of what libtcc spent on each batch's declarations
 * (measured on Yosys: 4.8 -> 2.0 ms per batch without the first four, 0.5
 * ms less without stdint.h and wasm-rt.h's includes; docs/architecture.md
 * "The first answer").
 *
 * lazy.c puts this text where the prelude includes <math.h>, drops the
 * includes of <string.h> and <stdint.h>, and puts wasm-rt.h's text without
 * its includes where abi.h includes it; the include guards below keep any
 * other include of those headers empty. tests/compile/test_lazy.c includes
 * this file after the real headers, so gcc checks that every declaration
 * here matches.
 */
#ifndef XL_LAZY_LIBC_H
#define XL_LAZY_LIBC_H
/* <stdbool.h>'s and <stddef.h>'s few, as gcc's and tcc's define them: no
 * batch opens a file */
#define bool _Bool
#define true 1
#define false 0
typedef unsigned long size_t;
#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef _STDINT_H
#define _STDINT_H 1
#endif
typedef signed char int8_t;
typedef short int int16_t;
typedef int int32_t;
typedef long int int64_t;
typedef unsigned char uint8_t;
typedef unsigned short int uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long int uint64_t;
typedef long int intptr_t;
typedef unsigned long int uintptr_t;
#ifndef UINTPTR_MAX /* wasm-rt.h tests it */
#define UINTPTR_MAX 18446744073709551615UL
#endif
#ifndef _SETJMP_H
#define _SETJMP_H 1
/* wasm-rt.h names jmp_buf in a prototype; no batch unwinds (an incomplete
 * type: any use would fail to compile) */
typedef struct xl_no_jmp_buf jmp_buf;
#endif
#define _MATH_H 1
#define _STRING_H 1
#define _STDLIB_H 1
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void abort(void);
double sqrt(double x);
float sqrtf(float x);
double ceil(double x);
float ceilf(float x);
double floor(double x);
float floorf(float x);
double trunc(double x);
float truncf(float x);
double nearbyint(double x);
float nearbyintf(float x);
#endif

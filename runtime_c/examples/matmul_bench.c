/*
 * int8 matrix multiply benchmark: C[M][N] = requant(A[M][K] x B[N][K]^T + bias[N]).
 *
 * Two workloads: by default a naive C loop (about five instructions per translated block, the
 * emulator's worst case); with BENCH_RUNTIME_KERNEL=1 the runtime's mcusim_fully_connected_s8 (link
 * runtime_c/src/fully_connected_s8.c; its DSP path with MCUSIM_DSP=1), as models run it.
 *
 * The bundled example `make demo` runs until models exist. A and B are filled from a fixed LCG so the
 * checksum printed at the end is reproducible; each pass is bracketed by trace markers and timed with
 * DWT->CYCCNT, as on a board.
 */
#include <stdint.h>
#include <stdio.h>

#include "mcusim.h"
#if BENCH_RUNTIME_KERNEL
#include "mcusim_nn.h"
#endif

#ifndef BENCH_M
#define BENCH_M 49 /* tokens of a 7x7 patch grid */
#endif
#ifndef BENCH_K
#define BENCH_K 64 /* embedding dimension */
#endif
#ifndef BENCH_N
#define BENCH_N 64
#endif
#ifndef BENCH_PASSES
#define BENCH_PASSES 4
#endif

static int8_t a[BENCH_M][BENCH_K];
static int8_t b[BENCH_N][BENCH_K];
static int32_t bias[BENCH_N];
static int8_t c[BENCH_M][BENCH_N];

static uint32_t lcg_state = 12345u;

static int8_t next_s8(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return (int8_t)(lcg_state >> 24);
}

#if BENCH_RUNTIME_KERNEL
/* Requantization by 2^-8 as in requantize(), with TFLite's rounding (a multiplier of 2^30 is one half,
 * then shift -7), so the checksums of the two workloads differ. */
static const int32_t multiplier[BENCH_N] = {[0 ... BENCH_N - 1] = 1 << 30};
static const int32_t shift[BENCH_N] = {[0 ... BENCH_N - 1] = -7};

__attribute__((noinline)) static void matmul_s8(void)
{
    static const mcusim_fc_params params = {.input_offset = 0, .output_offset = 0, .act_min = -128, .act_max = 127};
    static const mcusim_per_channel_quant quant = {multiplier, shift};
    static const mcusim_dims input_dims = {BENCH_M, 1, 1, BENCH_K}, filter_dims = {BENCH_N, 1, 1, BENCH_K},
                             output_dims = {BENCH_M, 1, 1, BENCH_N};
    mcusim_fully_connected_s8(&params, &quant, &input_dims, &a[0][0], &filter_dims, &b[0][0], bias, &output_dims,
                              &c[0][0]);
}
#else
/* Rounding right shift by `shift` (1..31) of an int32 accumulator, saturated to int8. */
static int8_t requantize(int32_t acc, int shift)
{
    int32_t v = (acc + (1 << (shift - 1))) >> shift;
    return (int8_t)(v > 127 ? 127 : v < -128 ? -128 : v);
}

__attribute__((noinline)) static void matmul_s8(void)
{
    for (int m = 0; m < BENCH_M; m++) {
        for (int n = 0; n < BENCH_N; n++) {
            int32_t acc = bias[n];
            for (int k = 0; k < BENCH_K; k++) {
                acc += (int32_t)a[m][k] * b[n][k];
            }
            c[m][n] = requantize(acc, 8);
        }
    }
}
#endif

int main(void)
{
    for (int m = 0; m < BENCH_M; m++)
        for (int k = 0; k < BENCH_K; k++)
            a[m][k] = next_s8();
    for (int n = 0; n < BENCH_N; n++) {
        for (int k = 0; k < BENCH_K; k++)
            b[n][k] = next_s8() | 1; /* odd: never -128, as filters must be in [-127, 127] */
        bias[n] = (int32_t)next_s8() * 64;
    }
    mcusim_cycles_start();
    uint32_t best = UINT32_MAX;
    for (int pass = 0; pass < BENCH_PASSES; pass++) {
        mcusim_marker("matmul_s8");
        uint32_t t0 = mcusim_cycles();
        matmul_s8();
        uint32_t dt = mcusim_cycles() - t0;
        best = dt < best ? dt : best;
    }
    mcusim_marker("checksum");
    uint32_t sum = 0;
    for (int m = 0; m < BENCH_M; m++)
        for (int n = 0; n < BENCH_N; n++)
            sum = sum * 31u + (uint8_t)c[m][n];
    printf("matmul_s8 %dx%dx%d: %lu MACs, %lu cycles per pass, checksum %08lx\n", BENCH_M, BENCH_K, BENCH_N,
           (unsigned long)BENCH_M * BENCH_K * BENCH_N, (unsigned long)best, (unsigned long)sum);
    return 0;
}

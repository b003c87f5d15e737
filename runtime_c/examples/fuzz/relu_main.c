/*
 * Firmware around relu_s8.c for `mcusim run` (docs/testing.md): one call on RELU_N int8 values (a
 * ramp over the whole int8 range) with a multiplier of 0.75 and zero points -3 and -128, bracketed by
 * the trace marker "relu_s8". Build with relu_s8.c; it exits 0, so a run fails only on a fault or a
 * budget (--max-cycles, --max-stack, --max-sram).
 */
#include <stdint.h>

#include "mcusim.h"

#ifndef RELU_N
#define RELU_N 256
#endif

void relu_s8(const int8_t *input, int8_t *output, int32_t size, int32_t input_zp, int32_t multiplier,
             int32_t shift, int32_t output_zp);

static int8_t input[RELU_N], output[RELU_N];

int main(void)
{
    for (int32_t i = 0; i < RELU_N; i++) {
        input[i] = (int8_t)(i * 256 / RELU_N - 128);
    }
    mcusim_marker("relu_s8");
    relu_s8(input, output, RELU_N, -3, 1610612736 /* 0.75 * 2^31 */, 0, -128);
    mcusim_marker("done");
    return 0;
}

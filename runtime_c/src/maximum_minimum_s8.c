/*
 * mcusim_maximum_minimum_s8: int8 elementwise maximum or minimum with broadcasting, TFLM's MAXIMUM and
 * MINIMUM (a compare of the int8 values; inputs and output share one quantization). Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/maximum_minimum.py.
 *
 * Plain path: one element a step. DSP path (MCUSIM_DSP=1): four a step, SSUB8 + SEL on one word of
 * each input (a broadcast element in all four lanes of a constant word), the n % 4 tail plain.
 */
#include "mcusim_binary_support.h"

static void maximum_minimum_run(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                                int32_t step1, int32_t step2)
{
    const int32_t maximum = ((const mcusim_maximum_minimum_params *)plan)->maximum;
    int32_t i = 0;
#if MCUSIM_DSP
    const uint32_t lanes1 = 0x01010101u * (uint8_t)in1[0], lanes2 = 0x01010101u * (uint8_t)in2[0];
    for (; i + 4 <= n; i += 4) {
        const uint32_t w1 = step1 ? mcusim_read_u32(in1 + i) : lanes1, w2 = step2 ? mcusim_read_u32(in2 + i) : lanes2;
        mcusim_write_u32(out + i, maximum ? mcusim_max8(w1, w2) : mcusim_min8(w1, w2));
    }
#endif
    for (; i < n; i++) {
        const int8_t x1 = in1[i * step1], x2 = in2[i * step2];
        out[i] = (x1 > x2) == maximum ? x1 : x2;
    }
}

mcusim_status mcusim_maximum_minimum_s8(const mcusim_maximum_minimum_params *params, const mcusim_dims *input1_dims,
                                        const int8_t *input1, const mcusim_dims *input2_dims, const int8_t *input2,
                                        const mcusim_dims *output_dims, int8_t *output)
{
    mcusim_broadcast bc;
    if (!mcusim_broadcast_of(input1_dims, input2_dims, output_dims, &bc) ||
        (params->maximum != 0 && params->maximum != 1)) {
        return MCUSIM_ARG_ERROR;
    }
    mcusim_broadcast_walk(&bc, params, input1, input2, output, maximum_minimum_run);
    return MCUSIM_OK;
}

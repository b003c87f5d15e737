/*
 * mcusim_mul_s8: int8 elementwise multiplication with broadcasting, TFLite's int8 reference. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/mul.py (docs/numerics.md#mul).
 *
 *   out = clamp(requant((x1 + o1) * (x2 + o2), output_multiplier, output_shift) + output_offset, act_min, act_max)
 *
 * One loop for every run (mcusim_binary_support.h): a broadcast operand's step is 0, so its offset
 * value is read once per element at no cost beside the requantization, which dominates.
 */
#include "mcusim_binary_support.h"

static void mul_run(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n, int32_t step1,
                    int32_t step2)
{
    const mcusim_mul_params *p = plan;
    for (int32_t i = 0; i < n; i++) {
        const int32_t product = (in1[i * step1] + p->input1_offset) * (in2[i * step2] + p->input2_offset);
        const int32_t y = mcusim_requantize(product, p->output_multiplier, p->output_shift);
        out[i] = (int8_t)mcusim_clamp(mcusim_add_wrap(y, p->output_offset), p->act_min, p->act_max);
    }
}

mcusim_status mcusim_mul_s8(const mcusim_mul_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    mcusim_broadcast bc;
    if (!mcusim_broadcast_of(input1_dims, input2_dims, output_dims, &bc) || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    mcusim_broadcast_walk(&bc, params, input1, input2, output, mul_run);
    return MCUSIM_OK;
}

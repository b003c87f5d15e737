/*
 * mcusim_squared_difference_s8: int8 (x1 - x2)^2 with broadcasting, TFLM's SQUARED_DIFFERENCE int8 path.
 * Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/squared_difference.py
 * (docs/numerics.md#squared_difference).
 *
 *   v_i = requant((x_i + offset_i) << left_shift, multiplier_i, shift_i)     (left_shift 7, shift_i <= 0)
 *   d   = v_1 - v_2
 *   out = clamp(requant(d * d, output_multiplier, output_shift) + output_offset, act_min, act_max)
 *
 * The input stage is add's (mcusim_binary_support.h: each v_i in the fast form, |d| < 2^17); d * d wraps
 * as int32 (it fits, below 2^30, where the input multipliers are at most 0.5 as Prepare makes them);
 * its requantization may shift left (output_shift up to 30), so it takes mcusim_requant_apply, the
 * fast form where 2 (d * d << left) fits int32 and the general one otherwise. A run against a
 * broadcast element rescales that element once.
 */
#include "mcusim_binary_support.h"

static inline int8_t squared_difference_output(const mcusim_rescale_plan *p, int32_t d)
{
    const int32_t squared = (int32_t)((uint32_t)d * (uint32_t)d);
    return (int8_t)mcusim_clamp(mcusim_add_wrap(mcusim_requant_apply(&p->out, squared), p->output_offset),
                                p->act_min, p->act_max);
}

static void squared_difference_run(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                                   int32_t step1, int32_t step2)
{
    const mcusim_rescale_plan *p = plan;
    if (step1 && step2) {
        for (int32_t i = 0; i < n; i++) {
            out[i] = squared_difference_output(p, mcusim_rescale1(p, in1[i]) - mcusim_rescale2(p, in2[i]));
        }
    } else if (step1) {
        const int32_t v2 = mcusim_rescale2(p, in2[0]);
        for (int32_t i = 0; i < n; i++) {
            out[i] = squared_difference_output(p, mcusim_rescale1(p, in1[i]) - v2);
        }
    } else {
        const int32_t v1 = mcusim_rescale1(p, in1[0]);
        for (int32_t i = 0; i < n; i++) {
            out[i] = squared_difference_output(p, v1 - mcusim_rescale2(p, in2[i]));
        }
    }
}

mcusim_status mcusim_squared_difference_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims,
                                           const int8_t *input1, const mcusim_dims *input2_dims,
                                           const int8_t *input2, const mcusim_dims *output_dims, int8_t *output)
{
    mcusim_broadcast bc;
    if (!mcusim_broadcast_of(input1_dims, input2_dims, output_dims, &bc) || !mcusim_rescale_is_fast(params) ||
        params->left_shift != 7 || params->output_multiplier < 0 || params->output_shift < -31 ||
        params->output_shift > 30 || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    const mcusim_rescale_plan plan = mcusim_rescale_plan_of(params);
    mcusim_broadcast_walk(&bc, &plan, input1, input2, output, squared_difference_run);
    return MCUSIM_OK;
}

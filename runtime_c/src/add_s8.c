/*
 * mcusim_add_s8: int8 elementwise addition with TFLite's rescaling and broadcasting. Contract and
 * legal ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/add.py (docs/numerics.md#add).
 *
 *   v_i = requant((x_i + offset_i) << left_shift, multiplier_i, shift_i)     (shift_i <= 0)
 *   out = clamp(requant(v_1 + v_2, output_multiplier, output_shift) + output_offset, act_min, act_max)
 *
 * The code is sub's with the other sign (mcusim_binary_support.h): each requantization in the fast
 * form; a flat run four elements a step on the DSP path (MCUSIM_DSP=1), one otherwise; a run against
 * a broadcast element rescales it once; parameters outside the fast form take the direct formula.
 */
#include "mcusim_binary_support.h"

/* Not inlined into the walk, so that the loops have the registers to themselves. */
__attribute__((noinline)) static void add_run(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out,
                                              int32_t n, int32_t step1, int32_t step2)
{
    mcusim_add_sub_run(plan, in1, in2, out, n, step1, step2, 1);
}

static void add_direct_run(const void *params, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                           int32_t step1, int32_t step2)
{
    mcusim_add_sub_direct_run(params, in1, in2, out, n, step1, step2, 1);
}

mcusim_status mcusim_add_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    return mcusim_add_sub(params, input1_dims, input1, input2_dims, input2, output_dims, output, add_run,
                          add_direct_run);
}

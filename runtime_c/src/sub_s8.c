/*
 * mcusim_sub_s8: int8 elementwise subtraction, TFLite's int8 SUB with broadcasting. Contract and legal
 * ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/sub.py (docs/numerics.md#sub).
 *
 *   v_i = requant((x_i + offset_i) << left_shift, multiplier_i, shift_i)     (shift_i <= 0)
 *   out = clamp(requant(v_1 - v_2, output_multiplier, output_shift) + output_offset, act_min, act_max)
 *
 * add's code with the other sign (mcusim_binary_support.h). Not add with input 2's multiplier
 * negated: requant rounds ties up, so requant(a, -m) and -requant(a, m) differ at ties.
 */
#include "mcusim_binary_support.h"

/* Not inlined into the walk, so that the loops have the registers to themselves. */
__attribute__((noinline)) static void sub_run(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out,
                                              int32_t n, int32_t step1, int32_t step2)
{
    mcusim_add_sub_run(plan, in1, in2, out, n, step1, step2, -1);
}

static void sub_direct_run(const void *params, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                           int32_t step1, int32_t step2)
{
    mcusim_add_sub_direct_run(params, in1, in2, out, n, step1, step2, -1);
}

mcusim_status mcusim_sub_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    return mcusim_add_sub(params, input1_dims, input1, input2_dims, input2, output_dims, output, sub_run,
                          sub_direct_run);
}

/*
 * mcusim_softmax_s8: int8 softmax over the last axis, bit-exact with TFLite's int8 reference.
 * Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/softmax.py.
 *
 * Per row: d = x - max(row); inputs with d >= diff_min get e = exp(d * beta * scale) in Q0.31 (the
 * difference scaled to Q5.26 by input_multiplier << input_left_shift), the others contribute nothing
 * and output -128. The sum of e >> 12 (Q12.19) is normalized to [1, 2) and inverted; each output is
 * e * (1 / sum) rounded to 8 bits, minus 128.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_softmax_s8(const mcusim_softmax_params *params, const mcusim_dims *input_dims,
                                const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t depth = input_dims->c, rows = mcusim_softmax_rows(params, input_dims, output_dims);
    if (rows < 0) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        const int32_t max = mcusim_row_max_s8(x, depth);
        int32_t sum = 0;
        for (int32_t i = 0; i < depth; i++) {
            if (x[i] - max >= params->diff_min) {
                sum = mcusim_wrap_add(sum, mcusim_rounding_divide_by_pot(mcusim_softmax_exp(params, x[i] - max), 12));
            }
        }
        int32_t scale, shift;
        mcusim_softmax_reciprocal(sum, &scale, &shift);
        for (int32_t i = 0; i < depth; i++) {
            int32_t out = -128;
            if (x[i] - max >= params->diff_min) {
                out = mcusim_rounding_divide_by_pot(mcusim_srdhm(scale, mcusim_softmax_exp(params, x[i] - max)), shift);
                out = mcusim_clamp(out - 128, -128, 127);
            }
            y[i] = (int8_t)out;
        }
    }
    return MCUSIM_OK;
}

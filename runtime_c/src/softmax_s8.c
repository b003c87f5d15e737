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
    const int32_t depth = input_dims->c;
    const int32_t rows = input_dims->n * input_dims->h * input_dims->w;
    if (depth < 1 || depth > 2048 || rows < 1 || output_dims->c != depth ||
        output_dims->n * output_dims->h * output_dims->w != rows || params->input_left_shift < 0 ||
        params->input_left_shift > 30 || params->diff_min > 0) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + r * depth;
        int8_t *y = output + r * depth;
        int32_t max = -128;
        for (int32_t i = 0; i < depth; i++) {
            max = x[i] > max ? x[i] : max;
        }
        int32_t sum = 0;
        for (int32_t i = 0; i < depth; i++) {
            int32_t diff = x[i] - max;
            if (diff >= params->diff_min) {
                int32_t scaled = mcusim_srdhm((int32_t)((uint32_t)diff << params->input_left_shift),
                                              params->input_multiplier);
                sum = mcusim_wrap_add(sum, mcusim_rounding_divide_by_pot(mcusim_exp_on_negative_values(scaled), 12));
            }
        }
        const int32_t headroom = __builtin_clz((uint32_t)sum);
        const int32_t bits_over_unit = 12 - headroom;
        const int32_t scale = mcusim_one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - (1u << 31)));
        for (int32_t i = 0; i < depth; i++) {
            int32_t diff = x[i] - max;
            if (diff >= params->diff_min) {
                int32_t scaled = mcusim_srdhm((int32_t)((uint32_t)diff << params->input_left_shift),
                                              params->input_multiplier);
                int32_t e = mcusim_exp_on_negative_values(scaled);
                int32_t out = mcusim_rounding_divide_by_pot(mcusim_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                y[i] = (int8_t)mcusim_clamp(out, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return MCUSIM_OK;
}

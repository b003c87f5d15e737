/*
 * mcusim_softmax_lut_s8: TinyFormer's softmax: the same bits as mcusim_softmax_s8, with exp computed
 * at most once per distinct difference. Contract: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/softmax.py (the same function as the direct kernel).
 *
 * exp depends only on d = max(row) - x in [0, 255] and the op's parameters, so a 256-entry table of
 * Q0.31 values, filled lazily under a 256-bit bitmap, serves every row of the call: an entry is
 * computed the first time its difference occurs, exactly as the direct kernel computes it, and read
 * from then on (in both the sum and the output pass). The table and bitmap live on the stack
 * (1056 bytes), cleared per call.
 */
#include <string.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_softmax_lut_s8(const mcusim_softmax_params *params, const mcusim_dims *input_dims,
                                    const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t depth = input_dims->c;
    const int32_t rows = input_dims->n * input_dims->h * input_dims->w;
    if (depth < 1 || depth > 2048 || rows < 1 || output_dims->c != depth ||
        output_dims->n * output_dims->h * output_dims->w != rows || params->input_left_shift < 0 ||
        params->input_left_shift > 30 || params->diff_min > 0) {
        return MCUSIM_ARG_ERROR;
    }
    /* Differences beyond `inside` (below diff_min) contribute nothing: filled with 0 up front. */
    const int32_t inside = params->diff_min < -255 ? 255 : -params->diff_min;
    int32_t table[256];
    uint32_t filled[8];
    memset(filled, 0, sizeof filled);
    for (int32_t d = inside + 1; d < 256; d++) {
        table[d] = 0;
        filled[d >> 5] |= 1u << (d & 31);
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
            const int32_t d = max - x[i];
            if (!(filled[d >> 5] & (1u << (d & 31)))) {
                int32_t scaled = mcusim_srdhm((int32_t)((uint32_t)(-d) << params->input_left_shift),
                                              params->input_multiplier);
                table[d] = mcusim_exp_on_negative_values(scaled);
                filled[d >> 5] |= 1u << (d & 31);
            }
            sum = mcusim_wrap_add(sum, mcusim_rounding_divide_by_pot(table[d], 12));
        }
        const int32_t headroom = __builtin_clz((uint32_t)sum);
        const int32_t bits_over_unit = 12 - headroom;
        const int32_t scale = mcusim_one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - (1u << 31)));
        for (int32_t i = 0; i < depth; i++) {
            const int32_t d = max - x[i];
            if (d <= inside) {
                int32_t out = mcusim_rounding_divide_by_pot(mcusim_srdhm(scale, table[d]), bits_over_unit + 31 - 8) - 128;
                y[i] = (int8_t)mcusim_clamp(out, -128, 127);
            } else {
                y[i] = -128;
            }
        }
    }
    return MCUSIM_OK;
}

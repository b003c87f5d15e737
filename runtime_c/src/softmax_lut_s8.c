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
    const int32_t depth = input_dims->c, rows = mcusim_softmax_rows(params, input_dims, output_dims);
    if (rows < 0) {
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
        const int32_t max = mcusim_row_max_s8(x, depth);
        int32_t sum = 0;
        for (int32_t i = 0; i < depth; i++) {
            const int32_t d = max - x[i];
            if (!(filled[d >> 5] & (1u << (d & 31)))) {
                table[d] = mcusim_softmax_exp(params, -d);
                filled[d >> 5] |= 1u << (d & 31);
            }
            sum = mcusim_wrap_add(sum, mcusim_rounding_divide_by_pot(table[d], 12));
        }
        int32_t scale, shift;
        mcusim_softmax_reciprocal(sum, &scale, &shift);
        for (int32_t i = 0; i < depth; i++) {
            const int32_t d = max - x[i];
            int32_t out = -128;
            if (d <= inside) {
                out = mcusim_clamp(mcusim_rounding_divide_by_pot(mcusim_srdhm(scale, table[d]), shift) - 128, -128, 127);
            }
            y[i] = (int8_t)out;
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_softmax_lut_s8_scratch_size(MCUSIM_UNARY_ARGS(mcusim_softmax_params))
{
    return 256 * 4 + 8 * 4; /* the table and its bitmap */
}

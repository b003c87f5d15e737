/*
 * mcusim_batch_matmul_s8: int8 batched matrix product with both operands' zero points, as TFLite's
 * BATCH_MATMUL (adj_y). Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/batch_matmul.py.
 *
 * sum_k (a + oa)(b + ob) = sum_k (a + oa) b + ob * sum_k (a + oa): the first term is the shared dot
 * product (plain, or SMLAD under MCUSIM_DSP), the second a row sum computed once per lhs row.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_batch_matmul_s8(const mcusim_mul_params *params, const mcusim_dims *lhs_dims, const int8_t *lhs,
                                     const mcusim_dims *rhs_dims, const int8_t *rhs, const mcusim_dims *output_dims,
                                     int8_t *output)
{
    const int32_t batches = lhs_dims->n, rows = lhs_dims->w, depth = lhs_dims->c, cols = rhs_dims->w;
    if (batches < 1 || rows < 1 || depth < 1 || depth > 32767 || cols < 1 || rhs_dims->n != batches ||
        rhs_dims->c != depth || output_dims->n != batches || output_dims->w != rows || output_dims->c != cols ||
        params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t b = 0; b < batches; b++) {
        for (int32_t m = 0; m < rows; m++) {
            const int8_t *a = lhs + (b * rows + m) * depth;
            int32_t row_sum = 0;
            for (int32_t k = 0; k < depth; k++) {
                row_sum += a[k] + params->input1_offset;
            }
            for (int32_t n = 0; n < cols; n++) {
                int32_t acc = mcusim_dot_s8(a, rhs + (b * cols + n) * depth, depth, params->input1_offset,
                                            params->input2_offset * row_sum);
                acc = mcusim_requantize(acc, params->output_multiplier, params->output_shift);
                output[(b * rows + m) * cols + n] =
                    (int8_t)mcusim_clamp(mcusim_add_wrap(acc, params->output_offset), params->act_min, params->act_max);
            }
        }
    }
    return MCUSIM_OK;
}

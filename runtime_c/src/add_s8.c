/*
 * mcusim_add_s8: int8 elementwise addition with TFLite's rescaling. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/add.py.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_add_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    const int32_t n = mcusim_binary_count(input1_dims, input2_dims, output_dims);
    if (n < 0 || params->left_shift < 0 || params->left_shift > 20 || params->input1_shift > 0 ||
        params->input2_shift > 0 || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t a = mcusim_requantize((input1[i] + params->input1_offset) * (1 << params->left_shift),
                                            params->input1_multiplier, params->input1_shift);
        const int32_t b = mcusim_requantize((input2[i] + params->input2_offset) * (1 << params->left_shift),
                                            params->input2_multiplier, params->input2_shift);
        const int32_t sum = mcusim_requantize(a + b, params->output_multiplier, params->output_shift);
        output[i] = (int8_t)mcusim_clamp(mcusim_add_wrap(sum, params->output_offset), params->act_min, params->act_max);
    }
    return MCUSIM_OK;
}

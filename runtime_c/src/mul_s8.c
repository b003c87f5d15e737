/*
 * mcusim_mul_s8: int8 elementwise multiplication, TFLite's int8 reference. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/mul.py.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_mul_s8(const mcusim_mul_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    const int32_t n = mcusim_binary_count(input1_dims, input2_dims, output_dims);
    if (n < 0 || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t product = (input1[i] + params->input1_offset) * (input2[i] + params->input2_offset);
        const int32_t out = mcusim_requantize(product, params->output_multiplier, params->output_shift);
        output[i] = (int8_t)mcusim_clamp(mcusim_add_wrap(out, params->output_offset), params->act_min, params->act_max);
    }
    return MCUSIM_OK;
}

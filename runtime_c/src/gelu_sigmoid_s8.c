/*
 * mcusim_gelu_sigmoid_s8: MCUFormer's integer GELU, x * sigmoid(1.702 x), in fixed point only.
 * Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/gelu_sigmoid.py.
 *
 * 1.702 x as Q5.26 (one multiply, rounded, saturated), gemmlowp's logistic of it as Q0.31, the
 * product with x kept to 23 fractional bits, then one requantization to the output.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_gelu_sigmoid_s8(const mcusim_gelu_sigmoid_params *params, const mcusim_dims *input_dims,
                                     const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t n = mcusim_binary_count(input_dims, output_dims, output_dims);
    if (n < 0 || params->input_shift < 0 || params->input_shift > 31 || params->output_shift < -31 ||
        params->output_shift > 0) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        const int32_t v = input[i] + params->input_offset;
        int64_t a = mcusim_rounding_divide_by_pot64((int64_t)v * params->input_multiplier, 31 - params->input_shift);
        a = a > INT32_MAX ? INT32_MAX : a < INT32_MIN ? INT32_MIN : a;
        const int32_t product = (int32_t)mcusim_rounding_divide_by_pot64((int64_t)v * mcusim_logistic((int32_t)a), 8);
        const int32_t out = mcusim_requantize(product, params->output_multiplier, params->output_shift);
        output[i] = (int8_t)mcusim_clamp(out + params->output_offset, -128, 127);
    }
    return MCUSIM_OK;
}

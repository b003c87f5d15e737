/*
 * mcusim_dequantize_s8: int8 -> float32 at a graph's output, as TFLite's Dequantize (the product
 * in double, then rounded to float). Contract: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/quantize.py.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_dequantize_s8(const mcusim_affine_params *params, const mcusim_dims *input_dims,
                                   const int8_t *input, const mcusim_dims *output_dims, float *output)
{
    const int32_t n = mcusim_dims_count(input_dims);
    if (n < 1 || mcusim_dims_count(output_dims) != n || !(params->scale > 0.0f)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        output[i] = (float)((double)params->scale * (double)(input[i] - params->zero_point));
    }
    return MCUSIM_OK;
}

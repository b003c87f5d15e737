/*
 * mcusim_quantize_s8: float32 -> int8 at a graph's input, as TFLite's AffineQuantize.
 * Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/quantize.py.
 */
#include <math.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_quantize_s8(const mcusim_affine_params *params, const mcusim_dims *input_dims,
                                 const float *input, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t n = mcusim_dims_count(input_dims);
    if (n < 1 || mcusim_dims_count(output_dims) != n || !(params->scale > 0.0f)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        const float q = roundf(input[i] / params->scale);
        /* Saturate in float first: a huge quotient does not fit int32. */
        const int32_t v = q > 255.0f ? 255 : q < -256.0f ? -256 : (int32_t)q;
        output[i] = (int8_t)mcusim_clamp(v + params->zero_point, -128, 127);
    }
    return MCUSIM_OK;
}

/*
 * mcusim_slice_s8: a box of an int8 tensor, unit stride. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/slice.py. Row by row along the channel axis: one contiguous copy each.
 */
#include <string.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_slice_s8(const mcusim_slice_params *params, const mcusim_dims *input_dims, const int8_t *input,
                              const mcusim_dims *output_dims, int8_t *output)
{
    int32_t in[4], stride[4], out[4], out_stride[4];
    if (!mcusim_dims_axes(input_dims, in, stride) || !mcusim_dims_axes(output_dims, out, out_stride)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int k = 0; k < 4; k++) {
        if (params->begin[k] < 0 || params->begin[k] + out[k] > in[k]) {
            return MCUSIM_ARG_ERROR;
        }
    }
    const int8_t *base = input + params->begin[0] * stride[0] + params->begin[1] * stride[1] +
                         params->begin[2] * stride[2] + params->begin[3];
    for (int32_t o0 = 0; o0 < out[0]; o0++) {
        for (int32_t o1 = 0; o1 < out[1]; o1++) {
            for (int32_t o2 = 0; o2 < out[2]; o2++) {
                memcpy(output, base + o0 * stride[0] + o1 * stride[1] + o2 * stride[2], (size_t)out[3]);
                output += out[3];
            }
        }
    }
    return MCUSIM_OK;
}

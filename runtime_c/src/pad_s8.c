/*
 * mcusim_pad_s8: constant padding of an int8 tensor before and after each of the four axes.
 * Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/pad.py.
 *
 * Row by row along the channel axis: a row outside the input is all padding; a row inside is
 * padding, the input row, padding.
 */
#include <string.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_pad_s8(const mcusim_pad_params *params, const mcusim_dims *input_dims, const int8_t *input,
                            const mcusim_dims *output_dims, int8_t *output)
{
    int32_t in[4], stride[4], out[4], out_stride[4];
    if (!mcusim_dims_axes(input_dims, in, stride) || !mcusim_dims_axes(output_dims, out, out_stride) ||
        params->value < -128 || params->value > 127) {
        return MCUSIM_ARG_ERROR;
    }
    for (int k = 0; k < 4; k++) {
        if (params->before[k] < 0 || out[k] < in[k] + params->before[k]) {
            return MCUSIM_ARG_ERROR;
        }
    }
    const int8_t value = (int8_t)params->value;
    const int32_t left = params->before[3], right = out[3] - in[3] - left;
    for (int32_t o0 = 0; o0 < out[0]; o0++) {
        const int32_t i0 = o0 - params->before[0];
        for (int32_t o1 = 0; o1 < out[1]; o1++) {
            const int32_t i1 = o1 - params->before[1];
            for (int32_t o2 = 0; o2 < out[2]; o2++) {
                const int32_t i2 = o2 - params->before[2];
                if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2]) {
                    memset(output, value, (size_t)out[3]);
                } else {
                    memset(output, value, (size_t)left);
                    memcpy(output + left, input + i0 * stride[0] + i1 * stride[1] + i2 * stride[2], (size_t)in[3]);
                    memset(output + left + in[3], value, (size_t)right);
                }
                output += out[3];
            }
        }
    }
    return MCUSIM_OK;
}

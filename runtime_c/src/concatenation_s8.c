/*
 * mcusim_concatenation_s8: copies one int8 input into its slab of a concatenation's output; the
 * caller makes one call per input, each at its offset along the axis. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/concatenation.py.
 *
 * With outer = the product of the dims before the axis and inner = the product after it, the input
 * is outer blocks of in[axis] * inner bytes, each landing offset * inner bytes into a block of
 * out[axis] * inner.
 */
#include <string.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_concatenation_s8(const mcusim_concat_params *params, const mcusim_dims *input_dims,
                                      const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    int32_t in[4], stride[4], out[4], out_stride[4];
    const int32_t axis = params->axis;
    if (!mcusim_dims_axes(input_dims, in, stride) || !mcusim_dims_axes(output_dims, out, out_stride) || axis < 0 ||
        axis > 3 || params->offset < 0 || params->offset + in[axis] > out[axis]) {
        return MCUSIM_ARG_ERROR;
    }
    int32_t outer = 1;
    for (int k = 0; k < 4; k++) {
        if (k != axis && in[k] != out[k]) {
            return MCUSIM_ARG_ERROR;
        }
        outer *= k < axis ? in[k] : 1;
    }
    const int32_t inner = stride[axis], block = in[axis] * inner;
    output += params->offset * inner;
    for (int32_t o = 0; o < outer; o++) {
        memcpy(output + o * out[axis] * inner, input + o * block, (size_t)block);
    }
    return MCUSIM_OK;
}

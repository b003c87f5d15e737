/*
 * mcusim_transpose_s8: a permutation of the four axes of an int8 tensor. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/transpose.py.
 *
 * The output is written in order; output axis k walks the input with the stride of axis perm[k].
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_transpose_s8(const mcusim_transpose_params *params, const mcusim_dims *input_dims,
                                  const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    int32_t in[4], stride[4], out[4], out_stride[4], step[4], seen = 0;
    if (!mcusim_dims_axes(input_dims, in, stride) || !mcusim_dims_axes(output_dims, out, out_stride)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int k = 0; k < 4; k++) {
        const int32_t p = params->perm[k];
        if (p < 0 || p > 3 || (seen & (1 << p)) || out[k] != in[p]) {
            return MCUSIM_ARG_ERROR;
        }
        seen |= 1 << p;
        step[k] = stride[p];
    }
    for (int32_t o0 = 0; o0 < out[0]; o0++) {
        for (int32_t o1 = 0; o1 < out[1]; o1++) {
            for (int32_t o2 = 0; o2 < out[2]; o2++) {
                const int8_t *row = input + o0 * step[0] + o1 * step[1] + o2 * step[2];
                for (int32_t o3 = 0; o3 < out[3]; o3++) {
                    *output++ = row[o3 * step[3]];
                }
            }
        }
    }
    return MCUSIM_OK;
}

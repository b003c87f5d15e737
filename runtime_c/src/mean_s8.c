/*
 * mcusim_mean_s8: int8 mean over any set of the four axes. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/mean.py.
 *
 * An axis is reduced where the output dim is 1: each output element sums its span of the input
 * (span = the input dim on reduced axes, 1 elsewhere), offset by the input zero point, and one
 * requantization (whose multiplier already holds 1 / count) gives the mean.
 */
#include "mcusim_nn_support.h"

/* sum of (x + offset) over the box of span[0] x .. x span[3] elements starting at base. */
static int32_t box_sum(const int8_t *base, const int32_t span[4], const int32_t stride[4], int32_t offset)
{
    int32_t sum = 0;
    for (int32_t r0 = 0; r0 < span[0]; r0++) {
        for (int32_t r1 = 0; r1 < span[1]; r1++) {
            for (int32_t r2 = 0; r2 < span[2]; r2++) {
                const int8_t *row = base + r0 * stride[0] + r1 * stride[1] + r2 * stride[2];
                for (int32_t r3 = 0; r3 < span[3]; r3++) {
                    sum += row[r3] + offset;
                }
            }
        }
    }
    return sum;
}

mcusim_status mcusim_mean_s8(const mcusim_mean_params *params, const mcusim_dims *input_dims, const int8_t *input,
                             const mcusim_dims *output_dims, int8_t *output)
{
    int32_t in[4], stride[4], out[4], out_stride[4], span[4], count = 1;
    if (!mcusim_dims_axes(input_dims, in, stride) || !mcusim_dims_axes(output_dims, out, out_stride)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int k = 0; k < 4; k++) {
        if (out[k] != in[k] && out[k] != 1) {
            return MCUSIM_ARG_ERROR;
        }
        span[k] = out[k] == 1 ? in[k] : 1;
        count *= span[k];
    }
    if (count > (1 << 23)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t o0 = 0; o0 < out[0]; o0++) {
        for (int32_t o1 = 0; o1 < out[1]; o1++) {
            for (int32_t o2 = 0; o2 < out[2]; o2++) {
                for (int32_t o3 = 0; o3 < out[3]; o3++) {
                    const int8_t *base = input + o0 * stride[0] + o1 * stride[1] + o2 * stride[2] + o3 * stride[3];
                    const int32_t sum = box_sum(base, span, stride, params->input_offset);
                    const int32_t v = mcusim_requantize(sum, params->multiplier, params->shift) + params->output_offset;
                    *output++ = (int8_t)mcusim_clamp(v, -128, 127);
                }
            }
        }
    }
    return MCUSIM_OK;
}

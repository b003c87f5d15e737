/*
 * mcusim_depthwise_conv2d_inplace_s8: depthwise_conv2d whose output overwrites its input (MCUNetV2 /
 * TinyEngine's in-place depthwise), so one buffer of N * H * W * C bytes serves as both instead of
 * two. The same bits as mcusim_depthwise_conv2d_s8. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/depthwise_conv2d.py.
 *
 * Channel by channel: every output pixel of channel c is computed into a stack plane of H * W bytes
 * from input channel c alone (mcusim_dw_channel), then the plane is written over channel c. Output channel c reads only
 * input channel c (depth multiplier 1) and the output has the input's shape, so each write lands on
 * bytes already consumed. No DSP variant: per channel the taps are C bytes apart, with no adjacent
 * pairs for SMLAD; both builds run this loop.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_depthwise_conv2d_inplace_s8(const mcusim_dw_conv_params *params,
                                                 const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                                 const int8_t *input, const mcusim_dims *filter_dims,
                                                 const int8_t *filter, const int32_t *bias,
                                                 const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_conv_params *p = &params->conv;
    const int32_t h = input_dims->h, w = input_dims->w, ch = input_dims->c;
    if (!mcusim_dw_args_ok(params, input_dims, filter_dims, output_dims) || input != output ||
        params->depth_multiplier != 1 || output_dims->h != h || output_dims->w != w ||
        h * w > MCUSIM_INPLACE_MAX_PLANE) {
        return MCUSIM_ARG_ERROR;
    }
    int8_t plane[h * w]; /* H * W bytes of stack; MCUSIM_INPLACE_MAX_PLANE bounds it */
    for (int32_t n = 0; n < input_dims->n; n++) {
        int8_t *image = output + n * h * w * ch;
        const mcusim_dw_pass pass = {p, image, h, w, ch, filter, filter_dims->h, filter_dims->w, ch, h, w};
        for (int32_t c = 0; c < ch; c++) {
            mcusim_dw_channel(&pass, quant, bias, c, c, plane, 1);
            for (int32_t i = 0; i < h * w; i++) {
                image[i * ch + c] = plane[i];
            }
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_depthwise_conv2d_inplace_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_dw_conv_params))
{
    return input_dims->h * input_dims->w; /* one channel's plane */
}

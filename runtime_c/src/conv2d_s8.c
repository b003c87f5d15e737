/*
 * mcusim_conv2d_s8: int8 2-D convolution, NHWC, per-output-channel requantization, stride, explicit
 * padding, dilation. Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/conv2d.py.
 *
 * Algorithm: direct convolution. For each output pixel and channel, the taps inside the input each
 * contribute one dot product over the C contiguous input channels (mcusim_dot_s8: plain, or SMLAD
 * under MCUSIM_DSP); taps outside are skipped, which equals padding with the input zero point.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_conv2d_s8(const mcusim_conv_params *params, const mcusim_per_channel_quant *quant,
                               const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_ch = filter_dims->n;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (!mcusim_conv_args_ok(params, input_dims, filter_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride_h - params->pad_h;
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride_w - params->pad_w;
                for (int32_t o = 0; o < out_ch; o++) {
                    const int8_t *kernel = filter + o * k_h * k_w * ch;
                    int32_t acc = bias ? bias[o] : 0;
                    for (int32_t ky = 0; ky < k_h; ky++) {
                        const int32_t y = y0 + ky * params->dilation_h;
                        if (y < 0 || y >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++) {
                            const int32_t x = x0 + kx * params->dilation_w;
                            if (x < 0 || x >= in_w) {
                                continue;
                            }
                            acc = mcusim_dot_s8(image + (y * in_w + x) * ch, kernel + (ky * k_w + kx) * ch, ch,
                                                params->input_offset, acc);
                        }
                    }
                    output[((n * out_h + oy) * out_w + ox) * out_ch + o] =
                        mcusim_output_s8(acc, quant, o, params->output_offset, params->act_min, params->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

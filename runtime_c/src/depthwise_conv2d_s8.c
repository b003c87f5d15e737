/*
 * mcusim_depthwise_conv2d_s8: int8 depthwise 2-D convolution, NHWC, depth multiplier, per-output-
 * channel requantization, stride, explicit padding, dilation. Contract and legal ranges:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/depthwise_conv2d.py.
 *
 * Algorithm: direct. Each output channel accumulates one product per tap inside the input; taps
 * outside are skipped (the same as padding with the input zero point). Plain C only: channels do not
 * form the pairs SMLAD sums, so a DSP path would need CMSIS-NN's channel-interleaved layout.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_depthwise_conv2d_s8(const mcusim_dw_conv_params *params, const mcusim_per_channel_quant *quant,
                                         const mcusim_dims *input_dims, const int8_t *input,
                                         const mcusim_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_conv_params *p = &params->conv;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c, mult = params->depth_multiplier;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_ch = ch * mult;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (input_dims->n < 1 || in_h < 1 || in_w < 1 || ch < 1 || mult < 1 || filter_dims->n != 1 || k_h < 1 ||
        k_w < 1 || filter_dims->c != out_ch || output_dims->n != input_dims->n || output_dims->c != out_ch ||
        out_h < 1 || out_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1 ||
        p->pad_h < 0 || p->pad_w < 0 || p->act_min > p->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * p->stride_h - p->pad_h;
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * p->stride_w - p->pad_w;
                for (int32_t o = 0; o < out_ch; o++) {
                    const int32_t c = o / mult;
                    int32_t acc = bias ? bias[o] : 0;
                    for (int32_t ky = 0; ky < k_h; ky++) {
                        const int32_t y = y0 + ky * p->dilation_h;
                        if (y < 0 || y >= in_h) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++) {
                            const int32_t x = x0 + kx * p->dilation_w;
                            if (x < 0 || x >= in_w) {
                                continue;
                            }
                            acc += ((int32_t)image[(y * in_w + x) * ch + c] + p->input_offset) *
                                   (int32_t)filter[(ky * k_w + kx) * out_ch + o];
                        }
                    }
                    output[((n * out_h + oy) * out_w + ox) * out_ch + o] =
                        mcusim_output_s8(acc, quant, o, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

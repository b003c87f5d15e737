/*
 * mcusim_conv2d_direct_s8: conv2d without scratch memory, the same contract and result as
 * mcusim_conv2d_s8 (runtime_c/include/mcusim_nn.h). Reference: models/ops/conv2d.py.
 *
 * Algorithm: per output pixel, channel and tap inside the input one dot product over the C input
 * channels (mcusim_dot_s8: SMLAD under MCUSIM_DSP); taps outside the input are skipped, the same as
 * padding with the input zero point. Slower than conv2d_s8's im2col path, which copies windows into
 * stack columns: this is the memory-optimal choice (the deployment's no-scratch option), and
 * conv2d_s8's path for windows beyond MCUSIM_CONV_MAX_COLUMN taps.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_conv2d_direct_s8(MCUSIM_WEIGHTED_ARGS(mcusim_conv_params))
{
    if (!mcusim_conv_args_ok(params, input_dims, filter_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    const mcusim_conv_params *p = params;
    const mcusim_dims *in = input_dims, *out = output_dims;
    const int32_t in_h = in->h, in_w = in->w, ch = in->c, k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_ch = filter_dims->n;
    for (int32_t n = 0; n < in->n; n++) {
        const int8_t *image = input + n * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out->h; oy++) {
            for (int32_t ox = 0; ox < out->w; ox++) {
                mcusim_window win = {image, 0, 0, 0, 0, 0, 0};
                mcusim_window_at(p, k_h, k_w, in_h, in_w, oy, ox, &win);
                for (int32_t o = 0; o < out_ch; o++) {
                    const int8_t *kernel = filter + o * k_h * k_w * ch;
                    int32_t acc = bias ? bias[o] : 0;
                    for (int32_t ky = win.ky0; ky < win.ky1; ky++) {
                        const int32_t y = win.y0 + ky * p->dilation_h;
                        for (int32_t kx = win.kx0; kx < win.kx1; kx++) {
                            const int32_t x = win.x0 + kx * p->dilation_w;
                            acc = mcusim_dot_s8(image + (y * in_w + x) * ch, kernel + (ky * k_w + kx) * ch, ch,
                                                p->input_offset, acc);
                        }
                    }
                    output[((n * out->h + oy) * out->w + ox) * out_ch + o] =
                        mcusim_output_s8(acc, quant, o, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

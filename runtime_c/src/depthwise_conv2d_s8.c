/*
 * mcusim_depthwise_conv2d_s8: int8 depthwise 2-D convolution, NHWC, depth multiplier, per-output-
 * channel requantization, stride, explicit padding, dilation. Contract and legal ranges:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/depthwise_conv2d.py.
 *
 * Algorithm: direct. Each output channel accumulates one product per tap inside the input (taps
 * outside are skipped, the same as padding with the input zero point).
 * DSP path (MCUSIM_DSP=1, depth multiplier 1): four channels per step. One word of input and one of
 * filter per tap; SXTB16 splits channels (0, 2) and (1, 3) into halfwords, SADD16 adds the input
 * offset, and SMLABB / SMLATT add the bottom / top products to their channel's accumulator. Remaining
 * channels, and depth multipliers above 1, take the plain loop. Integer sums: both paths agree.
 */
#include "mcusim_nn_support.h"

#if MCUSIM_DSP
static void accumulate4(const mcusim_dw_conv_params *params, const mcusim_window *win, const mcusim_dims *input_dims,
                        const int8_t *filter, int32_t k_w, int32_t o, int32_t acc[4])
{
    const mcusim_conv_params *p = &params->conv;
    const int32_t in_w = input_dims->w, ch = input_dims->c;
    const uint32_t offset2 = ((uint32_t)p->input_offset << 16) | ((uint32_t)p->input_offset & 0xFFFFu);
    for (int32_t ky = win->ky0; ky < win->ky1; ky++) {
        const int32_t y = win->y0 + ky * p->dilation_h;
        for (int32_t kx = win->kx0; kx < win->kx1; kx++) {
            const int32_t x = win->x0 + kx * p->dilation_w;
            const uint32_t xs = mcusim_read_u32(win->image + (y * in_w + x) * ch + o);
            const uint32_t ws = mcusim_read_u32(filter + (ky * k_w + kx) * ch + o);
            const uint32_t x02 = mcusim_sadd16(mcusim_sxtb16(xs), offset2);
            const uint32_t x13 = mcusim_sadd16(mcusim_sxtb16_ror8(xs), offset2);
            const uint32_t w02 = mcusim_sxtb16(ws), w13 = mcusim_sxtb16_ror8(ws);
            acc[0] = mcusim_smlabb(x02, w02, acc[0]);
            acc[2] = mcusim_smlatt(x02, w02, acc[2]);
            acc[1] = mcusim_smlabb(x13, w13, acc[1]);
            acc[3] = mcusim_smlatt(x13, w13, acc[3]);
        }
    }
}
#endif

mcusim_status mcusim_depthwise_conv2d_s8(const mcusim_dw_conv_params *params, const mcusim_per_channel_quant *quant,
                                         const mcusim_dims *input_dims, const int8_t *input,
                                         const mcusim_dims *filter_dims, const int8_t *filter,
                                         const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_conv_params *p = &params->conv;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c, mult = params->depth_multiplier;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_ch = ch * mult;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (!mcusim_dw_args_ok(params, input_dims, filter_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t n = 0; n < input_dims->n; n++) {
        mcusim_window win = {.image = input + n * in_h * in_w * ch};
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                mcusim_window_at(p, k_h, k_w, in_h, in_w, oy, ox, &win);
                int8_t *out = output + ((n * out_h + oy) * out_w + ox) * out_ch;
                int32_t o = 0;
#if MCUSIM_DSP
                for (; mult == 1 && o + 4 <= out_ch; o += 4) {
                    int32_t acc[4];
                    for (int32_t i = 0; i < 4; i++) {
                        acc[i] = bias ? bias[o + i] : 0;
                    }
                    accumulate4(params, &win, input_dims, filter, k_w, o, acc);
                    for (int32_t i = 0; i < 4; i++) {
                        out[o + i] = mcusim_output_s8(acc[i], quant, o + i, p->output_offset, p->act_min, p->act_max);
                    }
                }
#endif
                for (; o < out_ch; o++) {
                    const int32_t acc = mcusim_window_sum(p, &win, in_w, ch, filter, k_w, out_ch, o / mult, o,
                                                          bias ? bias[o] : 0);
                    out[o] = mcusim_output_s8(acc, quant, o, p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

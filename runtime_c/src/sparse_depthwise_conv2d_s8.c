/*
 * mcusim_sparse_depthwise_conv2d_s8: depthwise_conv2d on a block run-length encoded filter, computed on
 * the stream. Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/sparse_depthwise_conv2d.py (depthwise_conv2d on the decoded filter).
 *
 * Algorithm: per output pixel, the window is gathered channel by channel into a stack column of
 * C x (KH * KW) bytes, taps outside the input filled with -input_offset so that they add nothing;
 * then one walk of the stream computes all C * M outputs, output channel o reading input channel
 * o / M's KH * KW values (mcusim_sparse_rows with x_step KH * KW, x_every M).
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_sparse_depthwise_conv2d_s8(const mcusim_sparse_dw_conv_params *params,
                                                const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                                const int8_t *input, const mcusim_dims *filter_dims,
                                                const int8_t *filter, const int32_t *bias,
                                                const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_conv_params *p = &params->dw.conv;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, taps = k_h * k_w, out_ch = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (!mcusim_dw_args_ok(&params->dw, input_dims, filter_dims, output_dims) || ch * taps > MCUSIM_SPARSE_MAX_COLUMN ||
        !mcusim_sparse_ok(&params->sparse, filter, taps, out_ch)) {
        return MCUSIM_ARG_ERROR;
    }
    int8_t column[ch * taps];
    const int8_t outside = (int8_t)-p->input_offset;
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                for (int32_t ky = 0; ky < k_h; ky++) {
                    const int32_t y = oy * p->stride_h - p->pad_h + ky * p->dilation_h;
                    for (int32_t kx = 0; kx < k_w; kx++) {
                        const int32_t x = ox * p->stride_w - p->pad_w + kx * p->dilation_w;
                        const int inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
                        for (int32_t c = 0; c < ch; c++) {
                            column[c * taps + ky * k_w + kx] = inside ? image[(y * in_w + x) * ch + c] : outside;
                        }
                    }
                }
                mcusim_sparse_rows(&params->sparse, filter, taps, out_ch, column, taps, params->dw.depth_multiplier,
                                   p->input_offset, bias, quant, p->output_offset, p->act_min, p->act_max,
                                   output + ((n * out_h + oy) * out_w + ox) * out_ch);
            }
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_sparse_depthwise_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_sparse_dw_conv_params))
{
    return input_dims->c * filter_dims->h * filter_dims->w; /* the window's column */
}

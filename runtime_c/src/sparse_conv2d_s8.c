/*
 * mcusim_sparse_conv2d_s8: conv2d on a block run-length encoded filter, computed on the stream.
 * Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/sparse_conv2d.py
 * (conv2d on the decoded filter).
 *
 * Algorithm: per output pixel, the window is gathered into a stack column of KH * KW * C bytes in the
 * filter's (ky, kx, c) order, taps outside the input filled with -input_offset so that they add
 * nothing (the dense kernel skips them: the same sums); then one walk of the stream computes all O
 * outputs (mcusim_sparse_rows).
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_sparse_conv2d_s8(const mcusim_sparse_conv_params *params, const mcusim_per_channel_quant *quant,
                                      const mcusim_dims *input_dims, const int8_t *input,
                                      const mcusim_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                      const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_conv_params *p = &params->conv;
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_ch = filter_dims->n;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    if (!mcusim_conv_args_ok(p, input_dims, filter_dims, output_dims) || k_h * k_w * ch > MCUSIM_SPARSE_MAX_COLUMN ||
        !mcusim_sparse_ok(&params->sparse, filter, k_h * k_w * ch, out_ch)) {
        return MCUSIM_ARG_ERROR;
    }
    int8_t column[k_h * k_w * ch];
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * in_h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                mcusim_im2col_s8(p, image, in_h, in_w, ch, k_h, k_w, oy, ox, column);
                mcusim_sparse_rows(&params->sparse, filter, k_h * k_w * ch, out_ch, column, 0, 1, p->input_offset,
                                   bias, quant, p->output_offset, p->act_min, p->act_max,
                                   output + ((n * out_h + oy) * out_w + ox) * out_ch);
            }
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_sparse_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_sparse_conv_params))
{
    return filter_dims->h * filter_dims->w * input_dims->c; /* the window's column */
}

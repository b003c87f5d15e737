/*
 * mcusim_conv2d_s8: int8 2-D convolution, NHWC, per-output-channel requantization, stride, explicit
 * padding, dilation. Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/conv2d.py.
 *
 * Paths, chosen from the shapes (every one gives the reference's bits: integer sums in another order):
 * - pointwise (1 x 1 kernel, stride 1, no padding, the output the input's size): the pixels are the
 *   rows of a fully connected layer (mcusim_fc_matrix), no copy, no scratch;
 * - im2col (K = KH * KW * C <= MCUSIM_CONV_MAX_COLUMN): two output pixels' windows are copied into
 *   two int8 columns (taps outside the input hold the input zero point, adding nothing), then
 *   multiplied with two filter rows at a time by the 2 x 2 core (mcusim_dot_2x2), the input
 *   offset's share o * sum_k w of each filter row summed once per block of output channels;
 *   scratch on the stack: 2 K bytes of columns and 4 MCUSIM_CONV_CHANNEL_BLOCK bytes of sums
 *   (mcusim_conv2d_s8_scratch_size);
 * - direct (a larger K): mcusim_conv2d_direct_s8, no scratch (the deployment's no-scratch option
 *   lowers every conv there).
 */
#include "mcusim_nn_support.h"

#define MCUSIM_CONV_CHANNEL_BLOCK 32

enum conv_path { POINTWISE, IM2COL, DIRECT };

static enum conv_path conv_path(const mcusim_conv_params *p, const mcusim_dims *in, const mcusim_dims *filter,
                                const mcusim_dims *out)
{
    if (filter->h == 1 && filter->w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_h == 0 && p->pad_w == 0 &&
        out->h == in->h && out->w == in->w) {
        return POINTWISE;
    }
    return filter->h * filter->w * in->c <= MCUSIM_CONV_MAX_COLUMN ? IM2COL : DIRECT;
}

/* The channel pairs of [first, first + count) for two pixels (columns col, col + K): the 2 x 2 core
 * inlined, started at the block's sums, requantized in the fast form without its test where `fast`
 * (every sum meets its precondition), each pixel's two outputs stored as a halfword. Returns the
 * channels done. */
__attribute__((noinline, optimize("no-schedule-insns"))) static int32_t
pairs_of_two_pixels(const mcusim_conv_params *p, const mcusim_per_channel_quant *quant, const int8_t *col,
                    int32_t depth, const int8_t *filter, const int32_t *sums, int32_t fast, int32_t first,
                    int32_t count, int32_t out_ch, int8_t *out)
{
    const uint32_t lo4 = mcusim_lanes4(p->act_min), hi4 = mcusim_lanes4(p->act_max);
    int32_t i = 0;
    for (; i + 2 <= count; i += 2) {
        const int32_t o = first + i;
        int32_t acc[4] = {sums[i], sums[i + 1], sums[i], sums[i + 1]};
        mcusim_dot_2x2(col, filter + o * depth, depth, depth, acc);
        const int32_t *m = quant->multiplier + o, *s = quant->shift + o;
        if (fast) {
#pragma GCC unroll 4
            for (int32_t j = 0; j < 4; j++) {
                acc[j] = mcusim_requantize_fast(acc[j], m[j & 1], s[j & 1]);
            }
        } else {
#pragma GCC unroll 4
            for (int32_t j = 0; j < 4; j++) {
                acc[j] = mcusim_requantize_channel(acc[j], m[j & 1], s[j & 1]);
            }
        }
        const uint32_t word = mcusim_pack4_s8(acc, p->output_offset, lo4, hi4);
        mcusim_write_u16(out + o, word);
        mcusim_write_u16(out + out_ch + o, word >> 16);
    }
    return i;
}

/* Output channels [first, first + count) of one or two pixels whose columns are col, col + K. */
static void conv_columns(const mcusim_conv_params *p, const mcusim_per_channel_quant *quant, const int8_t *col,
                         int32_t pixels, int32_t depth, const int8_t *filter, const int32_t *bias,
                         const int32_t *sums, int32_t fast, int32_t first, int32_t count, int32_t out_ch, int8_t *out)
{
    const int32_t zero = p->output_offset, lo = p->act_min, hi = p->act_max, offset = p->input_offset;
    int32_t i = 0;
    if (pixels == 2) {
        i = pairs_of_two_pixels(p, quant, col, depth, filter, sums, fast, first, count, out_ch, out);
    } else {
        for (; i + 2 <= count; i += 2) {
            const int32_t o = first + i;
            int32_t acc[2] = {bias ? bias[o] : 0, bias ? bias[o + 1] : 0};
            mcusim_dot_1x2_s8(col, filter + o * depth, depth, depth, offset, acc);
            out[o] = mcusim_output_s8(acc[0], quant, o, zero, lo, hi);
            out[o + 1] = mcusim_output_s8(acc[1], quant, o + 1, zero, lo, hi);
        }
    }
    if (i < count) {
        const int32_t o = first + i;
        for (int32_t x = 0; x < pixels; x++) {
            const int32_t acc = mcusim_dot_s8(col + x * depth, filter + o * depth, depth, offset, bias ? bias[o] : 0);
            out[x * out_ch + o] = mcusim_output_s8(acc, quant, o, zero, lo, hi);
        }
    }
}

static void conv_im2col(const mcusim_conv_params *p, const mcusim_per_channel_quant *quant, const mcusim_dims *in,
                        const int8_t *input, const mcusim_dims *filter_dims, const int8_t *filter,
                        const int32_t *bias, const mcusim_dims *out, int8_t *output)
{
    const int32_t in_h = in->h, in_w = in->w, ch = in->c, k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_ch = filter_dims->n, depth = k_h * k_w * ch, pixels = out->h * out->w;
    int8_t columns[2 * depth];
    int32_t sums[MCUSIM_CONV_CHANNEL_BLOCK];
    for (int32_t first = 0; first < out_ch; first += MCUSIM_CONV_CHANNEL_BLOCK) {
        const int32_t count = out_ch - first < MCUSIM_CONV_CHANNEL_BLOCK ? out_ch - first : MCUSIM_CONV_CHANNEL_BLOCK;
        int32_t fast = 1; /* every channel of the block meets mcusim_requantize_fast's precondition */
        for (int32_t i = 0; i < count; i++) {
            const int32_t o = first + i;
            sums[i] = mcusim_mla_wrap(bias ? bias[o] : 0, p->input_offset, mcusim_sum_s8(filter + o * depth, depth));
            fast &= mcusim_requant_is_fast(bias ? bias[o] : 0, depth, quant->shift[o]);
        }
        for (int32_t n = 0; n < in->n; n++) {
            const int8_t *image = input + n * in_h * in_w * ch;
            int8_t *image_out = output + n * pixels * out_ch;
            for (int32_t px = 0; px < pixels; px += 2) {
                const int32_t two = px + 1 < pixels ? 2 : 1;
                for (int32_t x = 0; x < two; x++) {
                    mcusim_im2col_s8(p, image, in_h, in_w, ch, k_h, k_w, (px + x) / out->w, (px + x) % out->w,
                                     columns + x * depth);
                }
                conv_columns(p, quant, columns, two, depth, filter, bias, sums, fast, first, count, out_ch,
                             image_out + px * out_ch);
            }
        }
    }
}

mcusim_status mcusim_conv2d_s8(const mcusim_conv_params *params, const mcusim_per_channel_quant *quant,
                               const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *filter_dims, const int8_t *filter,
                               const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    if (!mcusim_conv_args_ok(params, input_dims, filter_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    const mcusim_conv_params *p = params;
    switch (conv_path(p, input_dims, filter_dims, output_dims)) {
    case POINTWISE: {
        const mcusim_fc_params fc = {p->input_offset, p->output_offset, p->act_min, p->act_max};
        mcusim_fc_matrix(&fc, quant, input, input_dims->n * input_dims->h * input_dims->w, input_dims->c, filter,
                         bias, filter_dims->n, output);
        break;
    }
    case IM2COL:
        conv_im2col(p, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
        break;
    case DIRECT:
        mcusim_conv2d_direct_s8(p, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
        break;
    }
    return MCUSIM_OK;
}

int32_t mcusim_conv2d_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_conv_params))
{
    const int32_t depth = filter_dims->h * filter_dims->w * input_dims->c;
    return conv_path(params, input_dims, filter_dims, output_dims) == IM2COL
               ? 2 * depth + 4 * MCUSIM_CONV_CHANNEL_BLOCK /* two columns, the block's sums */
               : 0;
}

/*
 * mcusim_depthwise_conv2d_s8: int8 depthwise 2-D convolution, NHWC, depth multiplier, per-output-
 * channel requantization, stride, explicit padding, dilation. Contract and legal ranges:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/depthwise_conv2d.py.
 *
 * Algorithm: direct. Each output channel accumulates one product per tap inside the input (taps
 * outside are skipped, the same as padding with the input zero point).
 * DSP path (MCUSIM_DSP=1, depth multiplier 1): four channels per step. One word of input and one of
 * filter per tap, walked by pointer; SXTAB16 splits channels (0, 2) and (1, 3) into halfwords with
 * the input offset added, and SMLABB / SMLATT add the bottom / top products to their channel's
 * accumulator (a whole 3 x 3 window unrolled, clipped rows of 2 or 3 taps too). The four outputs
 * are saturated to int8 (SSAT), packed into a word and clamped to the activation range lane-wise
 * (SSUB8 + SEL). Remaining channels, depth multipliers above 1 and the plain path go channel by
 * channel (mcusim_dw_channel: the requantization prepared once per channel, the taps of windows
 * inside the input at fixed offsets). Integer sums: both paths agree.
 */
#include "mcusim_nn_support.h"

#if MCUSIM_DSP
/* One tap of four channels: a_c += (x[c] + input_offset) * w[c]. */
__attribute__((always_inline)) static inline void tap4(const int8_t *x, const int8_t *w, uint32_t offset2,
                                                       int32_t a[4])
{
    const uint32_t xs = mcusim_read_u32(x), ws = mcusim_read_u32(w);
    const uint32_t x02 = mcusim_sxtab16(offset2, xs), x13 = mcusim_sxtab16_ror8(offset2, xs);
    const uint32_t w02 = mcusim_sxtb16(ws), w13 = mcusim_sxtb16_ror8(ws);
    a[0] = mcusim_smlabb(x02, w02, a[0]);
    a[2] = mcusim_smlatt(x02, w02, a[2]);
    a[1] = mcusim_smlabb(x13, w13, a[1]);
    a[3] = mcusim_smlatt(x13, w13, a[3]);
}

/* One pixel's pass over its channels: where its window lies -- `rows` x `cols` taps inside the input,
 * a tap `step_x` (input) / `ch` (filter) bytes after the previous one in its row, a row `step_y` /
 * `filter_step_y` bytes after the previous row's end; `row` = in_w * ch -- and the output stage. */
typedef struct {
    int32_t rows, cols, step_x, step_y, ch, filter_step_y, row;
    uint32_t offset2; /* the input offset in both halfwords */
    const int32_t *bias, *multiplier, *shift;
    int32_t output_offset;
    uint32_t lo4, hi4; /* the activation range in four int8 lanes */
    int32_t fast;      /* every channel's accumulators meet mcusim_requantize_fast's precondition */
} window_geometry;

/* Output channels [o, o + 4) from their accumulators: requantized (the fast form where every
 * channel's accumulators allow it, straight-line), offset, saturated to int8 (SSAT), packed into a
 * word, clamped to the activation range lane-wise (SSUB8 + SEL), stored as one word. */
__attribute__((always_inline)) static inline void output4(const window_geometry *g, const int32_t a[4], int32_t o,
                                                          int8_t *out)
{
    int32_t y[4];
    if (g->fast) {
#pragma GCC unroll 4
        for (int32_t i = 0; i < 4; i++) {
            y[i] = mcusim_requantize_fast(a[i], g->multiplier[o + i], g->shift[o + i]);
        }
    } else {
#pragma GCC unroll 4
        for (int32_t i = 0; i < 4; i++) {
            y[i] = mcusim_requantize_channel(a[i], g->multiplier[o + i], g->shift[o + i]);
        }
    }
    mcusim_write_u32(out + o, mcusim_pack4_s8(y, g->output_offset, g->lo4, g->hi4));
}

/* The accumulators of channels [o, o + 4) before the taps: the bias, or 0. */
__attribute__((always_inline)) static inline void start4(const window_geometry *g, int32_t o, int32_t a[4])
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < 4; i++) {
        a[i] = g->bias ? g->bias[o + i] : 0;
    }
}

/* Output channels [0, 4 * (C / 4)) of one pixel (depth multiplier 1), four at a time (x, w at the
 * window's first tap, out at the pixel): the window's taps, the output stage. Returns the channels
 * done. The cores are not inlined, so that the accumulators and pointers have the registers to
 * themselves, and their taps not scheduled (GCC's scheduler hoists the loads and spills them). */
typedef int32_t pixel_core(const int8_t *x, const int8_t *w, const window_geometry *g, int8_t *out);

/* Any window. */
__attribute__((noinline, optimize("no-schedule-insns", "no-ivopts"))) static int32_t
pixel_4(const int8_t *x, const int8_t *w, const window_geometry *g, int8_t *out)
{
    const int32_t cols = g->cols, step_x = g->step_x, ch = g->ch;
    const uint32_t offset2 = g->offset2;
    int32_t o = 0;
    for (; o + 4 <= ch; o += 4) {
        int32_t a[4];
        start4(g, o, a);
        const int8_t *xt = x + o, *wt = w + o;
        for (int32_t ky = 0; ky < g->rows; ky++, xt += g->step_y, wt += g->filter_step_y) {
            if (cols == 3) { /* the rows of a 3 x 3 kernel, whole or clipped at a side, unrolled */
                tap4(xt, wt, offset2, a);
                tap4(xt + step_x, wt + ch, offset2, a);
                tap4(xt + 2 * step_x, wt + 2 * ch, offset2, a);
                xt += 3 * step_x, wt += 3 * ch;
                continue;
            }
            if (cols == 2) {
                tap4(xt, wt, offset2, a);
                tap4(xt + step_x, wt + ch, offset2, a);
                xt += 2 * step_x, wt += 2 * ch;
                continue;
            }
            for (int32_t kx = 0; kx < cols; kx++, xt += step_x, wt += ch) {
                tap4(xt, wt, offset2, a);
            }
        }
        output4(g, a, o, out);
    }
    return o;
}

/* A whole 3 x 3 window at dilation 1, unrolled. */
__attribute__((noinline, optimize("no-schedule-insns", "no-ivopts"))) static int32_t
pixel3x3_4(const int8_t *x, const int8_t *w, const window_geometry *g, int8_t *out)
{
    const int32_t ch = g->ch, row = g->row;
    const uint32_t offset2 = g->offset2;
    int32_t o = 0;
    for (; o + 4 <= ch; o += 4) {
        int32_t a[4];
        start4(g, o, a);
        const int8_t *xt = x + o, *wt = w + o;
#pragma GCC unroll 3
        for (int32_t ky = 0; ky < 3; ky++, xt += row, wt += 3 * ch) {
            tap4(xt, wt, offset2, a);
            tap4(xt + ch, wt + ch, offset2, a);
            tap4(xt + 2 * ch, wt + 2 * ch, offset2, a);
        }
        output4(g, a, o, out);
    }
    return o;
}

/* The DSP path (depth multiplier 1): channels [0, 4 * (C / 4)) of every pixel by a pixel core, the window's
 * clipping worked out per row and at the columns near the borders, its geometry and core again only
 * where the clipping changes. Returns the channels done. */
static int32_t channels4(const mcusim_conv_params *p, const mcusim_per_channel_quant *quant, const mcusim_dims *in,
                         const int8_t *input, const mcusim_dims *filter_dims, const int8_t *filter,
                         const int32_t *bias, const mcusim_dims *out, int8_t *output)
{
    const int32_t in_w = in->w, ch = in->c, k_h = filter_dims->h, k_w = filter_dims->w;
    const int unrollable = k_h == 3 && k_w == 3 && p->dilation_h == 1 && p->dilation_w == 1;
    window_geometry g = {-1, -1, 0, 0, ch, 0, in_w * ch, mcusim_offset2(p->input_offset), bias, quant->multiplier,
                         quant->shift, p->output_offset, mcusim_lanes4(p->act_min), mcusim_lanes4(p->act_max), 1};
    for (int32_t c = 0; c < ch; c++) {
        g.fast &= mcusim_requant_is_fast(bias ? bias[c] : 0, k_h * k_w, quant->shift[c]);
    }
    pixel_core *core = pixel_4;
    int32_t x_lo, x_hi;
    mcusim_unclipped_columns(p, k_w, in_w, out->w, &x_lo, &x_hi);
    int32_t done = 0;
    for (int32_t n = 0; n < in->n; n++) {
        mcusim_window win = {.image = input + n * in->h * in_w * ch};
        for (int32_t oy = 0; oy < out->h; oy++) {
            mcusim_window_at(p, k_h, k_w, in->h, in_w, oy, 0, &win); /* the row's taps */
            for (int32_t ox = 0; ox < out->w; ox++) {
                if (ox >= x_lo && ox < x_hi) { /* the columns whose taps all lie inside: no clipping to work out */
                    win.x0 = ox * p->stride_w - p->pad_w, win.kx0 = 0, win.kx1 = k_w;
                } else {
                    mcusim_window_at(p, k_h, k_w, in->h, in_w, oy, ox, &win);
                }
                const int32_t rows = win.ky1 - win.ky0, cols = win.kx1 - win.kx0;
                if (rows != g.rows || cols != g.cols) {
                    g.rows = rows, g.cols = cols, g.step_x = p->dilation_w * ch;
                    g.step_y = p->dilation_h * in_w * ch - cols * g.step_x, g.filter_step_y = (k_w - cols) * ch;
                    core = unrollable && rows == 3 && cols == 3 ? pixel3x3_4 : pixel_4;
                }
                const int8_t *x = win.image + ((win.y0 + win.ky0 * p->dilation_h) * in_w + win.x0 +
                                               win.kx0 * p->dilation_w) * ch;
                done = core(x, filter + (win.ky0 * k_w + win.kx0) * ch, &g, output + ((n * out->h + oy) * out->w + ox) * ch);
            }
        }
    }
    return done;
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
    int32_t done = 0; /* the channels the DSP path computed */
#if MCUSIM_DSP
    if (mult == 1) {
        done = channels4(p, quant, input_dims, input, filter_dims, filter, bias, output_dims, output);
    }
#endif
    if (done == out_ch) {
        return MCUSIM_OK;
    }
    for (int32_t n = 0; n < input_dims->n; n++) {
        const mcusim_dw_pass pass = {p, input + n * in_h * in_w * ch, in_h, in_w, ch, filter, k_h, k_w, out_ch, out_h,
                                     out_w};
        for (int32_t o = done; o < out_ch; o++) {
            mcusim_dw_channel(&pass, quant, bias, o / mult, o, output + n * out_h * out_w * out_ch + o, out_ch);
        }
    }
    return MCUSIM_OK;
}

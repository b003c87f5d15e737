/*
 * mcusim_nn_support.h - inner loops shared by several kernels (not part of the public API).
 */
#ifndef MCUSIM_NN_SUPPORT_H
#define MCUSIM_NN_SUPPORT_H

#include <string.h>

#include "mcusim_dsp.h"
#include "mcusim_nn.h"

/* The input offset in both halfwords, for SXTAB16. */
static inline uint32_t mcusim_offset2(int32_t input_offset)
{
    return ((uint32_t)input_offset << 16) | ((uint32_t)input_offset & 0xFFFFu);
}

/*
 * acc + sum_{i<k} (x[i] + input_offset) * w[i], exact in int32 within the kernels' legal ranges.
 * Plain path: one product per step. DSP path (MCUSIM_DSP=1): four k at a time. SXTB16 splits four
 * int8 of x and of w into halfword pairs (bytes 0,2 and 1,3), SADD16 adds the input offset to both x
 * pairs (|x + offset| <= 255 fits a halfword), two SMLADs add the four products; the k % 4 tail runs
 * the plain loop. Integer addition is associative, so both paths give the same bits.
 */
static inline int32_t mcusim_dot_s8(const int8_t *x, const int8_t *w, int32_t k, int32_t input_offset, int32_t acc)
{
    int32_t i = 0;
#if MCUSIM_DSP
    const uint32_t offset2 = mcusim_offset2(input_offset);
    for (; i + 4 <= k; i += 4) {
        uint32_t xs = mcusim_read_u32(x + i);
        uint32_t ws = mcusim_read_u32(w + i);
        uint32_t x02 = mcusim_sadd16(mcusim_sxtb16(xs), offset2);
        uint32_t x13 = mcusim_sadd16(mcusim_sxtb16_ror8(xs), offset2);
        acc = mcusim_smlad(x02, mcusim_sxtb16(ws), acc);
        acc = mcusim_smlad(x13, mcusim_sxtb16_ror8(ws), acc);
    }
#endif
    for (; i < k; i++) {
        acc += ((int32_t)x[i] + input_offset) * (int32_t)w[i];
    }
    return acc;
}

/* requant for a multiplier in [0, 2^31 - 1] where nothing is prepared (each output a new channel):
 * the general formula without SRDHM's saturation test (m >= 0) and without a branch on the shift's
 * sign (a right shift of 0 rounds nothing); fewer operations than preparing the fast form. */
static inline int32_t mcusim_requantize_channel(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31), right = left - shift;
    const int32_t scaled = (int32_t)((uint32_t)x << left);
    return mcusim_rounding_divide_by_pot((int32_t)(((int64_t)scaled * multiplier + (1ll << 30)) >> 31), right);
}

/* requant in the fast form below (mcusim_requant) with its terms computed in place, for a multiplier in
 * [0, 2^31 - 1] and an x with a2 = 2 (x << left) inside int32 (the caller's precondition, e.g. from
 * mcusim_requant_is_fast); the rounding term 2^right / 2 - [a2 < 0 and right > 0] is
 * (2^right + (a2 >> 31)) >> 1, logically shifted (right <= 31). */
static inline int32_t mcusim_requantize_fast(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31), right = left - shift;
    const int32_t a2 = (int32_t)((uint32_t)x << (left + 1));
    const int32_t rounding = (int32_t)(((1u << right) + (uint32_t)(a2 >> 31)) >> 1);
    return mcusim_smmlar(a2, multiplier, rounding) >> right;
}

/* Whether every accumulator bias + sum of `taps` products (x + input_offset) w, |x + input_offset| <=
 * 255, |w| <= 128, meets mcusim_requantize_fast's precondition: |acc| < 2^(30 - left). */
static inline int mcusim_requant_is_fast(int32_t bias, int32_t taps, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31);
    const int64_t bound = (bias < 0 ? -(int64_t)bias : (int64_t)bias) + (int64_t)taps * 255 * 128;
    return bound < (int64_t)1 << (30 - left);
}

/*
 * A requantization, TFLite's MultiplyByQuantizedMultiplier for a multiplier in [0, 2^31 - 1]
 * (mcusim_per_channel_quant's range), prepared once per channel:
 *   requant(x) = RoundingDivideByPOT(SRDHM(x << left, m), right), left = max(shift, 0), right = max(-shift, 0).
 * Where a2 = 2 (x << left) fits int32, it is one multiply-high and three single-cycle operations:
 *   SRDHM(a, m) = (a m + 2^30) >> 31 = (a2 m + 2^31) >> 32 (SMMULR), and |SRDHM| < 2^30;
 *   RoundingDivideByPOT(y, e) = (y + 2^e / 2 - [y < 0 and e > 0]) >> e (half away from zero, no
 *   overflow for |y| < 2^30); y < 0 only where a2 < 0 (m >= 0), and where a2 < 0 but y = 0 the
 *   -1 changes nothing ((2^e / 2 - 1) >> e = 0 for e > 0).
 * SMMLAR adds 2^e / 2 in the multiply. Otherwise (a large accumulator with a left shift) the general
 * formula, which cannot saturate for m >= 0 either. Both give TFLite's bits.
 */
typedef struct {
    int32_t multiplier; /* [0, 2^31 - 1] */
    int32_t left;       /* max(shift, 0) */
    int32_t right;      /* max(-shift, 0) */
    int32_t half;       /* 2^right / 2 */
    int32_t negative;   /* -1 where right > 0, else 0 */
} mcusim_requant;

static inline mcusim_requant mcusim_requant_of(int32_t multiplier, int32_t shift)
{
    const int32_t left = shift & ~(shift >> 31), right = left - shift;
    const mcusim_requant q = {multiplier, left, right, (int32_t)((1u << right) >> 1), -(right > 0)};
    return q;
}

/* requant of a with a2 = 2 a given (the fast form: a2 fits int32). */
static inline int32_t mcusim_requant_doubled(const mcusim_requant *q, int32_t a2)
{
#if MCUSIM_DSP
    const int32_t y = mcusim_smmlar(a2, q->multiplier, q->half);
#else
    const int32_t y = q->half + (int32_t)(((int64_t)a2 * q->multiplier + (1ll << 31)) >> 32);
#endif
    return (y + ((a2 >> 31) & q->negative)) >> q->right;
}

static inline int32_t mcusim_requant_apply(const mcusim_requant *q, int32_t x)
{
    const int32_t a2 = (int32_t)((uint32_t)x << (q->left + 1));
    if (__builtin_expect((a2 >> (q->left + 1)) == x, 1)) {
        return mcusim_requant_doubled(q, a2);
    }
    return mcusim_requantize_channel(x, q->multiplier, q->left - q->right);
}

/* v in four int8 lanes (an activation bound for mcusim_pack4_s8). */
static inline uint32_t mcusim_lanes4(int32_t v)
{
    return (uint8_t)v * 0x01010101u;
}

/* The output stage of four requantized values y as the int8 lanes of a word (y[0] lowest): the output
 * offset added, saturated to int8 (SSAT), packed, clamped to the activation range lane-wise (SSUB8 +
 * SEL; lo4, hi4 from mcusim_lanes4). */
static inline uint32_t mcusim_pack4_s8(const int32_t y[4], int32_t offset, uint32_t lo4, uint32_t hi4)
{
    uint32_t word = 0;
#pragma GCC unroll 4
    for (int32_t i = 0; i < 4; i++) {
        word |= (uint32_t)(uint8_t)mcusim_ssat8(mcusim_add_wrap(y[i], offset)) << (8 * i);
    }
    return mcusim_min8(mcusim_max8(word, lo4), hi4);
}

/* The per-channel output stage: requantize, add the output offset, clamp to the activation range. */
static inline int8_t mcusim_output_s8(int32_t acc, const mcusim_per_channel_quant *quant, int32_t channel,
                                      int32_t output_offset, int32_t act_min, int32_t act_max)
{
    acc = mcusim_add_wrap(mcusim_requantize_channel(acc, quant->multiplier[channel], quant->shift[channel]),
                          output_offset);
    return (int8_t)mcusim_clamp(acc, act_min, act_max);
}

/* a + b * c in wrapping int32 arithmetic (the accumulators' start values and corrections). */
static inline int32_t mcusim_mla_wrap(int32_t a, int32_t b, int32_t c)
{
    return (int32_t)((uint32_t)a + (uint32_t)b * (uint32_t)c);
}

/* sum_{i<k} x[i]; DSP path: four values a step, SXTB16 and SMLAD against halfwords of one. */
static inline int32_t mcusim_sum_s8(const int8_t *x, int32_t k)
{
    int32_t sum = 0, i = 0;
#if MCUSIM_DSP
    const uint32_t ones = 0x00010001u;
    for (; i + 4 <= k; i += 4) {
        const uint32_t v = mcusim_read_u32(x + i);
        sum = mcusim_smlad(mcusim_sxtb16_ror8(v), ones, mcusim_smlad(mcusim_sxtb16(v), ones, sum));
    }
#endif
    for (; i < k; i++) {
        sum += x[i];
    }
    return sum;
}

/*
 * The 2 x 2 register-blocked core of the matrix kernels (CMSIS-NN's): raw int8 dot products of two
 * input rows x, x + stride with two filter rows w, w + stride,
 *   acc[2r + c] += sum_{i<k} x[r * stride + i] * w[c * stride + i]   (wrapping int32),
 * each input word widened once for both filter rows and each filter word once for both input rows.
 * DSP path, four k a step: four loads, eight SXTB16, eight SMLAD for 16 MACs; the tail and the plain
 * path one value at a time. The zero points are the callers' (as start values: sum_i (x + o) w =
 * sum_i x w + o sum_i w), which leaves the loop the registers of the four accumulators, two pointers,
 * the stride and its end. Inlined only into functions that do little else around it (the loops
 * over row or channel pairs, mcusim_dot_2x2_s8 for the rest), so that the loop has the core's
 * registers to itself, and those are not scheduled: GCC's scheduler hoists the loads and then
 * spills a register.
 */
__attribute__((always_inline)) static inline void mcusim_dot_2x2_body(const int8_t *x, const int8_t *w,
                                                                    int32_t stride, int32_t k, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t i = 0;
#if MCUSIM_DSP
    for (; i + 4 <= k; i += 4) {
        /* In an order the Cortex-M7 pairs better: SMLADs after independent SXTB16s or loads. */
        const uint32_t xb = mcusim_read_u32(x + stride + i), xa = mcusim_read_u32(x + i);
        const uint32_t va = mcusim_read_u32(w + i);
        const uint32_t xa02 = mcusim_sxtb16(xa);
        const uint32_t ha = mcusim_sxtb16(va);
        const uint32_t xb02 = mcusim_sxtb16(xb);
        a00 = mcusim_smlad(xa02, ha, a00);
        const uint32_t xa13 = mcusim_sxtb16_ror8(xa);
        a10 = mcusim_smlad(xb02, ha, a10);
        const uint32_t ha13 = mcusim_sxtb16_ror8(va);
        const uint32_t xb13 = mcusim_sxtb16_ror8(xb);
        a00 = mcusim_smlad(xa13, ha13, a00);
        const uint32_t vb = mcusim_read_u32(w + stride + i);
        a10 = mcusim_smlad(xb13, ha13, a10);
        const uint32_t hb = mcusim_sxtb16(vb);
        const uint32_t hb13 = mcusim_sxtb16_ror8(vb);
        a01 = mcusim_smlad(xa02, hb, a01);
        a11 = mcusim_smlad(xb02, hb, a11);
        a01 = mcusim_smlad(xa13, hb13, a01);
        a11 = mcusim_smlad(xb13, hb13, a11);
    }
#endif
    for (; i < k; i++) {
        const int32_t xa = x[i], xb = x[stride + i], wa = w[i], wb = w[stride + i];
        a00 = mcusim_mla_wrap(a00, xa, wa);
        a01 = mcusim_mla_wrap(a01, xa, wb);
        a10 = mcusim_mla_wrap(a10, xb, wa);
        a11 = mcusim_mla_wrap(a11, xb, wb);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

__attribute__((noinline, unused, optimize("no-schedule-insns"))) static void
mcusim_dot_2x2_s8(const int8_t *x, const int8_t *w, int32_t stride, int32_t k, int32_t acc[4])
{
    mcusim_dot_2x2_body(x, w, stride, k, acc);
}

/* The 2 x 2 core in a loop over row or channel pairs: inlined on the DSP path (its loop then has the
 * registers), called on the plain path (whose byte loop needs them all). */
__attribute__((always_inline)) static inline void mcusim_dot_2x2(const int8_t *x, const int8_t *w, int32_t stride,
                                                                int32_t k, int32_t acc[4])
{
#if MCUSIM_DSP
    mcusim_dot_2x2_body(x, w, stride, k, acc);
#else
    mcusim_dot_2x2_s8(x, w, stride, k, acc);
#endif
}

/*
 * One input row against two filter rows w, w + stride, the offset applied to the input:
 *   acc[c] += sum_{i<k} (x[i] + input_offset) * w[c * stride + i].
 * DSP path, four k a step: three loads, two SXTAB16 (the offset added in the widening), four SXTB16
 * and four SMLAD for 8 MACs.
 */
__attribute__((noinline)) static void
mcusim_dot_1x2_s8(const int8_t *x, const int8_t *w, int32_t stride, int32_t k, int32_t input_offset, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t i = 0;
#if MCUSIM_DSP
    const uint32_t offset2 = mcusim_offset2(input_offset);
    for (; i + 4 <= k; i += 4) {
        const uint32_t xs = mcusim_read_u32(x + i);
        const uint32_t x02 = mcusim_sxtab16(offset2, xs), x13 = mcusim_sxtab16_ror8(offset2, xs);
        uint32_t v = mcusim_read_u32(w + i);
        a0 = mcusim_smlad(x13, mcusim_sxtb16_ror8(v), mcusim_smlad(x02, mcusim_sxtb16(v), a0));
        v = mcusim_read_u32(w + stride + i);
        a1 = mcusim_smlad(x13, mcusim_sxtb16_ror8(v), mcusim_smlad(x02, mcusim_sxtb16(v), a1));
    }
#endif
    for (; i < k; i++) {
        const int32_t v = x[i] + input_offset;
        a0 = mcusim_mla_wrap(a0, v, w[i]);
        a1 = mcusim_mla_wrap(a1, v, w[stride + i]);
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* The output stage of fully_connected and conv2d for channel o. */
static inline int8_t mcusim_fc_output(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                      int32_t o, int32_t acc)
{
    return mcusim_output_s8(acc, quant, o, params->output_offset, params->act_min, params->act_max);
}

/* One row of fully_connected: out[o] for the K inputs x, all O channels, two channels a pass. */
static inline void mcusim_fc_row(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                 const int8_t *x, int32_t depth, const int8_t *filter, const int32_t *bias,
                                 int32_t channels, int8_t *out)
{
    int32_t o = 0;
    for (; o + 2 <= channels; o += 2) {
        int32_t acc[2] = {bias ? bias[o] : 0, bias ? bias[o + 1] : 0};
        mcusim_dot_1x2_s8(x, filter + o * depth, depth, depth, params->input_offset, acc);
        out[o] = mcusim_fc_output(params, quant, o, acc[0]);
        out[o + 1] = mcusim_fc_output(params, quant, o + 1, acc[1]);
    }
    if (o < channels) {
        const int32_t acc = mcusim_dot_s8(x, filter + o * depth, depth, params->input_offset, bias ? bias[o] : 0);
        out[o] = mcusim_fc_output(params, quant, o, acc);
    }
}

/* The row pairs of one channel pair of mcusim_fc_matrix: the 2 x 2 core inlined, its sums started at
 * s0, s1 and requantized by q (the fast form without its test where `fast`: every sum meets its
 * precondition); a row pair's four outputs packed into a word by mcusim_pack4_s8 and stored as two
 * halfwords. Returns the rows done. */
__attribute__((noinline, optimize("no-schedule-insns"))) static int32_t
mcusim_fc_row_pairs(const int8_t *x, int32_t rows, int32_t depth, const int8_t *w, int32_t s0, int32_t s1,
                    const mcusim_requant q[2], int32_t fast, int32_t zero, uint32_t lo4, uint32_t hi4,
                    int32_t channels, int8_t *out)
{
    int32_t r = 0;
    for (; r + 2 <= rows; r += 2, x += 2 * depth, out += 2 * channels) {
        int32_t acc[4] = {s0, s1, s0, s1};
        mcusim_dot_2x2(x, w, depth, depth, acc);
        if (fast) {
#pragma GCC unroll 4
            for (int32_t i = 0; i < 4; i++) {
                const mcusim_requant *qi = &q[i & 1];
                acc[i] = mcusim_requant_doubled(qi, (int32_t)((uint32_t)acc[i] << (qi->left + 1)));
            }
        } else {
#pragma GCC unroll 4
            for (int32_t i = 0; i < 4; i++) {
                acc[i] = mcusim_requant_apply(&q[i & 1], acc[i]);
            }
        }
        const uint32_t word = mcusim_pack4_s8(acc, zero, lo4, hi4);
        mcusim_write_u16(out, word);
        mcusim_write_u16(out + channels, word >> 16);
    }
    return r;
}

/*
 * fully_connected of `rows` rows of x (`depth` apart) into out (`channels` apart): channel pairs in
 * the outer loop, each filter pair's sums taken once (the input offset's share, o * sum_k w), and
 * row pairs through mcusim_fc_row_pairs; an odd last row by mcusim_dot_1x2_s8, an odd last channel by
 * mcusim_dot_s8. No scratch memory.
 */
static inline void mcusim_fc_matrix(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                    const int8_t *x, int32_t rows, int32_t depth, const int8_t *filter,
                                    const int32_t *bias, int32_t channels, int8_t *out)
{
    const int32_t offset = params->input_offset;
    if (rows < 2) {
        mcusim_fc_row(params, quant, x, depth, filter, bias, channels, out);
        return;
    }
    const uint32_t lo4 = mcusim_lanes4(params->act_min), hi4 = mcusim_lanes4(params->act_max);
    int32_t o = 0;
    for (; o + 2 <= channels; o += 2) {
        const int8_t *w = filter + o * depth;
        const int32_t b0 = bias ? bias[o] : 0, b1 = bias ? bias[o + 1] : 0;
        const int32_t s0 = mcusim_mla_wrap(b0, offset, mcusim_sum_s8(w, depth));
        const int32_t s1 = mcusim_mla_wrap(b1, offset, mcusim_sum_s8(w + depth, depth));
        const mcusim_requant q[2] = {mcusim_requant_of(quant->multiplier[o], quant->shift[o]),
                                     mcusim_requant_of(quant->multiplier[o + 1], quant->shift[o + 1])};
        const int32_t fast = mcusim_requant_is_fast(b0, depth, quant->shift[o]) &
                             mcusim_requant_is_fast(b1, depth, quant->shift[o + 1]);
        const int32_t r = mcusim_fc_row_pairs(x, rows, depth, w, s0, s1, q, fast, params->output_offset, lo4, hi4,
                                              channels, out + o);
        if (r < rows) {
            int32_t acc[2] = {b0, b1};
            mcusim_dot_1x2_s8(x + r * depth, w, depth, depth, offset, acc);
            out[r * channels + o] = mcusim_fc_output(params, quant, o, acc[0]);
            out[r * channels + o + 1] = mcusim_fc_output(params, quant, o + 1, acc[1]);
        }
    }
    if (o < channels) {
        for (int32_t r = 0; r < rows; r++) {
            const int32_t acc = mcusim_dot_s8(x + r * depth, filter + o * depth, depth, offset, bias ? bias[o] : 0);
            out[r * channels + o] = mcusim_fc_output(params, quant, o, acc);
        }
    }
}

/* The shape checks of fully_connected. */
static inline int mcusim_fc_args_ok(const mcusim_fc_params *params, const mcusim_dims *input_dims,
                                    const mcusim_dims *filter_dims, const mcusim_dims *output_dims)
{
    return input_dims->n >= 1 && input_dims->c >= 1 && input_dims->c <= 65535 && filter_dims->n >= 1 &&
           filter_dims->c == input_dims->c && output_dims->n == input_dims->n && output_dims->c == filter_dims->n &&
           params->act_min <= params->act_max;
}

/* The stream is well formed for `positions` blocks (R * K / block): the block size is legal and the
 * stored blocks end inside the filter (models/sparse.py). */
static inline int mcusim_sparse_ok(const mcusim_sparse_weights *s, const int8_t *stream, int32_t row_length,
                                   int32_t rows)
{
    if (s->block < 1 || s->block > MCUSIM_SPARSE_MAX_BLOCK || s->blocks < 0 || row_length % s->block != 0) {
        return 0;
    }
    const int32_t positions = row_length / s->block * rows;
    int32_t end = 0; /* positions taken so far; at most blocks * 256 before it is refused */
    for (int32_t i = 0; i < s->blocks; i++) {
        end += 1 + (uint8_t)stream[i * (s->block + 1)];
        if (end > positions) {
            return 0;
        }
    }
    return 1;
}

/* One block's dot product: mcusim_dot_s8, and on the DSP path a pair of values as one SMLAD (the
 * halfword b0 | b1 << 8 as h | h << 8 holds b0 and b1 in bytes 0 and 2, where SXTB16 takes them). */
__attribute__((always_inline)) static inline int32_t mcusim_block_dot(const int8_t *x, const int8_t *w,
                                                                      const int32_t block, int32_t input_offset,
                                                                      int32_t acc)
{
#if MCUSIM_DSP
    if (block == 2) {
        const uint32_t offset2 = mcusim_offset2(input_offset);
        const uint32_t xs = mcusim_read_u16(x), ws = mcusim_read_u16(w);
        return mcusim_smlad(mcusim_sadd16(mcusim_sxtb16(xs | xs << 8), offset2), mcusim_sxtb16(ws | ws << 8), acc);
    }
#endif
    return mcusim_dot_s8(x, w, block, input_offset, acc);
}

/* The output stage of a finished row. */
static inline void mcusim_sparse_output(int8_t *out, int32_t acc, const mcusim_per_channel_quant *quant,
                                                          int32_t o, int32_t output_offset, int32_t act_min,
                                                          int32_t act_max)
{
    out[o] = mcusim_output_s8(acc, quant, o, output_offset, act_min, act_max);
}

/* mcusim_sparse_rows for one block size: inlined where `block` is a constant, so that a block's dot
 * product unrolls. */
__attribute__((always_inline)) static inline void mcusim_sparse_walk(
    const int8_t *stream, int32_t blocks, const int32_t block, int32_t row_length, int32_t rows, const int8_t *x,
    int32_t x_step, int32_t x_every, int32_t input_offset, const int32_t *bias, const mcusim_per_channel_quant *quant,
    int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t row_blocks = row_length / block;
    int32_t o = 0, position = -1, served = 0;
    int32_t acc = bias ? bias[0] : 0;
    for (int32_t i = 0; i < blocks; i++, stream += block + 1) {
        position += 1 + (uint8_t)stream[0];
        while (position >= row_blocks) { /* the block lies in a later row: finish this one */
            mcusim_sparse_output(out, acc, quant, o, output_offset, act_min, act_max);
            position -= row_blocks;
            o++;
            acc = bias ? bias[o] : 0;
            if (++served == x_every) {
                served = 0;
                x += x_step;
            }
        }
        acc = mcusim_block_dot(x + position * block, stream + 1, block, input_offset, acc);
    }
    for (;;) {
        mcusim_sparse_output(out, acc, quant, o, output_offset, act_min, act_max);
        if (++o == rows) {
            break;
        }
        acc = bias ? bias[o] : 0;
    }
}

/*
 * All `rows` outputs of one column from a sparse filter. Row o's K values are read from
 * x + (o / x_every) * x_step (depthwise: each input channel's window serves x_every = M rows; fully
 * connected and conv: x_step 0). The stream is walked once: a block's gap moves the position on,
 * finishing every row it passes, and its values are one dot product with the column (mcusim_dot_s8:
 * SMLAD under MCUSIM_DSP). Rows the stream never reaches hold their bias alone. Block sizes 2 and 4
 * (the pruning geometries along channels) have walks of their own; others share a generic one.
 */
static inline void mcusim_sparse_rows(const mcusim_sparse_weights *s, const int8_t *stream, int32_t row_length,
                                      int32_t rows, const int8_t *x, int32_t x_step, int32_t x_every,
                                      int32_t input_offset, const int32_t *bias, const mcusim_per_channel_quant *quant,
                                      int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
#define MCUSIM_SPARSE_WALK(block)                                                                                 \
    mcusim_sparse_walk(stream, s->blocks, block, row_length, rows, x, x_step, x_every, input_offset, bias, quant, \
                       output_offset, act_min, act_max, out)
    switch (s->block) {
    case 2: MCUSIM_SPARSE_WALK(2); break;
    case 4: MCUSIM_SPARSE_WALK(4); break;
    default: MCUSIM_SPARSE_WALK(s->block); break;
    }
#undef MCUSIM_SPARSE_WALK
}

static inline int32_t mcusim_dims_count(const mcusim_dims *d)
{
    return d->n * d->h * d->w * d->c;
}

/* The dims as an array indexed by axis (0 = n .. 3 = c), and the element strides of a dense NHWC
 * tensor of those dims; returns 0 if a dimension is below 1. */
static inline int mcusim_dims_axes(const mcusim_dims *d, int32_t axes[4], int32_t strides[4])
{
    axes[0] = d->n, axes[1] = d->h, axes[2] = d->w, axes[3] = d->c;
    strides[3] = 1;
    for (int k = 3; k > 0; k--) {
        strides[k - 1] = strides[k] * axes[k];
    }
    return axes[0] >= 1 && axes[1] >= 1 && axes[2] >= 1 && axes[3] >= 1;
}

/* Shape check of the one-input elementwise kernels (lookup, gelu_sigmoid: called with (in, out, out)):
 * three equal, non-empty element counts. */
static inline int32_t mcusim_binary_count(const mcusim_dims *a, const mcusim_dims *b, const mcusim_dims *out)
{
    int32_t n = mcusim_dims_count(a);
    return (a->n < 1 || a->h < 1 || a->w < 1 || a->c < 1 || mcusim_dims_count(b) != n ||
            mcusim_dims_count(out) != n) ? -1 : n;
}

/* The window of output pixel (oy, ox) clipped to the input: rows [*y0, *y1), columns [*x0, *x1). */
static inline void mcusim_pool_window(const mcusim_pool_params *p, const mcusim_dims *in, int32_t oy, int32_t ox,
                                      int32_t *y0, int32_t *y1, int32_t *x0, int32_t *x1)
{
    int32_t top = oy * p->stride_h - p->pad_h, left = ox * p->stride_w - p->pad_w;
    *y0 = top > 0 ? top : 0;
    *x0 = left > 0 ? left : 0;
    *y1 = top + p->filter_h < in->h ? top + p->filter_h : in->h;
    *x1 = left + p->filter_w < in->w ? left + p->filter_w : in->w;
}

/* The taps k in [*lo, *hi) of a window starting at `start` (stride and padding applied) whose
 * positions start + k * dilation lie inside [0, size); *hi <= taps. */
static inline void mcusim_tap_range(int32_t start, int32_t dilation, int32_t taps, int32_t size, int32_t *lo,
                                    int32_t *hi)
{
    const int32_t first = start >= 0 ? 0 : dilation == 1 ? -start : (dilation - 1 - start) / dilation;
    const int32_t end = size <= start ? 0 : dilation == 1 ? size - start : (size - start + dilation - 1) / dilation;
    const int32_t last = end < taps ? end : taps;
    *lo = first;
    *hi = last > first ? last : first;
}

/* One output pixel's depthwise window over one image: taps rows [ky0, ky1) at input rows
 * y0 + ky * dilation_h, columns alike (mcusim_tap_range keeps them inside the input). */
typedef struct {
    const int8_t *image;
    int32_t y0, x0, ky0, ky1, kx0, kx1;
} mcusim_window;

/* Place `win` for output pixel (oy, ox). */
static inline void mcusim_window_at(const mcusim_conv_params *p, int32_t k_h, int32_t k_w, int32_t in_h, int32_t in_w,
                                    int32_t oy, int32_t ox, mcusim_window *win)
{
    win->y0 = oy * p->stride_h - p->pad_h;
    mcusim_tap_range(win->y0, p->dilation_h, k_h, in_h, &win->ky0, &win->ky1);
    win->x0 = ox * p->stride_w - p->pad_w;
    mcusim_tap_range(win->x0, p->dilation_w, k_w, in_w, &win->kx0, &win->kx1);
}

/* acc + sum over the window's taps of (input channel c + input_offset) * filter channel o; the input
 * has `ch` channels and width in_w, the filter [1, k_h, k_w, out_ch]. */
static inline int32_t mcusim_window_sum(const mcusim_conv_params *p, const mcusim_window *win, int32_t in_w, int32_t ch,
                                        const int8_t *filter, int32_t k_w, int32_t out_ch, int32_t c, int32_t o,
                                        int32_t acc)
{
    for (int32_t ky = win->ky0; ky < win->ky1; ky++) {
        const int32_t y = win->y0 + ky * p->dilation_h;
        for (int32_t kx = win->kx0; kx < win->kx1; kx++) {
            const int32_t x = win->x0 + kx * p->dilation_w;
            acc += ((int32_t)win->image[(y * in_w + x) * ch + c] + p->input_offset) *
                   (int32_t)filter[(ky * k_w + kx) * out_ch + o];
        }
    }
    return acc;
}

/* The output columns [*lo, *hi) whose windows of k_w taps the input (in_w wide) does not clip. */
static inline void mcusim_unclipped_columns(const mcusim_conv_params *p, int32_t k_w, int32_t in_w, int32_t out_w,
                                            int32_t *lo, int32_t *hi)
{
    int32_t first = 0;
    while (first < out_w && first * p->stride_w - p->pad_w < 0) {
        first++;
    }
    int32_t last = first;
    while (last < out_w && last * p->stride_w - p->pad_w + (k_w - 1) * p->dilation_w < in_w) {
        last++;
    }
    *lo = first;
    *hi = last;
}

#define MCUSIM_DW_CHANNEL_TAPS 9 /* the kernels up to 3 x 3 take mcusim_dw_channel's fixed-tap loop */

/* One depthwise image pass: an image of H x W x C, the filter [1, KH, KW, out_ch], the output's size. */
typedef struct {
    const mcusim_conv_params *p;
    const int8_t *image;
    int32_t in_h, in_w, ch;
    const int8_t *filter;
    int32_t k_h, k_w, out_ch;
    int32_t out_h, out_w;
} mcusim_dw_pass;

/*
 * Output channel o (reading input channel c) of every output pixel, into y, y_step bytes apart:
 * the channel's requantization prepared once (mcusim_requant). A window the input does not clip,
 * of a kernel of at most MCUSIM_DW_CHANNEL_TAPS taps, reads its taps at fixed offsets from its
 * first one against the channel's taps held in a local array, from the start value bias + offset *
 * sum w; the others sum by mcusim_window_sum. Both depthwise kernels' per-channel loop.
 */
__attribute__((noinline, unused)) static void mcusim_dw_channel(const mcusim_dw_pass *d,
                                                                const mcusim_per_channel_quant *quant,
                                                                const int32_t *bias, int32_t c, int32_t o, int8_t *y,
                                                                int32_t y_step)
{
    const mcusim_conv_params *p = d->p;
    const int32_t taps = d->k_h * d->k_w, b = bias ? bias[o] : 0;
    const int fixed = taps <= MCUSIM_DW_CHANNEL_TAPS;
    const mcusim_requant q = mcusim_requant_of(quant->multiplier[o], quant->shift[o]);
    int32_t weight[MCUSIM_DW_CHANNEL_TAPS] = {0}, offset[MCUSIM_DW_CHANNEL_TAPS] = {0}, sum_w = 0;
    for (int32_t t = 0; fixed && t < taps; t++) { /* the taps beyond the kernel's weigh 0 */
        const int32_t ky = t / d->k_w, kx = t % d->k_w;
        weight[t] = d->filter[t * d->out_ch + o];
        offset[t] = (ky * p->dilation_h * d->in_w + kx * p->dilation_w) * d->ch;
        sum_w += weight[t];
    }
    const int32_t start = mcusim_mla_wrap(b, p->input_offset, sum_w);
    int32_t x_lo, x_hi;
    mcusim_unclipped_columns(p, d->k_w, d->in_w, d->out_w, &x_lo, &x_hi);
    mcusim_window win = {.image = d->image};
    for (int32_t oy = 0; oy < d->out_h; oy++) {
        mcusim_window_at(p, d->k_h, d->k_w, d->in_h, d->in_w, oy, 0, &win); /* the row's taps */
        const int whole_rows = fixed && win.ky1 - win.ky0 == d->k_h;
        const int8_t *row = d->image + win.y0 * d->in_w * d->ch + c;
        for (int32_t ox = 0; ox < d->out_w; ox++, y += y_step) {
            int32_t acc;
            if (whole_rows && ox >= x_lo && ox < x_hi) {
                const int8_t *x = row + (ox * p->stride_w - p->pad_w) * d->ch;
                acc = start;
#pragma GCC unroll 9
                for (int32_t t = 0; t < MCUSIM_DW_CHANNEL_TAPS; t++) {
                    acc += x[offset[t]] * weight[t];
                }
            } else {
                mcusim_window_at(p, d->k_h, d->k_w, d->in_h, d->in_w, oy, ox, &win);
                acc = mcusim_window_sum(p, &win, d->in_w, d->ch, d->filter, d->k_w, d->out_ch, c, o, b);
            }
            *y = (int8_t)mcusim_clamp(mcusim_requant_apply(&q, acc) + p->output_offset, p->act_min, p->act_max);
        }
    }
}

/* n bytes from src to dst (no overlap), a word at a time: the short copies of im2col cost less than
 * a call of memcpy (which GCC turns such loops into unless the caller is built with
 * no-tree-loop-distribute-patterns, as mcusim_im2col_s8 is). */
static inline void mcusim_copy_s8(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        mcusim_write_u32(dst + i, mcusim_read_u32(src + i));
    }
    for (; i < n; i++) {
        dst[i] = src[i];
    }
}

/* n bytes of value at dst, a word at a time. */
static inline void mcusim_fill_s8(int8_t *dst, int8_t value, int32_t n)
{
    const uint32_t word = (uint8_t)value * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        mcusim_write_u32(dst + i, word);
    }
    for (; i < n; i++) {
        dst[i] = value;
    }
}

/*
 * im2col of one output pixel (oy, ox) of `image` (H x W x C): its window in the filter's (ky, kx, c)
 * order, KH * KW * C bytes into `column`; taps outside the input hold -input_offset (the input zero
 * point, in [-128, 127]), so that they add nothing to sum (x + input_offset) * w. At dilation 1 a
 * kernel row's taps inside the input are contiguous in the image: one copy a row.
 */
__attribute__((noinline, unused, optimize("no-tree-loop-distribute-patterns"))) static void mcusim_im2col_s8(
    const mcusim_conv_params *p, const int8_t *image, int32_t in_h, int32_t in_w, int32_t ch, int32_t k_h,
    int32_t k_w, int32_t oy, int32_t ox, int8_t *column)
{
    const int8_t outside = (int8_t)-p->input_offset;
    const int32_t x0 = ox * p->stride_w - p->pad_w, dilation_w = p->dilation_w, dilation_h = p->dilation_h;
    const int32_t y0 = oy * p->stride_h - p->pad_h, row_bytes = k_w * ch;
    if (dilation_w == 1 && x0 >= 0 && x0 + k_w <= in_w && y0 >= 0 && y0 + (k_h - 1) * dilation_h < in_h) {
        for (int32_t ky = 0; ky < k_h; ky++, column += row_bytes) { /* a window inside: its rows' bytes */
            mcusim_copy_s8(column, image + ((y0 + ky * dilation_h) * in_w + x0) * ch, row_bytes);
        }
        return;
    }
    int32_t kx0, kx1; /* the taps of a row inside the input */
    mcusim_tap_range(x0, dilation_w, k_w, in_w, &kx0, &kx1);
    const int32_t before = kx0 * ch, inside = (kx1 - kx0) * ch, after = row_bytes - before - inside;
    for (int32_t ky = 0; ky < k_h; ky++, column += row_bytes) {
        const int32_t y = y0 + ky * dilation_h;
        if (y < 0 || y >= in_h || inside == 0) {
            mcusim_fill_s8(column, outside, row_bytes);
            continue;
        }
        const int8_t *row = image + (y * in_w + x0) * ch;
        mcusim_fill_s8(column, outside, before);
        if (dilation_w == 1) {
            mcusim_copy_s8(column + before, row + before, inside);
        } else {
            for (int32_t kx = kx0; kx < kx1; kx++) {
                mcusim_copy_s8(column + kx * ch, row + kx * dilation_w * ch, ch);
            }
        }
        mcusim_fill_s8(column + before + inside, outside, after);
    }
}

/* The window geometry (stride, dilation, padding) and activation range of a conv are legal. */
static inline int mcusim_conv_params_ok(const mcusim_conv_params *p)
{
    return p->stride_h >= 1 && p->stride_w >= 1 && p->dilation_h >= 1 && p->dilation_w >= 1 && p->pad_h >= 0 &&
           p->pad_w >= 0 && p->act_min <= p->act_max;
}

/* Shape checks shared by the conv2d kernels (dense and sparse). */
static inline int mcusim_conv_args_ok(const mcusim_conv_params *p, const mcusim_dims *in, const mcusim_dims *filter,
                                      const mcusim_dims *out)
{
    return in->n >= 1 && in->h >= 1 && in->w >= 1 && in->c >= 1 && filter->c == in->c && filter->h >= 1 &&
           filter->w >= 1 && filter->n >= 1 && out->n == in->n && out->c == filter->n && out->h >= 1 && out->w >= 1 &&
           mcusim_conv_params_ok(p);
}

/* Shape checks shared by the depthwise kernels. */
static inline int mcusim_dw_args_ok(const mcusim_dw_conv_params *params, const mcusim_dims *in,
                                    const mcusim_dims *filter, const mcusim_dims *out)
{
    const int32_t out_ch = in->c * params->depth_multiplier;
    return in->n >= 1 && in->h >= 1 && in->w >= 1 && in->c >= 1 && params->depth_multiplier >= 1 &&
           filter->n == 1 && filter->h >= 1 && filter->w >= 1 && filter->c == out_ch && out->n == in->n &&
           out->c == out_ch && out->h >= 1 && out->w >= 1 && mcusim_conv_params_ok(&params->conv);
}

/* Shape checks shared by the pooling kernels. */
static inline int mcusim_pool_args_ok(const mcusim_pool_params *p, const mcusim_dims *in, const mcusim_dims *out)
{
    return in->n >= 1 && in->h >= 1 && in->w >= 1 && in->c >= 1 && out->n == in->n && out->c == in->c &&
           out->h >= 1 && out->w >= 1 && p->stride_h >= 1 && p->stride_w >= 1 && p->pad_h >= 0 && p->pad_w >= 0 &&
           p->filter_h >= 1 && p->filter_w >= 1 && p->act_min <= p->act_max;
}

/* ---- gemmlowp fixed point (twins of models/quant.py); additions wrap as in gemmlowp ---- */

static inline int32_t mcusim_wrap_add(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* SaturatingRoundingMultiplyByPOT for exponent in [1, 30]. */
static inline int32_t mcusim_saturating_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((1ll << (31 - exponent)) - 1);
    return x > threshold ? INT32_MAX : x < -threshold ? INT32_MIN : (int32_t)((uint32_t)x << exponent);
}

static inline int32_t mcusim_rounding_half_sum(int32_t a, int32_t b)
{
    int64_t sum = (int64_t)a + b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a Q5.26 value a <= 0, as Q0.31. */
static inline int32_t mcusim_exp_on_negative_values(int32_t a)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t one_quarter = 1 << 24;
    const int32_t a_mod = (a & (one_quarter - 1)) - one_quarter;
    /* exp on [-1/4, 0): Taylor expansion around -1/8. */
    const int32_t x = mcusim_wrap_add(mcusim_saturating_shift_left(a_mod, 5), 1 << 28);
    const int32_t x2 = mcusim_srdhm(x, x), x3 = mcusim_srdhm(x2, x), x4 = mcusim_srdhm(x2, x2);
    const int32_t poly = mcusim_rounding_divide_by_pot(
        mcusim_wrap_add(mcusim_srdhm(mcusim_wrap_add(mcusim_rounding_divide_by_pot(x4, 2), x3), 715827883), x2), 1);
    int32_t result = mcusim_wrap_add(1895147668, mcusim_srdhm(1895147668, mcusim_wrap_add(x, poly)));
    const int32_t remainder = (int32_t)((uint32_t)a_mod - (uint32_t)a);
    for (int32_t i = 0; i < 7; i++) {
        if (remainder & (1 << (24 + i))) {
            result = mcusim_srdhm(result, multipliers[i]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a Q0.31 value a in [0, 1), as Q0.31: three Newton-Raphson steps in Q2.29. */
static inline int32_t mcusim_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = mcusim_rounding_half_sum(a, INT32_MAX);
    int32_t x = mcusim_wrap_add(1515870810, mcusim_srdhm(half_denominator, -1010580540));
    for (int i = 0; i < 3; i++) {
        int32_t one_minus = (int32_t)((uint32_t)(1 << 29) - (uint32_t)mcusim_srdhm(half_denominator, x));
        x = mcusim_wrap_add(x, mcusim_saturating_shift_left(mcusim_srdhm(x, one_minus), 2));
    }
    return mcusim_saturating_shift_left(x, 1);
}

/* gemmlowp logistic: 1 / (1 + exp(-a)) for a Q5.26 value, as Q0.31. */
static inline int32_t mcusim_logistic(int32_t a)
{
    if (a == 0) {
        return 1 << 30;
    }
    const int32_t magnitude = a > 0 ? a : (a == INT32_MIN ? INT32_MAX : -a);
    const int32_t positive = mcusim_one_over_one_plus_x(mcusim_exp_on_negative_values(-magnitude));
    return a > 0 ? positive : INT32_MAX - positive;
}

/* x / 2^exponent rounded half away from zero, for int64 x; exponent in [0, 62]. */
static inline int64_t mcusim_rounding_divide_by_pot64(int64_t x, int32_t exponent)
{
    const int64_t mask = (int64_t)((1ull << exponent) - 1);
    const int64_t remainder = x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* ---- softmax, shared by the direct and the table kernels ---- */

/* The shape and parameter checks of softmax; returns the number of rows, or -1. */
static inline int32_t mcusim_softmax_rows(const mcusim_softmax_params *p, const mcusim_dims *in, const mcusim_dims *out)
{
    const int32_t depth = in->c, rows = in->n * in->h * in->w;
    return (depth < 1 || depth > 2048 || rows < 1 || out->c != depth || out->n * out->h * out->w != rows ||
            p->input_left_shift < 0 || p->input_left_shift > 30 || p->diff_min > 0) ? -1 : rows;
}

static inline int32_t mcusim_row_max_s8(const int8_t *x, int32_t n)
{
    int32_t max = -128;
    for (int32_t i = 0; i < n; i++) {
        max = x[i] > max ? x[i] : max;
    }
    return max;
}

/* exp(beta * scale * d) for d = x - max <= 0 within diff_min, as Q0.31. */
static inline int32_t mcusim_softmax_exp(const mcusim_softmax_params *p, int32_t d)
{
    return mcusim_exp_on_negative_values(mcusim_srdhm((int32_t)((uint32_t)d << p->input_left_shift),
                                                      p->input_multiplier));
}

/* The row's reciprocal from the sum of exp >> 12 (Q12.19): scale (Q0.31 of 1 / normalized sum) and
 * the shift that turns srdhm(scale, e) into 8-bit output units. */
static inline void mcusim_softmax_reciprocal(int32_t sum, int32_t *scale, int32_t *shift)
{
    const int32_t headroom = __builtin_clz((uint32_t)sum);
    *scale = mcusim_one_over_one_plus_x((int32_t)(((uint32_t)sum << headroom) - (1u << 31)));
    *shift = (12 - headroom) + 31 - 8;
}

#endif /* MCUSIM_NN_SUPPORT_H */

/*
 * mcusim_binary_support.h - what the elementwise binary kernels share (add, sub, mul,
 * squared_difference, maximum_minimum; not part of the public API): TFLite's broadcasting walked as
 * runs, and the rescaling stages of TFLite's int8 add (also sub's and squared_difference's).
 * Formulas: docs/numerics.md (add, sub, squared_difference, broadcasting).
 */
#ifndef MCUSIM_BINARY_SUPPORT_H
#define MCUSIM_BINARY_SUPPORT_H

#include "mcusim_nn_support.h"

/*
 * Broadcasting over NHWC dims: along each axis an input's dim is the output's or 1 (that input is
 * broadcast: stride 0); an output dim above 1 is at least one input's. The host collapses any
 * broadcast of ranks up to 6 into this form (models/ops/common.py, broadcast_dims), merging adjacent
 * axes, so that equal shapes arrive as one run of all elements and (1, 49, 32) + (1, 1, 32) as 49 runs
 * of 32. The output is walked in runs along c: `run` elements, input k advancing step_k per element
 * (1, or 0 where it is broadcast along c); both steps are 1 where run = 1.
 */
typedef struct {
    int32_t outer[3];               /* output n, h, w */
    int32_t stride1[3], stride2[3]; /* input elements per step along n, h, w; 0 where broadcast */
    int32_t run, step1, step2;      /* output c; 0 or 1 */
} mcusim_broadcast;

/* The walk of a, b -> out; 0 where the dims break the rule above (or a dim is below 1). */
static inline int mcusim_broadcast_of(const mcusim_dims *a, const mcusim_dims *b, const mcusim_dims *out,
                                      mcusim_broadcast *bc)
{
    int32_t da[4], sa[4], db[4], sb[4], dy[4], sy[4];
    if (!mcusim_dims_axes(a, da, sa) || !mcusim_dims_axes(b, db, sb) || !mcusim_dims_axes(out, dy, sy)) {
        return 0;
    }
    for (int k = 0; k < 4; k++) {
        if ((da[k] != 1 && da[k] != dy[k]) || (db[k] != 1 && db[k] != dy[k]) || (dy[k] > 1 && da[k] != dy[k] &&
                                                                                  db[k] != dy[k])) {
            return 0;
        }
    }
    for (int k = 0; k < 3; k++) {
        bc->outer[k] = dy[k];
        bc->stride1[k] = da[k] == dy[k] ? sa[k] : 0;
        bc->stride2[k] = db[k] == dy[k] ? sb[k] : 0;
    }
    bc->run = dy[3];
    bc->step1 = da[3] == dy[3];
    bc->step2 = db[3] == dy[3];
    return 1;
}

/* One run: out[i] = f(in1[i * step1], in2[i * step2]) for i in [0, n), n >= 1, steps as in mcusim_broadcast. */
typedef void (*mcusim_binary_run)(const void *plan, const int8_t *in1, const int8_t *in2, int8_t *out, int32_t n,
                                  int32_t step1, int32_t step2);

/* Every run of the walk; inlined with a constant `run`, the call is direct. */
__attribute__((always_inline)) static inline void mcusim_broadcast_walk(const mcusim_broadcast *bc, const void *plan,
                                                                        const int8_t *in1, const int8_t *in2,
                                                                        int8_t *out, mcusim_binary_run run)
{
    for (int32_t i = 0; i < bc->outer[0]; i++) {
        for (int32_t j = 0; j < bc->outer[1]; j++) {
            const int8_t *a = in1 + i * bc->stride1[0] + j * bc->stride1[1];
            const int8_t *b = in2 + i * bc->stride2[0] + j * bc->stride2[1];
            for (int32_t k = 0; k < bc->outer[2]; k++) {
                run(plan, a, b, out, bc->run, bc->step1, bc->step2);
                a += bc->stride1[2];
                b += bc->stride2[2];
                out += bc->run;
            }
        }
    }
}

/*
 * TFLite's int8 add rescaling (mcusim_add_params), prepared once per call. Within the fast form's
 * ranges (multipliers in [0, 2^31 - 1], input shifts in [-31, 0], offsets in [-127, 128], left_shift
 * <= 20) |x + offset| <= 255, so a_i = (x_i + offset_i) << left_shift has |a_i| < 2^28 and
 * |v_i| = |requant(a_i)| < 2^28: twice each fits int32 and each requantization is mcusim_requant's
 * fast form (SMMLAR, an AND, an ADD and a shift, no branch); v_1 +- v_2 cannot wrap.
 */
typedef struct {
    mcusim_requant in1, in2, out;
    int32_t offset1, offset2, left; /* input offsets; left = left_shift + 1 (the doubling for SMMULR) */
    int32_t output_offset, act_min, act_max;
} mcusim_rescale_plan;

/* Whether the input stage takes the fast form (the ranges above). */
static inline int mcusim_rescale_is_fast(const mcusim_add_params *p)
{
    return p->input1_multiplier >= 0 && p->input2_multiplier >= 0 && p->input1_shift >= -31 &&
           p->input2_shift >= -31 && p->input1_shift <= 0 && p->input2_shift <= 0 && p->left_shift >= 0 &&
           p->left_shift <= 20 && p->input1_offset >= -127 && p->input1_offset <= 128 && p->input2_offset >= -127 &&
           p->input2_offset <= 128;
}

static inline mcusim_rescale_plan mcusim_rescale_plan_of(const mcusim_add_params *p)
{
    const mcusim_rescale_plan plan = {mcusim_requant_of(p->input1_multiplier, p->input1_shift),
                                      mcusim_requant_of(p->input2_multiplier, p->input2_shift),
                                      mcusim_requant_of(p->output_multiplier, p->output_shift),
                                      p->input1_offset,
                                      p->input2_offset,
                                      p->left_shift + 1,
                                      p->output_offset,
                                      p->act_min,
                                      p->act_max};
    return plan;
}

/* v_1 of x (input 1) and v_2 of x (input 2). */
static inline int32_t mcusim_rescale1(const mcusim_rescale_plan *p, int32_t x)
{
    return mcusim_requant_doubled(&p->in1, (int32_t)((uint32_t)(x + p->offset1) << p->left));
}

static inline int32_t mcusim_rescale2(const mcusim_rescale_plan *p, int32_t x)
{
    return mcusim_requant_doubled(&p->in2, (int32_t)((uint32_t)(x + p->offset2) << p->left));
}

/* add's and sub's output stage of raw = v_1 +- v_2 (|raw| < 2^29; output shift in [-31, 0]). */
static inline int8_t mcusim_add_output(const mcusim_rescale_plan *p, int32_t raw)
{
    return (int8_t)mcusim_clamp(mcusim_requant_doubled(&p->out, raw * 2) + p->output_offset, p->act_min, p->act_max);
}

/* The reference formula of add (sign 1) and sub (sign -1) for one element, for parameters outside the
 * fast form: every step in wrapping int32 as TFLite's. */
static inline int8_t mcusim_add_sub_direct(const mcusim_add_params *p, int32_t x1, int32_t x2, int32_t sign)
{
    const int32_t a = mcusim_requantize((int32_t)((uint32_t)(x1 + p->input1_offset) << p->left_shift),
                                        p->input1_multiplier, p->input1_shift);
    const int32_t b = mcusim_requantize((int32_t)((uint32_t)(x2 + p->input2_offset) << p->left_shift),
                                        p->input2_multiplier, p->input2_shift);
    const int32_t raw = sign > 0 ? mcusim_add_wrap(a, b) : (int32_t)((uint32_t)a - (uint32_t)b);
    const int32_t out = mcusim_requantize(raw, p->output_multiplier, p->output_shift);
    return (int8_t)mcusim_clamp(mcusim_add_wrap(out, p->output_offset), p->act_min, p->act_max);
}

#if MCUSIM_DSP
/* Halfword 0 / 1 of h (a widened element) as an int32, shifted left by `left` (<= 21). Where `left`
 * is at least 16 (the inlined constant 21 of left_shift 20) this is one shift, and one masked shift:
 * the bits that leave or that come from the other halfword are sign copies or masked off. */
static inline int32_t mcusim_add_low(uint32_t h, int32_t left)
{
    return left >= 16 ? (int32_t)(h << left) : (int32_t)((uint32_t)(int32_t)(int16_t)h << left);
}

static inline int32_t mcusim_add_high(uint32_t h, int32_t left)
{
    return left >= 16 ? (int32_t)((h << (left - 16)) & (0xFFFFFFFFu << left))
                      : (int32_t)((uint32_t)((int32_t)h >> 16) << left);
}

/* Elements [0, n - n % 4) of a flat run four at a time (add: sign 1, sub: -1; `left` = p->left, a
 * constant where inlined with one): one word read per input, SXTAB16 widening bytes (0, 2) and (1, 3)
 * into halfwords with the input offset added, each halfword moved into place by one shift (and a
 * mask), the four clamped outputs stored as one word. */
__attribute__((always_inline)) static inline void mcusim_add_quads(const mcusim_rescale_plan *p, const int8_t *input1,
                                                                   const int8_t *input2, int8_t *output, int32_t n,
                                                                   const int32_t left, const int32_t sign)
{
    const uint32_t offset1 = mcusim_offset2(p->offset1), offset2 = mcusim_offset2(p->offset2);
    for (int32_t i = 0; i + 4 <= n; i += 4) {
        const uint32_t w1 = mcusim_read_u32(input1 + i), w2 = mcusim_read_u32(input2 + i);
        const uint32_t a02 = mcusim_sxtab16(offset1, w1), a13 = mcusim_sxtab16_ror8(offset1, w1);
        const uint32_t b02 = mcusim_sxtab16(offset2, w2), b13 = mcusim_sxtab16_ror8(offset2, w2);
        /* Stage by stage over the four elements: the plan has more values than the core has registers,
         * and this way each stage's few are read from *p once per step rather than once per element
         * (a local copy of the plan measured slower: GCC spills it). */
        int32_t v[4] = {mcusim_add_low(a02, left), mcusim_add_low(a13, left), mcusim_add_high(a02, left),
                        mcusim_add_high(a13, left)};
        const int32_t b[4] = {mcusim_add_low(b02, left), mcusim_add_low(b13, left), mcusim_add_high(b02, left),
                              mcusim_add_high(b13, left)};
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            v[k] = mcusim_requant_doubled(&p->in1, v[k]);
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            v[k] += sign * mcusim_requant_doubled(&p->in2, b[k]);
        }
        uint32_t word = 0;
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            word |= ((uint32_t)(uint8_t)mcusim_add_output(p, v[k])) << (8 * k);
        }
        mcusim_write_u32(output + i, word);
    }
}
#endif

/*
 * One run of add (sign 1) or sub (sign -1) in the fast form. A flat run (both steps 1) takes the DSP
 * quads where built, then one element a step; a run against one broadcast element rescales that
 * element once, so each output costs two requantizations instead of three.
 */
__attribute__((always_inline)) static inline void mcusim_add_sub_run(const mcusim_rescale_plan *p,
                                                                     const int8_t *in1, const int8_t *in2,
                                                                     int8_t *out, int32_t n, int32_t step1,
                                                                     int32_t step2, const int32_t sign)
{
    if (step1 && step2) {
        int32_t i = 0;
#if MCUSIM_DSP
        if (p->left == 21) { /* left_shift 20, TFLite's for int8 */
            mcusim_add_quads(p, in1, in2, out, n, 21, sign);
        } else {
            mcusim_add_quads(p, in1, in2, out, n, p->left, sign);
        }
        i = n - n % 4;
#endif
        for (; i < n; i++) {
            out[i] = mcusim_add_output(p, mcusim_rescale1(p, in1[i]) + sign * mcusim_rescale2(p, in2[i]));
        }
    } else if (step1) {
        const int32_t v2 = sign * mcusim_rescale2(p, in2[0]);
        for (int32_t i = 0; i < n; i++) {
            out[i] = mcusim_add_output(p, mcusim_rescale1(p, in1[i]) + v2);
        }
    } else {
        const int32_t v1 = mcusim_rescale1(p, in1[0]);
        for (int32_t i = 0; i < n; i++) {
            out[i] = mcusim_add_output(p, v1 + sign * mcusim_rescale2(p, in2[i]));
        }
    }
}

/* One run of the direct formula (add: sign 1, sub: -1). */
static inline void mcusim_add_sub_direct_run(const mcusim_add_params *p, const int8_t *in1, const int8_t *in2,
                                             int8_t *out, int32_t n, int32_t step1, int32_t step2, int32_t sign)
{
    for (int32_t i = 0; i < n; i++) {
        out[i] = mcusim_add_sub_direct(p, in1[i * step1], in2[i * step2], sign);
    }
}

/*
 * The body of mcusim_add_s8 (sign 1) and mcusim_sub_s8 (sign -1): `fast` and `direct` are the
 * kernel's runs (mcusim_add_sub_run and mcusim_add_sub_direct_run with its sign). Parameters outside
 * the fast form (a negative multiplier, an output shift > 0, a shift below -31) take the direct
 * formula, so every legal parameter gives the reference's bits.
 */
__attribute__((always_inline)) static inline mcusim_status mcusim_add_sub(
    const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
    const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims, int8_t *output,
    mcusim_binary_run fast, mcusim_binary_run direct)
{
    mcusim_broadcast bc;
    if (!mcusim_broadcast_of(input1_dims, input2_dims, output_dims, &bc) || params->left_shift < 0 ||
        params->left_shift > 20 || params->input1_shift > 0 || params->input2_shift > 0 ||
        params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    if (!mcusim_rescale_is_fast(params) || params->output_multiplier < 0 || params->output_shift > 0 ||
        params->output_shift < -31) {
        mcusim_broadcast_walk(&bc, params, input1, input2, output, direct);
        return MCUSIM_OK;
    }
    const mcusim_rescale_plan plan = mcusim_rescale_plan_of(params);
    mcusim_broadcast_walk(&bc, &plan, input1, input2, output, fast);
    return MCUSIM_OK;
}

#endif /* MCUSIM_BINARY_SUPPORT_H */

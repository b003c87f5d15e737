/*
 * mcusim_add_s8: int8 elementwise addition with TFLite's rescaling. Contract and legal ranges:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/add.py (docs/numerics.md#add).
 *
 *   v_i = requant((x_i + offset_i) << left_shift, multiplier_i, shift_i)     (shift_i <= 0)
 *   out = clamp(requant(v_1 + v_2, output_multiplier, output_shift) + output_offset, act_min, act_max)
 *
 * Within the legal ranges the magnitudes are small: |x + offset| <= 255, so |a| < 2^28 (left_shift
 * <= 20), |v_i| < 2^28, |v_1 + v_2| < 2^29: twice each fits int32, so each of the three
 * requantizations takes the fast form of mcusim_requant (mcusim_nn_support.h: SMMLAR, an AND, an
 * ADD and a shift, no branch), and the sum cannot wrap. The per-call values are set up once in an
 * add_plan.
 * Plain path: one element a step. DSP path (MCUSIM_DSP=1): four elements a step, one word read per
 * input; SXTAB16 widens bytes (0, 2) and (1, 3) into halfwords with the input offset added, each
 * halfword is moved into place by one shift (and a mask), the four clamped outputs are stored as one
 * word. The n % 4 tail takes the plain step. Parameters outside the fast form's assumptions (a
 * negative multiplier, an output shift > 0, shifts below -31) take the direct loop of the reference
 * formula, so every legal parameter gives the reference's bits.
 */
#include "mcusim_nn_support.h"

typedef struct {
    mcusim_requant in1, in2, out;
    int32_t offset1, offset2, left; /* input offsets; left = left_shift + 1 (the doubling for SMMULR) */
    int32_t output_offset, act_min, act_max;
} add_plan;

/* One output from a2_i = (x_i + offset_i) << (left_shift + 1). */
static inline int32_t add_one(int32_t a2_1, int32_t a2_2, const add_plan *p)
{
    const int32_t sum = mcusim_requant_doubled(&p->in1, a2_1) + mcusim_requant_doubled(&p->in2, a2_2);
    const int32_t out = mcusim_requant_doubled(&p->out, sum * 2) + p->output_offset;
    return mcusim_clamp(out, p->act_min, p->act_max);
}

/* Elements [i, n) one at a time. */
static inline void add_plain(const add_plan *p, const int8_t *input1, const int8_t *input2, int8_t *output,
                             int32_t i, int32_t n)
{
    for (; i < n; i++) {
        output[i] = (int8_t)add_one((int32_t)((uint32_t)(input1[i] + p->offset1) << p->left),
                                    (int32_t)((uint32_t)(input2[i] + p->offset2) << p->left), p);
    }
}

#if MCUSIM_DSP
/* Halfword 0 / 1 of h (a widened element) as an int32, shifted left by `left` (<= 21). Where `left`
 * is at least 16 (the inlined constant 21 of left_shift 20) this is one shift, and one masked shift:
 * the bits that leave or that come from the other halfword are sign copies or masked off. */
static inline int32_t add_low(uint32_t h, int32_t left)
{
    return left >= 16 ? (int32_t)(h << left) : (int32_t)((uint32_t)(int32_t)(int16_t)h << left);
}

static inline int32_t add_high(uint32_t h, int32_t left)
{
    return left >= 16 ? (int32_t)((h << (left - 16)) & (0xFFFFFFFFu << left))
                      : (int32_t)((uint32_t)((int32_t)h >> 16) << left);
}

/* Elements [0, n - n % 4) four at a time, `left` = p->left (a constant where inlined with one). */
__attribute__((always_inline)) static inline void add_quads(const add_plan *p, const int8_t *input1,
                                                            const int8_t *input2, int8_t *output, int32_t n,
                                                            const int32_t left)
{
    const uint32_t offset1 = mcusim_offset2(p->offset1), offset2 = mcusim_offset2(p->offset2);
    for (int32_t i = 0; i + 4 <= n; i += 4) {
        const uint32_t w1 = mcusim_read_u32(input1 + i), w2 = mcusim_read_u32(input2 + i);
        const uint32_t a02 = mcusim_sxtab16(offset1, w1), a13 = mcusim_sxtab16_ror8(offset1, w1);
        const uint32_t b02 = mcusim_sxtab16(offset2, w2), b13 = mcusim_sxtab16_ror8(offset2, w2);
        /* Stage by stage over the four elements: the plan has more values than the core has registers,
         * and this way each stage's few are read from *p once per step rather than once per element
         * (a local copy of the plan measured slower: GCC spills it). */
        int32_t v[4] = {add_low(a02, left), add_low(a13, left), add_high(a02, left), add_high(a13, left)};
        const int32_t b[4] = {add_low(b02, left), add_low(b13, left), add_high(b02, left), add_high(b13, left)};
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            v[k] = mcusim_requant_doubled(&p->in1, v[k]);
        }
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            v[k] += mcusim_requant_doubled(&p->in2, b[k]);
        }
        uint32_t word = 0;
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
            const int32_t y = mcusim_clamp(mcusim_requant_doubled(&p->out, v[k] * 2) + p->output_offset, p->act_min,
                                           p->act_max);
            word |= ((uint32_t)y & 0xFFu) << (8 * k);
        }
        mcusim_write_u32(output + i, word);
    }
}

/* Not inlined into the kernel, so that the loop has the registers to itself. */
__attribute__((noinline)) static void add_dsp(const add_plan *p, const int8_t *input1, const int8_t *input2,
                                              int8_t *output, int32_t n)
{
    if (p->left == 21) { /* left_shift 20, TFLite's for int8 */
        add_quads(p, input1, input2, output, n, 21);
    } else {
        add_quads(p, input1, input2, output, n, p->left);
    }
}
#endif

/* The reference formula element by element, for parameters outside the fast form. */
static void add_direct(const mcusim_add_params *params, const int8_t *input1, const int8_t *input2, int8_t *output,
                       int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t a = mcusim_requantize((input1[i] + params->input1_offset) * (1 << params->left_shift),
                                            params->input1_multiplier, params->input1_shift);
        const int32_t b = mcusim_requantize((input2[i] + params->input2_offset) * (1 << params->left_shift),
                                            params->input2_multiplier, params->input2_shift);
        const int32_t sum = mcusim_requantize(mcusim_add_wrap(a, b), params->output_multiplier, params->output_shift);
        output[i] = (int8_t)mcusim_clamp(mcusim_add_wrap(sum, params->output_offset), params->act_min, params->act_max);
    }
}

mcusim_status mcusim_add_s8(const mcusim_add_params *params, const mcusim_dims *input1_dims, const int8_t *input1,
                            const mcusim_dims *input2_dims, const int8_t *input2, const mcusim_dims *output_dims,
                            int8_t *output)
{
    const int32_t n = mcusim_binary_count(input1_dims, input2_dims, output_dims);
    if (n < 0 || params->left_shift < 0 || params->left_shift > 20 || params->input1_shift > 0 ||
        params->input2_shift > 0 || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    if (params->input1_multiplier < 0 || params->input2_multiplier < 0 || params->output_multiplier < 0 ||
        params->input1_shift < -31 || params->input2_shift < -31 || params->output_shift > 0 ||
        params->output_shift < -31) {
        add_direct(params, input1, input2, output, n);
        return MCUSIM_OK;
    }
    const add_plan plan = {mcusim_requant_of(params->input1_multiplier, params->input1_shift),
                           mcusim_requant_of(params->input2_multiplier, params->input2_shift),
                           mcusim_requant_of(params->output_multiplier, params->output_shift),
                           params->input1_offset,
                           params->input2_offset,
                           params->left_shift + 1,
                           params->output_offset,
                           params->act_min,
                           params->act_max};
    int32_t i = 0;
#if MCUSIM_DSP
    add_dsp(&plan, input1, input2, output, n);
    i = n - n % 4;
#endif
    add_plain(&plan, input1, input2, output, i, n);
    return MCUSIM_OK;
}

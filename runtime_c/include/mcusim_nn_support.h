/*
 * mcusim_nn_support.h - inner loops shared by several kernels (not part of the public API).
 */
#ifndef MCUSIM_NN_SUPPORT_H
#define MCUSIM_NN_SUPPORT_H

#include "mcusim_dsp.h"
#include "mcusim_nn.h"

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
    const uint32_t offset2 = ((uint32_t)input_offset << 16) | ((uint32_t)input_offset & 0xFFFFu);
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

/* The per-channel output stage: requantize, add the output offset, clamp to the activation range. */
static inline int8_t mcusim_output_s8(int32_t acc, const mcusim_per_channel_quant *quant, int32_t channel,
                                      int32_t output_offset, int32_t act_min, int32_t act_max)
{
    acc = mcusim_add_wrap(mcusim_requantize(acc, quant->multiplier[channel], quant->shift[channel]), output_offset);
    return (int8_t)mcusim_clamp(acc, act_min, act_max);
}

#endif /* MCUSIM_NN_SUPPORT_H */

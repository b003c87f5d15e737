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

/* Shape checks shared by the pooling kernels. */
static inline int mcusim_pool_args_ok(const mcusim_pool_params *p, const mcusim_dims *in, const mcusim_dims *out)
{
    return in->n >= 1 && in->h >= 1 && in->w >= 1 && in->c >= 1 && out->n == in->n && out->c == in->c &&
           out->h >= 1 && out->w >= 1 && p->stride_h >= 1 && p->stride_w >= 1 && p->pad_h >= 0 && p->pad_w >= 0 &&
           p->filter_h >= 1 && p->filter_w >= 1 && p->act_min <= p->act_max;
}

#endif /* MCUSIM_NN_SUPPORT_H */

/*
 * mcusim_fully_connected_s8: int8 fully connected layer with per-output-channel requantization.
 * Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/fully_connected.py.
 *
 * Plain path: one int32 accumulator per output, sum over k of (x + input_offset) * w.
 * DSP path (MCUSIM_DSP=1): four k at a time. SXTB16 splits four int8 of x and of w into two pairs
 * of halfwords (bytes 0,2 and 1,3), SADD16 adds the input offset to both x pairs, and two SMLADs
 * accumulate the four products; the K % 4 tail runs the plain loop. Every product and the sum are
 * exact in int32 within the legal ranges, so both paths give the same bits.
 */
#include "mcusim_dsp.h"
#include "mcusim_nn.h"

static int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t k, int32_t input_offset, int32_t acc)
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

mcusim_status mcusim_fully_connected_s8(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                        const mcusim_dims *input_dims, const int8_t *input,
                                        const mcusim_dims *filter_dims, const int8_t *filter,
                                        const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t batches = input_dims->n;
    const int32_t depth = input_dims->c;
    const int32_t channels = filter_dims->n;
    if (batches < 1 || depth < 1 || depth > 65535 || channels < 1 || filter_dims->c != depth ||
        output_dims->n != batches || output_dims->c != channels || params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *x = input + b * depth;
        for (int32_t o = 0; o < channels; o++) {
            int32_t acc = dot_s8(x, filter + o * depth, depth, params->input_offset, bias ? bias[o] : 0);
            acc = mcusim_add_wrap(mcusim_requantize(acc, quant->multiplier[o], quant->shift[o]), params->output_offset);
            output[b * channels + o] = (int8_t)mcusim_clamp(acc, params->act_min, params->act_max);
        }
    }
    return MCUSIM_OK;
}

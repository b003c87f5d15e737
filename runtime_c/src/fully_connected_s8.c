/*
 * mcusim_fully_connected_s8: int8 fully connected layer with per-output-channel requantization.
 * Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/fully_connected.py.
 * Each output is one dot product over K (mcusim_dot_s8: plain, or SMLAD under MCUSIM_DSP).
 */
#include "mcusim_nn_support.h"

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
            int32_t acc = mcusim_dot_s8(x, filter + o * depth, depth, params->input_offset, bias ? bias[o] : 0);
            output[b * channels + o] = mcusim_output_s8(acc, quant, o, params->output_offset, params->act_min,
                                                        params->act_max);
        }
    }
    return MCUSIM_OK;
}

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
    if (!mcusim_fc_args_ok(params, input_dims, filter_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    const int32_t depth = input_dims->c, channels = filter_dims->n;
    for (int32_t b = 0; b < input_dims->n; b++) {
        mcusim_fc_row(params, quant, input + b * depth, depth, filter, bias, channels, output + b * channels);
    }
    return MCUSIM_OK;
}

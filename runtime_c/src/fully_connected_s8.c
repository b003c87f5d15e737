/*
 * mcusim_fully_connected_s8: int8 fully connected layer with per-output-channel requantization.
 * Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference: models/ops/fully_connected.py.
 * Rows two at a time against output channels two at a time (mcusim_fc_matrix, mcusim_nn_support.h:
 * each input word is widened once per pair of channels, each filter word once per pair of rows;
 * SMLAD under MCUSIM_DSP).
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
    mcusim_fc_matrix(params, quant, input, input_dims->n, input_dims->c, filter, bias, filter_dims->n, output);
    return MCUSIM_OK;
}

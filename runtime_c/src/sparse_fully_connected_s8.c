/*
 * mcusim_sparse_fully_connected_s8: fully_connected on a block run-length encoded filter, computed on
 * the stream. Contract and legal ranges: runtime_c/include/mcusim_nn.h. Reference:
 * models/ops/sparse_fully_connected.py (fully_connected on the decoded filter).
 *
 * Algorithm: per input row, one walk of the stream (mcusim_sparse_rows): each stored block adds the
 * dot product of its values with the input values at its position; skipped blocks cost nothing.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_sparse_fully_connected_s8(const mcusim_sparse_fc_params *params,
                                               const mcusim_per_channel_quant *quant, const mcusim_dims *input_dims,
                                               const int8_t *input, const mcusim_dims *filter_dims,
                                               const int8_t *filter, const int32_t *bias,
                                               const mcusim_dims *output_dims, int8_t *output)
{
    const mcusim_fc_params *p = &params->fc;
    const int32_t depth = input_dims->c, channels = filter_dims->n;
    if (!mcusim_fc_args_ok(p, input_dims, filter_dims, output_dims) ||
        !mcusim_sparse_ok(&params->sparse, filter, depth, channels)) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t b = 0; b < input_dims->n; b++) {
        mcusim_sparse_rows(&params->sparse, filter, depth, channels, input + b * depth, 0, 1, p->input_offset, bias,
                           quant, p->output_offset, p->act_min, p->act_max, output + b * channels);
    }
    return MCUSIM_OK;
}

/*
 * mcusim_fully_connected_inplace_s8: fully_connected with token overwriting (MCUFormer): each token's
 * O outputs land over the memory its K inputs held, so one buffer of T * max(K, O) bytes serves as
 * input and output instead of T * (K + O). The same bits as mcusim_fully_connected_s8. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/fully_connected.py.
 *
 * Token t is read from [tK, tK + K) and written to [tO, tO + O) (both dense) after all its outputs
 * are computed into a stack row of O bytes. With O <= K tokens go first to last: the write reaches
 * at most byte (t + 1)K - 1, inputs of tokens <= t only, all consumed. With O > K, last to first:
 * the write starts at tO >= tK, over inputs of tokens >= t, all consumed.
 */
#include "mcusim_nn_support.h"

/* A byte loop rather than memcpy: newlib's memcpy ends in conditional stores inside an IT block,
 * where Unicorn 2.1 cannot run a memory hook (see Emulator.watch), and the hazard test traces this
 * kernel's stores. GCC would turn the loop back into a memcpy call without the attribute. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void copy_row(int8_t *dst, const int8_t *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        dst[i] = src[i];
    }
}

mcusim_status mcusim_fully_connected_inplace_s8(const mcusim_fc_params *params, const mcusim_per_channel_quant *quant,
                                                const mcusim_dims *input_dims, const int8_t *input,
                                                const mcusim_dims *filter_dims, const int8_t *filter,
                                                const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    if (!mcusim_fc_args_ok(params, input_dims, filter_dims, output_dims) || input != output ||
        filter_dims->n > MCUSIM_INPLACE_MAX_CHANNELS) {
        return MCUSIM_ARG_ERROR;
    }
    const int32_t tokens = input_dims->n, depth = input_dims->c, channels = filter_dims->n;
    const int forward = channels <= depth;
    int8_t row[channels]; /* O bytes of stack; O <= MCUSIM_INPLACE_MAX_CHANNELS bounds it */
    for (int32_t i = 0; i < tokens; i++) {
        const int32_t t = forward ? i : tokens - 1 - i;
        mcusim_fc_row(params, quant, input + t * depth, depth, filter, bias, channels, row);
        copy_row(output + t * channels, row, channels);
    }
    return MCUSIM_OK;
}

int32_t mcusim_fully_connected_inplace_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_fc_params))
{
    return filter_dims->n; /* the row of O outputs */
}

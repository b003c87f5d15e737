/*
 * mcusim_fully_connected_inplace_s8: fully_connected with token overwriting (MCUFormer): each token's
 * O outputs land over the memory its K inputs held, so one buffer of T * max(K, O) bytes serves as
 * input and output instead of T * (K + O). The same bits as mcusim_fully_connected_s8. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/fully_connected.py.
 *
 * Token t is read from [tK, tK + K) and written to [tO, tO + O) (both dense). Tokens go in blocks
 * of B (up to 8, B * O <= MCUSIM_INPLACE_BLOCK bytes, at least one token): a block's outputs are
 * computed into a stack block of B * O bytes by mcusim_fc_matrix (the fully connected kernel's own
 * loops: channel pairs, row pairs, the requantization prepared per channel), then copied out. With
 * O <= K blocks go first to last: block [t, t + B) writes at most byte (t + B)K - 1, inputs of
 * tokens < t + B only, all consumed. With O > K, last to first: the write starts at tO >= tK, over
 * inputs of tokens >= t, all consumed.
 */
#include "mcusim_nn_support.h"

#define MCUSIM_INPLACE_BLOCK 2048 /* bytes of a block of outputs */

/* Tokens per block: up to 8 within MCUSIM_INPLACE_BLOCK bytes, at least one, at most all. */
static int32_t block_tokens(int32_t tokens, int32_t channels)
{
    int32_t block = MCUSIM_INPLACE_BLOCK / channels;
    block = block < 1 ? 1 : block > 8 ? 8 : block;
    return block < tokens ? block : tokens;
}

/* A word loop rather than memcpy: newlib's memcpy ends in conditional stores inside an IT block,
 * where Unicorn 2.1 cannot run a memory hook (see Emulator.watch), and the hazard test traces this
 * kernel's stores. GCC would turn the loop back into a memcpy call without the attribute. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void copy_out(int8_t *dst, const int8_t *src, int32_t n)
{
    mcusim_copy_s8(dst, src, n);
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
    const int32_t block = block_tokens(tokens, channels);
    int8_t outputs[block * channels]; /* block * O <= max(MCUSIM_INPLACE_BLOCK, O) bytes of stack */
    for (int32_t done = 0; done < tokens; done += block) {
        const int32_t n = tokens - done < block ? tokens - done : block;
        const int32_t t = channels <= depth ? done : tokens - done - n; /* the block's first token */
        mcusim_fc_matrix(params, quant, input + t * depth, n, depth, filter, bias, channels, outputs);
        copy_out(output + t * channels, outputs, n * channels);
    }
    return MCUSIM_OK;
}

int32_t mcusim_fully_connected_inplace_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_fc_params))
{
    return block_tokens(input_dims->n, filter_dims->n) * filter_dims->n; /* the block of outputs */
}

/*
 * mcusim_layer_norm_s8: LayerNorm over the channels of int8 tokens in integers only. Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/layer_norm.py. Design: docs/numerics.md.
 *
 * Per token of C channels: S = sum x, Q = C sum x^2 - S^2 + eps (C^2 times the variance, exact),
 * r = sqrt(Q) by integer Newton steps (a fixed number, or to the fixed point = floor), then per
 * channel n = round(C (x - mean) 2^k / r) held in int16 (TinyFormer's Scaled-LayerNorm), and
 * n * gamma + beta requantized with a multiplier that holds gamma's scale and the 2^-k.
 * DSP path (MCUSIM_DSP=1): the two sums take four channels a step (SXTB16, SMLAD).
 */
#include "mcusim_nn_support.h"

/* sum x[i] and sum x[i]^2 over n values. */
static void sums_s8(const int8_t *x, int32_t n, int32_t *sum, int32_t *sum_sq)
{
    int32_t s = 0, sq = 0, i = 0;
#if MCUSIM_DSP
    const uint32_t ones = 0x00010001u;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xs = mcusim_read_u32(x + i);
        const uint32_t x02 = mcusim_sxtb16(xs), x13 = mcusim_sxtb16_ror8(xs);
        s = mcusim_smlad(x02, ones, mcusim_smlad(x13, ones, s));
        sq = mcusim_smlad(x02, x02, mcusim_smlad(x13, x13, sq));
    }
#endif
    for (; i < n; i++) {
        s += x[i];
        sq += x[i] * x[i];
    }
    *sum = s;
    *sum_sq = sq;
}

/* sqrt(q), q >= 1: r <- min(r, (r + q / r) / 2) from the power of two above sqrt(q); iterations
 * steps, or (0) until the fixed point floor(sqrt(q)). */
static uint32_t isqrt_newton(uint64_t q, int32_t iterations)
{
    const int32_t bits = 64 - __builtin_clzll(q);
    uint64_t r = 1ull << ((bits + 1) / 2);
    for (int32_t i = 0; iterations == 0 || i < iterations; i++) {
        const uint64_t next = (r + q / r) / 2;
        if (next >= r) {
            break;
        }
        r = next;
    }
    return (uint32_t)r;
}

mcusim_status mcusim_layer_norm_s8(const mcusim_layer_norm_params *params, const mcusim_per_channel_quant *quant,
                                   const mcusim_dims *input_dims, const int8_t *input, const mcusim_dims *gamma_dims,
                                   const int8_t *gamma, const int32_t *beta, const mcusim_dims *output_dims,
                                   int8_t *output)
{
    const int32_t channels = input_dims->c, tokens = input_dims->n * input_dims->h * input_dims->w;
    const int32_t k = params->scale_bits;
    if (channels < 1 || channels > 4096 || tokens < 1 || gamma_dims->c != channels ||
        mcusim_dims_count(gamma_dims) != channels || output_dims->c != channels ||
        mcusim_dims_count(output_dims) != tokens * channels || k < 0 || k > 15 ||
        ((int64_t)255 * channels << k) >= (1ll << 31) || params->eps < 0 || params->sqrt_iterations < 0) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t t = 0; t < tokens; t++) {
        const int8_t *x = input + t * channels;
        int8_t *y = output + t * channels;
        int32_t sum, sum_sq;
        sums_s8(x, channels, &sum, &sum_sq);
        uint64_t q = (uint64_t)((int64_t)channels * sum_sq - (int64_t)sum * sum + params->eps);
        const int32_t r = (int32_t)isqrt_newton(q > 0 ? q : 1, params->sqrt_iterations);
        for (int32_t c = 0; c < channels; c++) {
            const int32_t num = (channels * x[c] - sum) * (1 << k);
            int32_t n = num >= 0 ? (num + r / 2) / r : -((r / 2 - num) / r);
            n = mcusim_clamp(n, INT16_MIN, INT16_MAX);
            const int32_t acc = n * gamma[c] + (beta ? beta[c] : 0);
            y[c] = mcusim_output_s8(acc, quant, c, params->output_offset, -128, 127);
        }
    }
    return MCUSIM_OK;
}

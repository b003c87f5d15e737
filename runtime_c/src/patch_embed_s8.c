/*
 * mcusim_patch_embed_s8: a ViT's patch embedding (conv2d, stride = kernel, no padding) run as sub-kernels
 * accumulated in int32 (MCUFormer's patch-embedding decomposition). Contract and legal ranges:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/patch_embed.py (conv2d's).
 *
 * Algorithm, per output pixel and sub-kernel: widen the sub-window (sub_h rows of sub_w * C contiguous
 * bytes) once into an int16 column with the input offset added (im2col), then for each output channel
 * add the dot product of the column with the filter's sub-window (sub_h rows of sub_w * C bytes) to its
 * partial sum. The sum of integer products does not depend on the order, so every decomposition gives
 * conv2d's bits. Under MCUSIM_DSP the column is stored in SMLAD order: each group of 4 values as
 * (x0, x2, x1, x3), matching SXTB16 of 4 filter bytes (w0, w2) and SXTB16 ROR 8 (w1, w3), so a group
 * costs 3 loads, 2 SXTB16 and 2 SMLAD; a row's last (length mod 4) values stay in order.
 */
#include "mcusim_nn_support.h"

/* column[0 .. n) = x[0 .. n) + input_offset, in SMLAD order under MCUSIM_DSP. */
static void widen_s8(const int8_t *x, int32_t n, int32_t input_offset, int16_t *column)
{
    int32_t i = 0;
#if MCUSIM_DSP
    const uint32_t offset2 = mcusim_offset2(input_offset);
    for (; i + 4 <= n; i += 4) {
        const uint32_t xs = mcusim_read_u32(x + i);
        mcusim_write_u32(column + i, mcusim_sadd16(mcusim_sxtb16(xs), offset2));
        mcusim_write_u32(column + i + 2, mcusim_sadd16(mcusim_sxtb16_ror8(xs), offset2));
    }
#endif
    for (; i < n; i++) {
        column[i] = (int16_t)(x[i] + input_offset);
    }
}

/* acc + sum_i column[i] * w[i] over a column segment of n values made by widen_s8. */
static inline int32_t dot_s16_s8(const int16_t *column, const int8_t *w, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if MCUSIM_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t ws = mcusim_read_u32(w + i);
        acc = mcusim_smlad(mcusim_read_u32((const int8_t *)(column + i)), mcusim_sxtb16(ws), acc);
        acc = mcusim_smlad(mcusim_read_u32((const int8_t *)(column + i + 2)), mcusim_sxtb16_ror8(ws), acc);
    }
#endif
    for (; i < n; i++) {
        acc += column[i] * w[i];
    }
    return acc;
}

mcusim_status mcusim_patch_embed_s8(const mcusim_patch_embed_params *params, const mcusim_per_channel_quant *quant,
                                    const mcusim_dims *input_dims, const int8_t *input,
                                    const mcusim_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_ch = filter_dims->n;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t sub_h = params->sub_h, sub_w = params->sub_w;
    if (input_dims->n < 1 || ch < 1 || filter_dims->c != ch || k_h < 1 || k_w < 1 || out_ch < 1 ||
        out_ch > MCUSIM_PATCH_MAX_CHANNELS || output_dims->n != input_dims->n || output_dims->c != out_ch ||
        out_h < 1 || out_w < 1 || out_h != input_dims->h / k_h || out_w != in_w / k_w || sub_h < 1 || sub_w < 1 ||
        k_h % sub_h != 0 || k_w % sub_w != 0 || sub_h * sub_w * ch > MCUSIM_PATCH_MAX_COLUMN ||
        params->act_min > params->act_max) {
        return MCUSIM_ARG_ERROR;
    }
    const int32_t segment = sub_w * ch; /* contiguous bytes of one sub-kernel row, in input and filter */
    const int32_t last = (k_h / sub_h) * (k_w / sub_w) - 1;
    int16_t column[sub_h * segment];
    int32_t partial[last > 0 ? out_ch : 1]; /* undecomposed: the sum stays in a register */
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * input_dims->h * in_w * ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++) {
                int8_t *out = output + ((n * out_h + oy) * out_w + ox) * out_ch;
                int32_t s = 0;
                for (int32_t sy = 0; sy < k_h; sy += sub_h) {
                    for (int32_t sx = 0; sx < k_w; sx += sub_w, s++) {
                        const int8_t *window = image + ((oy * k_h + sy) * in_w + ox * k_w + sx) * ch;
                        for (int32_t r = 0; r < sub_h; r++) {
                            widen_s8(window + r * in_w * ch, segment, params->input_offset, column + r * segment);
                        }
                        for (int32_t o = 0; o < out_ch; o++) {
                            const int8_t *kernel = filter + ((o * k_h + sy) * k_w + sx) * ch;
                            int32_t acc = s > 0 ? partial[o] : bias ? bias[o] : 0;
                            for (int32_t r = 0; r < sub_h; r++) {
                                acc = dot_s16_s8(column + r * segment, kernel + r * k_w * ch, segment, acc);
                            }
                            if (s < last) {
                                partial[o] = acc;
                            } else {
                                out[o] = mcusim_output_s8(acc, quant, o, params->output_offset, params->act_min,
                                                          params->act_max);
                            }
                        }
                    }
                }
            }
        }
    }
    return MCUSIM_OK;
}

int32_t mcusim_patch_embed_s8_scratch_size(MCUSIM_WEIGHTED_ARGS(mcusim_patch_embed_params))
{
    const int32_t sub_h = params->sub_h, sub_w = params->sub_w, out_ch = filter_dims->n;
    const int32_t decomposed = (filter_dims->h / sub_h) * (filter_dims->w / sub_w) > 1;
    return 2 * sub_h * sub_w * input_dims->c + 4 * (decomposed ? out_ch : 1); /* column, partial sums */
}

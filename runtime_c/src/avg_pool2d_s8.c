/*
 * mcusim_avg_pool2d_s8: int8 average pooling, NHWC. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/pool2d.py. As TFLite: the sum of the taps inside the input divided by their
 * count, rounded half away from zero; padding is never averaged in.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_avg_pool2d_s8(const mcusim_pool_params *params, const mcusim_dims *input_dims,
                                   const int8_t *input, const mcusim_dims *output_dims, int8_t *output)
{
    if (!mcusim_pool_args_ok(params, input_dims, output_dims)) {
        return MCUSIM_ARG_ERROR;
    }
    const int32_t in_w = input_dims->w, ch = input_dims->c;
    for (int32_t n = 0; n < input_dims->n; n++) {
        const int8_t *image = input + n * input_dims->h * in_w * ch;
        for (int32_t oy = 0; oy < output_dims->h; oy++) {
            for (int32_t ox = 0; ox < output_dims->w; ox++) {
                int32_t y0, y1, x0, x1;
                mcusim_pool_window(params, input_dims, oy, ox, &y0, &y1, &x0, &x1);
                const int32_t count = (y1 - y0) * (x1 - x0);
                if (count <= 0) {
                    return MCUSIM_ARG_ERROR;
                }
                for (int32_t c = 0; c < ch; c++) {
                    int32_t sum = 0;
                    for (int32_t y = y0; y < y1; y++) {
                        for (int32_t x = x0; x < x1; x++) {
                            sum += image[(y * in_w + x) * ch + c];
                        }
                    }
                    int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    output[((n * output_dims->h + oy) * output_dims->w + ox) * ch + c] =
                        (int8_t)mcusim_clamp(avg, params->act_min, params->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

/*
 * mcusim_max_pool2d_s8: int8 max pooling, NHWC. Contract: runtime_c/include/mcusim_nn.h.
 * Reference: models/ops/pool2d.py. The largest tap inside the input, clamped to the activation range.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_max_pool2d_s8(const mcusim_pool_params *params, const mcusim_dims *input_dims,
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
                if (y1 <= y0 || x1 <= x0) {
                    return MCUSIM_ARG_ERROR;
                }
                for (int32_t c = 0; c < ch; c++) {
                    int32_t best = -128;
                    for (int32_t y = y0; y < y1; y++) {
                        for (int32_t x = x0; x < x1; x++) {
                            int32_t v = image[(y * in_w + x) * ch + c];
                            best = v > best ? v : best;
                        }
                    }
                    output[((n * output_dims->h + oy) * output_dims->w + ox) * ch + c] =
                        (int8_t)mcusim_clamp(best, params->act_min, params->act_max);
                }
            }
        }
    }
    return MCUSIM_OK;
}

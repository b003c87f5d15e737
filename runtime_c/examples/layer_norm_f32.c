/*
 * layer_norm_f32: the float LayerNorm that the integer layer_norm_s8 replaces, as a deployment
 * without it would run it: dequantize the int8 tokens, float32 mean and variance (two passes),
 * 1 / sqrtf, gamma and beta in float, quantize the output. The baseline of
 * benchmarks/layer_norm_cycles.py (TinyFormer compares its Scaled-LayerNorm with FP32 LayerNorm).
 */
#include <math.h>
#include <stdint.h>

#include "mcusim.h"

typedef struct {
    float input_scale;
    int32_t input_zero_point;
    float output_scale;
    int32_t output_zero_point;
    float eps;
    int32_t tokens, channels;
} layer_norm_f32_params;

MCUSIM_EXPORT int32_t layer_norm_f32(const layer_norm_f32_params *p, const float *gamma, const float *beta,
                                     const int8_t *input, int8_t *output)
{
    const int32_t channels = p->channels;
    for (int32_t t = 0; t < p->tokens; t++) {
        const int8_t *x = input + t * channels;
        float mean = 0.0f, var = 0.0f;
        for (int32_t c = 0; c < channels; c++) {
            mean += p->input_scale * (float)(x[c] - p->input_zero_point);
        }
        mean /= (float)channels;
        for (int32_t c = 0; c < channels; c++) {
            const float d = p->input_scale * (float)(x[c] - p->input_zero_point) - mean;
            var += d * d;
        }
        const float inv = 1.0f / sqrtf(var / (float)channels + p->eps);
        for (int32_t c = 0; c < channels; c++) {
            const float d = p->input_scale * (float)(x[c] - p->input_zero_point) - mean;
            const float y = gamma[c] * d * inv + beta[c];
            const float q = roundf(y / p->output_scale) + (float)p->output_zero_point;
            output[t * channels + c] = (int8_t)(q < -128.0f ? -128.0f : q > 127.0f ? 127.0f : q);
        }
    }
    return 0;
}

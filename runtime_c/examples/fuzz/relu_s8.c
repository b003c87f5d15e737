/*
 * relu_s8: TFLite's quantized ReLU for int8 (reference_ops::ReluX): each output is
 * output_zp + (input - input_zp) * M, M = multiplier * 2^(shift - 31) applied as TFLite's
 * MultiplyByQuantizedMultiplier (two roundings, halves away from zero), clamped to
 * [max(-128, output_zp), 127]. multiplier in 0..2^31 - 1, shift in -31..30.
 *
 * The example of `mcusim fuzz` (README), fuzzed against relu_ref.py. Two bugs can be seeded for the
 * fuzzer to find: -D SEED_ROUNDING_BUG rounds the halves of doubling_high_mul down (an off-by-one
 * in its nudge); -D SEED_OVERRUN_BUG runs the loop to i <= size, one byte past the output.
 */
#include <stdint.h>

#ifdef SEED_ROUNDING_BUG
#define NUDGE ((1ll << 30) - 1)
#else
#define NUDGE (1ll << 30)
#endif

#ifdef SEED_OVERRUN_BUG
#define PAST_THE_END 1
#else
#define PAST_THE_END 0
#endif

/* round(a * b / 2^31); only INT32_MIN * INT32_MIN overflows, and saturates. */
static int32_t doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * b + NUDGE) >> 31);
}

/* x / 2^exponent, halves away from zero; exponent in 0..31. */
static int32_t divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

void relu_s8(const int8_t *input, int8_t *output, int32_t size, int32_t input_zp, int32_t multiplier,
             int32_t shift, int32_t output_zp)
{
    const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
    const int32_t low = output_zp > -128 ? output_zp : -128;
    for (int32_t i = 0; i < size + PAST_THE_END; i++) {
        const int32_t scaled = (int32_t)((uint32_t)(input[i] - input_zp) << left);  /* wraps as TFLite's */
        const int64_t v = (int64_t)output_zp + divide_by_pot(doubling_high_mul(scaled, multiplier), right);
        output[i] = (int8_t)(v < low ? low : v > 127 ? 127 : v);
    }
}

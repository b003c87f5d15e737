/*
 * mcusim_lookup_s8: int8 -> int8 through a 256-entry table (GELU and other activations whose table
 * the host builds from the quantization, as TFLite's LUTPopulate). Contract:
 * runtime_c/include/mcusim_nn.h. Reference: models/ops/lookup.py.
 */
#include "mcusim_nn_support.h"

mcusim_status mcusim_lookup_s8(const int8_t *table, const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t n = mcusim_binary_count(input_dims, output_dims, output_dims);
    if (n < 0) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < n; i++) {
        output[i] = table[(uint8_t)input[i]];
    }
    return MCUSIM_OK;
}

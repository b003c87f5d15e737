/*
 * mcusim_gather_s8: the rows of an int8 tensor at constant indices along one axis (TFLite GATHER,
 * batch_dims 0). Contract: runtime_c/include/mcusim_nn.h. Reference: models/ops/gather.py.
 * Every index is checked before any byte is written; then one contiguous copy per output row.
 */
#include <string.h>

#include "mcusim_nn_support.h"

mcusim_status mcusim_gather_s8(const mcusim_gather_params *params, const mcusim_dims *input_dims, const int8_t *input,
                               const mcusim_dims *output_dims, int8_t *output)
{
    const int32_t outer = input_dims->n * input_dims->h, size = input_dims->w, inner = input_dims->c;
    const int32_t count = params->count;
    if (input_dims->n < 1 || input_dims->h < 1 || size < 1 || inner < 1 || count < 1 ||
        output_dims->n != input_dims->n || output_dims->h != input_dims->h || output_dims->w != count ||
        output_dims->c != inner) {
        return MCUSIM_ARG_ERROR;
    }
    for (int32_t i = 0; i < count; i++) {
        if (params->indices[i] < 0 || params->indices[i] >= size) {
            return MCUSIM_ARG_ERROR;
        }
    }
    for (int32_t o = 0; o < outer; o++) {
        const int8_t *slab = input + o * size * inner;
        for (int32_t i = 0; i < count; i++) {
            memcpy(output, slab + params->indices[i] * inner, (size_t)inner);
            output += inner;
        }
    }
    return MCUSIM_OK;
}

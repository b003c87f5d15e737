/* The graph executor (mcusim_graph.h): walks the model blob's steps and calls each kernel through
 * a switch generated from MCUSIM_KERNELS, so every call has the kernel's own prototype. */
#include <string.h>

#include "mcusim.h"
#include "mcusim_graph.h"

#define MAX_ARGS 9

static uint32_t word(const uint8_t *blob, uint32_t offset)
{
    uint32_t w;
    memcpy(&w, blob + offset, sizeof w);
    return w;
}

/* The `count` argument words at blob offset `at` as pointers; the quantization record (at most one
 * per call) is built in *quant. */
static void resolve(const uint8_t *blob, uint8_t *arena, uint32_t at, uint32_t count, void **args,
                    mcusim_per_channel_quant *quant)
{
    for (uint32_t i = 0; i < count; i++) {
        const uint32_t w = word(blob, at + 4 * i);
        const uint32_t offset = w & 0x3FFFFFFFu;
        switch (w >> 30) {
        case MCUSIM_GRAPH_CONST:
            args[i] = (void *)(blob + offset);
            break;
        case MCUSIM_GRAPH_ARENA:
            args[i] = arena + offset;
            break;
        case MCUSIM_GRAPH_QUANT:
            quant->multiplier = (const int32_t *)(const void *)(blob + word(blob, offset));
            quant->shift = (const int32_t *)(const void *)(blob + word(blob, offset + 4));
            args[i] = quant;
            break;
        default:
            args[i] = NULL;
        }
    }
}

#define ARGS_WEIGHTED 9
#define ARGS_UNARY 5
#define ARGS_BINARY 7
#define CALL_WEIGHTED(name) mcusim_##name##_s8(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8])
#define CALL_UNARY(name) mcusim_##name##_s8(a[0], a[1], a[2], a[3], a[4])
#define CALL_BINARY(name) mcusim_##name##_s8(a[0], a[1], a[2], a[3], a[4], a[5], a[6])
#define ARG_COUNT(id, name, family) case id: return ARGS_##family;
#define DISPATCH(id, name, family) case id: return CALL_##family(name);

static uint32_t argument_count(uint32_t kernel)
{
    switch (kernel) {
        MCUSIM_KERNELS(ARG_COUNT)
    default:
        return 0;
    }
}

static mcusim_status dispatch(uint32_t kernel, void **a)
{
    switch (kernel) {
        MCUSIM_KERNELS(DISPATCH)
    default:
        return MCUSIM_GRAPH_BAD_KERNEL;
    }
}

mcusim_status mcusim_graph_run(const uint8_t *blob, uint8_t *arena, uint32_t first, uint32_t count,
                               uint32_t *failed_step)
{
    mcusim_status status = MCUSIM_OK;
    uint32_t step = first;
    if (word(blob, 0) != MCUSIM_GRAPH_MAGIC || word(blob, 4) != MCUSIM_GRAPH_VERSION ||
        first + count > word(blob, 8)) {
        status = MCUSIM_GRAPH_BAD_BLOB;
        goto done;
    }
    for (; step < first + count; step++) {
        uint32_t record = word(blob, 20 + 4 * step);
        mcusim_marker((const char *)blob + word(blob, record));
        uint32_t calls = word(blob, record + 4);
        uint32_t at = record + 8;
        for (uint32_t c = 0; c < calls; c++) {
            uint32_t kernel = word(blob, at);
            uint32_t n = argument_count(kernel);
            if (n == 0) {
                status = MCUSIM_GRAPH_BAD_KERNEL;
                goto done;
            }
            void *a[MAX_ARGS];
            mcusim_per_channel_quant quant;
            resolve(blob, arena, at + 4, n, a, &quant);
            status = dispatch(kernel, a);
            if (status != MCUSIM_OK) {
                goto done;
            }
            at += 4 + 4 * n;
        }
    }
    return MCUSIM_OK;
done:
    if (failed_step != NULL) {
        *failed_step = step;
    }
    return status;
}

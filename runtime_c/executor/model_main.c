/*
 * main() of a model exported by `mcusim export-c`: copies the sample inputs into the arena, runs every
 * step of the model blob once between DWT cycle-counter reads, and prints the cycle count and the
 * outputs on stdout (ITM port 0): int8 outputs as signed decimals, float32 outputs as the hex of
 * their bits. Exit status 0, or 1 after printing the step that failed.
 * model.h / model.c (generated) hold the blob, the arena size and where each input and output lies.
 */
#include <stdio.h>
#include <string.h>

#include "mcusim.h"
#include "mcusim_graph.h"
#include "model.h"

static uint8_t arena[MCUSIM_MODEL_ARENA_BYTES] __attribute__((aligned(8)));

int main(void)
{
    for (uint32_t i = 0; i < MCUSIM_MODEL_INPUTS; i++) {
        const mcusim_model_tensor *in = &mcusim_model_inputs[i];
        memcpy(arena + in->offset, in->sample, in->bytes);
    }
    mcusim_cycles_start();
    uint32_t failed = 0;
    mcusim_status status = mcusim_graph_run(mcusim_model_blob, arena, 0, MCUSIM_MODEL_STEPS, &failed);
    uint32_t cycles = mcusim_cycles();
    if (status != MCUSIM_OK) {
        printf("step %lu failed with status %d\n", (unsigned long)failed, (int)status);
        return 1;
    }
    printf("cycles %lu\n", (unsigned long)cycles);
    for (uint32_t i = 0; i < MCUSIM_MODEL_OUTPUTS; i++) {
        const mcusim_model_tensor *out = &mcusim_model_outputs[i];
        printf("%s:", out->name);
        for (uint32_t k = 0; k < out->bytes; k += out->itemsize) {
            if (out->itemsize == 1) {
                printf(" %d", (int)(int8_t)arena[out->offset + k]);
            } else {
                uint32_t bits;
                memcpy(&bits, arena + out->offset + k, sizeof bits);
                printf(" %08lx", (unsigned long)bits);
            }
        }
        printf("\n");
    }
    return 0;
}

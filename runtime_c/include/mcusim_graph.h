/*
 * mcusim_graph.h - the graph executor: runs a model blob (ops, arena offsets, constants) with the
 * int8 kernels, so that one firmware per board and options runs any model without recompiling.
 *
 * The blob (written by models/deploy.py; little-endian 32-bit words, every offset counted in bytes
 * from the blob's start and a multiple of 4):
 *
 *   header   magic "MCSG" (0x4753434D), version (1), step count, arena bytes, blob bytes,
 *            then one word per step: the offset of its record
 *   step     name offset (a NUL-terminated string, the op's name, sent as its trace marker),
 *            call count, then the calls (a concatenation calls its kernel once per input; a reshape
 *            has no call: its output shares its input's arena bytes)
 *   call     kernel id (MCUSIM_KERNELS in mcusim_nn.h), then the kernel's arguments in its own order,
 *            one word each: 0 for NULL, else a tag in bits 31..30 and an offset in bits 29..0:
 *              1  a constant in the blob (params, dims, weights, bias, tables)
 *              2  a tensor in the arena
 *              3  per-channel quantization: the offset of two words, the blob offsets of the
 *                 multiplier and shift arrays (mcusim_per_channel_quant is built from them)
 *
 * The blob lives in flash (read-only); the arena is one SRAM buffer of "arena bytes", 4-aligned.
 */
#ifndef MCUSIM_GRAPH_H
#define MCUSIM_GRAPH_H

#include <stdint.h>

#include "mcusim_nn.h"

#define MCUSIM_GRAPH_MAGIC 0x4753434Du
#define MCUSIM_GRAPH_VERSION 1u

#define MCUSIM_GRAPH_NULL 0u
#define MCUSIM_GRAPH_CONST 1u
#define MCUSIM_GRAPH_ARENA 2u
#define MCUSIM_GRAPH_QUANT 3u

#define MCUSIM_GRAPH_BAD_BLOB (-2)   /* wrong magic or version, or a step outside the blob */
#define MCUSIM_GRAPH_BAD_KERNEL (-3) /* a kernel id this firmware does not know */

/*
 * Run steps [first, first + count) of the blob on the arena (the graph's inputs already in place,
 * its outputs left there). Sends each step's name as a trace marker (ITM port 1) before its calls.
 * Returns MCUSIM_OK, a kernel's error status, or one of the MCUSIM_GRAPH_* errors; on an error the
 * step's index is in *failed_step (when failed_step is not NULL).
 */
mcusim_status mcusim_graph_run(const uint8_t *blob, uint8_t *arena, uint32_t first, uint32_t count,
                               uint32_t *failed_step);

#endif /* MCUSIM_GRAPH_H */

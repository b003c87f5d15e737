/*
 * SRAM measurement fixture. main() recurses DEPTH levels with a FRAME-byte local array written in
 * full at every level, recording the lowest SP seen (min_sp) as the truth for the stack peak, then
 * mallocs HEAP_BYTES and writes every byte, the truth for the heap peak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcusim.h"

#ifndef DEPTH
#define DEPTH 16
#endif
#ifndef FRAME
#define FRAME 128
#endif
#ifndef HEAP_BYTES
#define HEAP_BYTES 0
#endif

volatile uint32_t min_sp = UINT32_MAX;

static inline uint32_t current_sp(void)
{
    uint32_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
}

__attribute__((noinline)) static int recurse(int n)
{
    volatile uint8_t frame[FRAME];
    for (int i = 0; i < FRAME; i++) {
        frame[i] = (uint8_t)(n + i);
    }
    uint32_t sp = current_sp();
    if (sp < min_sp) {
        min_sp = sp;
    }
    return n == 0 ? frame[1] : recurse(n - 1) + frame[0];
}

int main(void)
{
    int r = recurse(DEPTH);
    if (HEAP_BYTES > 0) {
        uint8_t *p = malloc(HEAP_BYTES);
        if (p == NULL) {
            return 2;
        }
        memset(p, 0x5A, HEAP_BYTES);
        __asm__ volatile("" : : "r"(p) : "memory"); /* the compiler may not elide the writes */
        r += p[HEAP_BYTES - 1];
    }
    return r == 0 ? 1 : 0;
}

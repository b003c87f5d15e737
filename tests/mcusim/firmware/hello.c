/* Run-from-reset fixture: stdout through printf (ITM), stderr (semihosting), markers, DWT, exit status. */
#include <stdio.h>

#include "mcusim.h"

#ifndef LOOPS
#define LOOPS 1000
#endif

int main(void)
{
    mcusim_marker("start");
    printf("hello %d\n", 42);
    fprintf(stderr, "to stderr\n");
    mcusim_cycles_start();
    uint32_t t0 = mcusim_cycles();
    for (volatile int i = 0; i < LOOPS; i++) {
    }
    uint32_t dt = mcusim_cycles() - t0;
    mcusim_marker("end");
    printf("loop cycles %lu\n", (unsigned long)dt);
    return 3;
}

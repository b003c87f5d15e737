/* 1.5 MB of constants: fits the H743's 2 MB flash, not the 1 MB of the F427 or F746. */
#include <stdint.h>

#ifndef BIG_BYTES
#define BIG_BYTES (1536 * 1024)
#endif

const uint8_t big_table[BIG_BYTES] = {1};

int main(void)
{
    const volatile uint8_t *p = big_table;
    return p[0] == 1 ? 0 : 1;
}

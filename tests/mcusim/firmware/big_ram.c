/* A static buffer of RAM_BYTES: used to overflow a board's RAM at link time. */
#include <stdint.h>

#ifndef RAM_BYTES
#define RAM_BYTES (200 * 1024)
#endif

volatile uint8_t big_buffer[RAM_BYTES];

int main(void)
{
    big_buffer[RAM_BYTES - 1] = 1;
    return 0;
}

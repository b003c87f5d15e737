/* Firmware whose functions each provoke one fault kind; the tests call them one at a time. */
#include <stdint.h>

#include "mcusim.h"

#define UNMAPPED 0x60000000u /* FMC bank: nothing mapped there on any emulated board */

MCUSIM_EXPORT int read_unmapped(void) { return *(volatile uint32_t *)UNMAPPED; }

MCUSIM_EXPORT void write_unmapped(void) { *(volatile uint32_t *)(UNMAPPED + 8u) = 1u; }

MCUSIM_EXPORT int fetch_unmapped(void)
{
    ((void (*)(void))(UNMAPPED | 1u))();
    return 1; /* not a tail call: the fault is named through the return address in LR */
}

extern const uint32_t flash_word;
const uint32_t flash_word = 42u;
MCUSIM_EXPORT void write_flash(void) { *(volatile uint32_t *)&flash_word = 7u; }

MCUSIM_EXPORT void undefined_instruction(void) { __asm__ volatile("udf #7"); }

MCUSIM_EXPORT void hardfault_bkpt(void) { __asm__ volatile("bkpt 0x01"); }

MCUSIM_EXPORT int recurse_forever(int n)
{
    volatile uint8_t frame[64];
    frame[0] = (uint8_t)n;
    return recurse_forever(n + 1) + frame[0];
}

MCUSIM_EXPORT void spin_forever(void)
{
    for (;;) {
        __asm__ volatile("nop");
    }
}

/* Jumps into a RAM region that is not executable on this board (CCM on the F427). */
MCUSIM_EXPORT void fetch_from_data_ram(uint32_t address) { ((void (*)(void))(address | 1u))(); }

MCUSIM_EXPORT int semihosting_open(void)
{
    static const char name[] = "/etc/passwd";
    const uint32_t block[3] = {(uint32_t)(uintptr_t)name, 0u /* "r" */, sizeof name - 1};
    return mcusim_semihost(0x01 /* SYS_OPEN */, block);
}

int main(void) { return 0; }

MCUSIM_EXPORT void marker_then_spin(void)
{
    mcusim_marker("before-spin");
    spin_forever();
}

/*
 * mcusim.h - what firmware uses to talk to the emulator, exactly as it would talk to a board.
 *
 *   ITM stimulus port 0 (0xE0000000)  byte writes: text (stdout).
 *   ITM stimulus port 1 (0xE0000004)  32-bit writes: address of a NUL-terminated trace marker name.
 *                                      A marker opens a slice that lasts until the next marker.
 *   DWT->CYCCNT (0xE0001004)          reads the emulator's count (writes set it).
 *   Semihosting (BKPT 0xAB)           SYS_WRITEC, SYS_WRITE0, SYS_WRITE (handles 1 = stdout,
 *                                      2 = stderr), SYS_EXIT, SYS_EXIT_EXTENDED. Every other call
 *                                      returns -1: emulated code never reaches host files.
 *
 * On a real board the same calls work with a debugger attached (ITM over SWO, semihosting through
 * the probe); without one, BKPT escalates to HardFault.
 */
#ifndef MCUSIM_H
#define MCUSIM_H

#include <stdint.h>

/* Keep a function that only the host calls (Emulator.call) through the linker's --gc-sections. */
#define MCUSIM_EXPORT __attribute__((used, section(".text.mcusim_export")))

#define MCUSIM_ITM_PORT(n) (*(volatile uint32_t *)(0xE0000000u + 4u * (n)))
#define MCUSIM_ITM_PORT8(n) (*(volatile uint8_t *)(0xE0000000u + 4u * (n)))
#define MCUSIM_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define MCUSIM_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define MCUSIM_DEMCR (*(volatile uint32_t *)0xE000EDFCu)

/* Semihosting operation numbers (Arm "Semihosting for AArch32 and AArch64", v3). */
#define MCUSIM_SYS_WRITEC 0x03
#define MCUSIM_SYS_WRITE0 0x04
#define MCUSIM_SYS_WRITE 0x05
#define MCUSIM_SYS_EXIT 0x18
#define MCUSIM_SYS_EXIT_EXTENDED 0x20
#define MCUSIM_ADP_STOPPED_APPLICATION_EXIT 0x20026

static inline int mcusim_semihost(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* Text on ITM port 0, waiting for the FIFO like CMSIS ITM_SendChar. */
static inline void mcusim_putc(char c)
{
    while (MCUSIM_ITM_PORT(0) == 0u) {
    }
    MCUSIM_ITM_PORT8(0) = (uint8_t)c;
}

/* Open a trace slice named `name` (a string that stays valid: a literal). */
static inline void mcusim_marker(const char *name)
{
    while (MCUSIM_ITM_PORT(1) == 0u) {
    }
    MCUSIM_ITM_PORT(1) = (uint32_t)(uintptr_t)name;
}

/* Enable and reset the cycle counter as on a board (DEMCR.TRCENA, DWT_CTRL.CYCCNTENA). */
static inline void mcusim_cycles_start(void)
{
    MCUSIM_DEMCR |= 1u << 24;
    MCUSIM_DWT_CYCCNT = 0u;
    MCUSIM_DWT_CTRL |= 1u;
}

static inline uint32_t mcusim_cycles(void) { return MCUSIM_DWT_CYCCNT; }

/* Stop the program with `status` as its exit status (semihosting SYS_EXIT_EXTENDED). */
static inline void __attribute__((noreturn)) mcusim_exit(int status)
{
    const uint32_t block[2] = {MCUSIM_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    mcusim_semihost(MCUSIM_SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

#endif /* MCUSIM_H */

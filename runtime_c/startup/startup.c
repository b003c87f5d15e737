/*
 * Startup for every mcusim firmware: vector table, reset handler, newlib system calls.
 *
 * Memory layout (symbols from the linker script mcusim generates per board):
 *   FLASH: .isr_vector .text .rodata .ARM.exidx init/fini arrays, then the .data load image
 *   RAM:   .data .bss | heap  [__heap_start, __heap_limit)   grows up through _sbrk
 *   STACK: guard [__heap_limit, __stack_limit) | stack [__stack_limit, __stack_top) grows down
 * The emulator maps the guard with no access, so a stack overflow faults at its first push into it.
 * RAM painting for the stack and heap high-water marks is done by the emulator before reset, so it
 * costs no emulated cycles.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "mcusim.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint8_t __heap_start[], __heap_limit[];
extern uint32_t __stack_top[];
extern void __libc_init_array(void);
extern int main(void);

/* Copy .data from flash, zero .bss, run constructors. Also called alone before `Emulator.call`. */
MCUSIM_EXPORT void mcusim_startup_init(void)
{
    for (uint32_t *src = __data_load, *dst = __data_start; dst < __data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = __bss_start; dst < __bss_end;) {
        *dst++ = 0u;
    }
#if defined(__ARM_FP)
    /* CPACR: full access to CP10/CP11 so FPU instructions do not fault. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
#endif
    __libc_init_array();
}

void Reset_Handler(void)
{
    mcusim_startup_init();
    exit(main());
}

/* `Emulator.call` returns here: the emulator stops when the PC reaches this address. */
MCUSIM_EXPORT void __attribute__((naked, noreturn)) mcusim_call_return(void)
{
    __asm__ volatile("b .");
}

void Default_Handler(void)
{
    for (;;) {
    }
}

#define WEAK_HANDLER(name) void name(void) __attribute__((weak, alias("Default_Handler")))
WEAK_HANDLER(NMI_Handler);
WEAK_HANDLER(HardFault_Handler);
WEAK_HANDLER(MemManage_Handler);
WEAK_HANDLER(BusFault_Handler);
WEAK_HANDLER(UsageFault_Handler);
WEAK_HANDLER(SVC_Handler);
WEAK_HANDLER(DebugMon_Handler);
WEAK_HANDLER(PendSV_Handler);
WEAK_HANDLER(SysTick_Handler);

__attribute__((section(".isr_vector"), used)) void (*const mcusim_vectors[16])(void) = {
    (void (*)(void))__stack_top, Reset_Handler, NMI_Handler, HardFault_Handler,
    MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0, SVC_Handler,
    DebugMon_Handler, 0, PendSV_Handler, SysTick_Handler,
};

/* ---- newlib system calls: stdout on ITM port 0, stderr through semihosting ---- */

int _write(int fd, const char *buf, int len)
{
    if (fd == 1) {
        for (int i = 0; i < len; i++) {
            mcusim_putc(buf[i]);
        }
        return len;
    }
    if (fd == 2) {
        const uint32_t block[3] = {2u, (uint32_t)(uintptr_t)buf, (uint32_t)len};
        return len - mcusim_semihost(MCUSIM_SYS_WRITE, block); /* returns bytes not written */
    }
    errno = EBADF;
    return -1;
}

void *_sbrk(ptrdiff_t increment)
{
    static uint8_t *brk = __heap_start;
    if (increment > __heap_limit - brk || increment < __heap_start - brk) {
        errno = ENOMEM;
        return (void *)-1;
    }
    uint8_t *old = brk;
    brk += increment;
    return old;
}

void __attribute__((noreturn)) _exit(int status) { mcusim_exit(status); }

int _close(int fd)
{
    (void)fd;
    return -1;
}

int _fstat(int fd, struct stat *st)
{
    (void)fd;
    st->st_mode = S_IFCHR;
    return 0;
}

int _isatty(int fd) { return fd >= 0 && fd <= 2; }

int _lseek(int fd, int offset, int whence)
{
    (void)fd, (void)offset, (void)whence;
    return 0;
}

int _read(int fd, char *buf, int len)
{
    (void)fd, (void)buf, (void)len;
    return 0; /* end of file: there is no host input */
}

int _kill(int pid, int sig)
{
    (void)pid, (void)sig;
    errno = EINVAL;
    return -1;
}

int _getpid(void) { return 1; }

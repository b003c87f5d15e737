/* Firmware that attacks the emulator's bounds (issue 21): the tests call one function at a time, or
 * run `main` built with -DCASE=<function> (a function taking no arguments). */
#include <stdint.h>
#include <string.h>

#include "mcusim.h"

/* ---- time: one peripheral access per loop iteration, for ever ---- */

MCUSIM_EXPORT void poll_cyccnt(void)
{
    for (;;) {
        (void)mcusim_cycles();
    }
}

MCUSIM_EXPORT void itm_flood(void)
{
    for (;;) {
        MCUSIM_ITM_PORT8(0) = 'x';
    }
}

MCUSIM_EXPORT void itm_flood_words(void)
{
    for (;;) {
        MCUSIM_ITM_PORT(0) = 0x41414141u;
    }
}

/* n reads of CYCCNT then n text writes to ITM port 0: the cost of the peripherals per access. */
MCUSIM_EXPORT uint32_t peripheral_loop(uint32_t n)
{
    uint32_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        sum += mcusim_cycles();
    }
    for (uint32_t i = 0; i < n; i++) {
        MCUSIM_ITM_PORT8(0) = '.';
    }
    return sum;
}

/* ---- output and markers ---- */

static char long_name[4096];

MCUSIM_EXPORT void marker_flood_long(void)
{
    memset(long_name, 'm', sizeof long_name - 1);
    for (;;) {
        mcusim_marker(long_name);
    }
}

/* A new marker name each time (a counter in the name). */
MCUSIM_EXPORT void marker_flood_distinct(void)
{
    static char name[16] = "marker-";
    for (uint32_t i = 0;; i++) {
        for (int d = 0; d < 8; d++) {
            name[7 + d] = (char)('a' + ((i >> (4 * d)) & 0xF));
        }
        mcusim_marker(name);
    }
}

/* A marker whose name is not UTF-8 and has no NUL before unmapped memory. */
MCUSIM_EXPORT void marker_unterminated(uint32_t address)
{
    MCUSIM_ITM_PORT(1) = address;
    mcusim_exit(0);
}

/* SYS_WRITE of 4 GiB from the start of RAM. */
MCUSIM_EXPORT void sys_write_huge(void)
{
    const uint32_t block[3] = {1u, 0x20000000u, 0xFFFFFFFFu};
    mcusim_semihost(MCUSIM_SYS_WRITE, block);
}

/* SYS_WRITE of all of RAM, for ever: the console cap, not the process, must give. */
MCUSIM_EXPORT void sys_write_flood(void)
{
    const uint32_t block[3] = {1u, 0x20000000u, 0x10000u};
    for (;;) {
        mcusim_semihost(MCUSIM_SYS_WRITE, block);
    }
}

MCUSIM_EXPORT void sys_write0_flood(void)
{
    static char text[4096];
    memset(text, 'w', sizeof text - 1);
    for (;;) {
        mcusim_semihost(MCUSIM_SYS_WRITE0, text);
    }
}

MCUSIM_EXPORT void sys_writec_flood(void)
{
    static const char c = 'c';
    for (;;) {
        mcusim_semihost(MCUSIM_SYS_WRITEC, &c);
    }
}

/* ---- instructions the silicon refuses ---- */

/* An encoding capstone cannot decode (0xFFFF 0xFFFF: no Thumb-2 instruction). */
MCUSIM_EXPORT void __attribute__((naked)) undecodable(void)
{
    __asm__ volatile("nop\n .hword 0xffff, 0xffff\n bx lr");
}

/* A branch to an even address: the core leaves Thumb state (UsageFault INVSTATE). */
MCUSIM_EXPORT void __attribute__((naked)) branch_even(void)
{
    __asm__ volatile("adr r0, 1f\n bic r0, r0, #1\n bx r0\n .p2align 2\n1: nop\n bx lr");
}

/* A coprocessor instruction for a coprocessor the core lacks (UsageFault NOCP). */
MCUSIM_EXPORT void __attribute__((naked)) coprocessor(void)
{
    __asm__ volatile("cdp p1, #0, c0, c0, c0, #0\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldrd(const void *p)
{
    __asm__ volatile("ldrd r0, r1, [r0]\n bx lr");
}

MCUSIM_EXPORT void __attribute__((naked)) unaligned_strd(void *p)
{
    __asm__ volatile("strd r1, r2, [r0, #4]\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldm(const void *p)
{
    __asm__ volatile("ldm r0!, {r1, r2}\n bx lr");
}

MCUSIM_EXPORT void __attribute__((naked)) unaligned_stmdb(void *p)
{
    __asm__ volatile("stmdb r0, {r1, r2}\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldrex(const void *p)
{
    __asm__ volatile("ldrex r0, [r0]\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldrexh(const void *p)
{
    __asm__ volatile("ldrexh r0, [r0]\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_strex(void *p)
{
    __asm__ volatile("strex r1, r2, [r0]\n mov r0, r1\n bx lr");
}

MCUSIM_EXPORT void __attribute__((naked)) unaligned_vldr(const void *p)
{
    __asm__ volatile("vldr s0, [r0]\n bx lr");
}

MCUSIM_EXPORT void __attribute__((naked)) unaligned_vstmia(void *p)
{
    __asm__ volatile("vstmia r0!, {s0-s1}\n bx lr");
}

/* The base computed in the same block as the access. */
MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldrd_computed(const void *p)
{
    __asm__ volatile("adds r0, r0, #1\n ldrd r0, r1, [r0, #-8]\n bx lr");
}

/* A conditional LDRD in an IT block: faults only when it executes. */
MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldrd_if(const void *p, uint32_t run)
{
    __asm__ volatile("cmp r1, #0\n it ne\n ldrdne r2, r3, [r0]\n movs r0, #5\n bx lr");
}

/* Unaligned single-word and halfword accesses are allowed (CCR.UNALIGN_TRP is clear at reset). */
MCUSIM_EXPORT uint32_t __attribute__((naked)) unaligned_ldr_ok(const void *p)
{
    __asm__ volatile("ldr r1, [r0]\n ldrh r2, [r0, #2]\n str r1, [r0, #4]\n adds r0, r1, r2\n bx lr");
}

MCUSIM_EXPORT uint32_t __attribute__((naked)) aligned_multi_ok(void *p)
{
    __asm__ volatile("push {r4, lr}\n ldrd r2, r3, [r0]\n strd r2, r3, [r0, #8]\n ldm r0, {r1, r4}\n"
                     " stmdb r0, {r1, r4}\n adds r0, r1, r4\n pop {r4, pc}");
}

int main(void)
{
#ifdef CASE
    extern void CASE(void);
    CASE();
#endif
    return 0;
}

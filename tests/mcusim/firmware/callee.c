/* Functions for Emulator.call: stack-passed arguments, arrays in and out, a double-precision op, a
 * memcpy for Emulator.watch. */
#include <stdint.h>
#include <string.h>

#include "mcusim.h"

int32_t global_counter = 5; /* .data: initialized by mcusim_startup_init before the first call */

MCUSIM_EXPORT int32_t weighted_sum6(int32_t a, int32_t b, int32_t c, int32_t d, int32_t e, int32_t f)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + global_counter++;
}

/* out[i] = saturate_s8(x[i] + y[i]) for i < n. */
MCUSIM_EXPORT void add_sat_s8(const int8_t *x, const int8_t *y, int8_t *out, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        int32_t s = x[i] + y[i];
        out[i] = (int8_t)(s > 127 ? 127 : s < -128 ? -128 : s);
    }
}

/* TT (test target) exists from Armv8-M: undefined on the v7E-M Cortex-M4 and M7, defined on
 * Unicorn's default M-class CPU (a Cortex-M33). */
MCUSIM_EXPORT uint32_t armv8m_test_target(void)
{
    uint32_t r;
    __asm__ volatile(".arch armv8-m.main\n tt %0, %0\n .arch armv7e-m" : "=r"(r) : "0"(0x20000000u));
    return r;
}

/* vadd.f64: defined on the Cortex-M7 model (the H743 has the double-precision FPv5-D16), undefined
 * on the Cortex-M4's single-precision FPv4-SP. */
MCUSIM_EXPORT void double_precision_add(void)
{
    __asm__ volatile(".fpu fpv5-d16\n vadd.f64 d0, d0, d1" ::: "d0");
}

int main(void) { return 0; }

/* Copies n bytes with newlib's memcpy, whose tail stores are conditional (an IT block). */
MCUSIM_EXPORT void copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    memcpy(dst, src, (size_t)n);
}

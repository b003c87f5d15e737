/*
 * mcusim_dsp.h - the Armv7E-M DSP instructions the kernels use, as inline functions.
 *
 * On a core with the DSP extension (__ARM_FEATURE_DSP) they are the instructions themselves; elsewhere
 * (the host build that fuzzes the DSP path) portable C with the same results, so that one kernel
 * source is tested on both. Semantics from the Armv7-M Architecture Reference Manual, A7.7.
 */
#ifndef MCUSIM_DSP_H
#define MCUSIM_DSP_H

#include <stdint.h>
#include <string.h>

/* Read 4 bytes from any alignment (the kernels' buffers are byte arrays). */
static inline uint32_t mcusim_read_u32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Read 2 bytes from any alignment. */
static inline uint32_t mcusim_read_u16(const int8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* Write 4 bytes to any alignment. */
static inline void mcusim_write_u32(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Write the low 2 bytes of v to any alignment. */
static inline void mcusim_write_u16(void *p, uint32_t v)
{
    const uint16_t h = (uint16_t)v;
    memcpy(p, &h, 2);
}

#if defined(__ARM_FEATURE_DSP)

/* SXTB16: sign-extend bytes 0 and 2 of x into two halfwords. */
static inline uint32_t mcusim_sxtb16(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(x));
    return r;
}

/* SXTB16 of x rotated right by 8: bytes 1 and 3. */
static inline uint32_t mcusim_sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* SXTAB16: a + SXTB16(x), halfword-wise (modulo 2^16): bytes 0 and 2 of x widened and offset. */
static inline uint32_t mcusim_sxtab16(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SXTAB16 of x rotated right by 8: a + bytes 1 and 3 of x. */
static inline uint32_t mcusim_sxtab16_ror8(uint32_t a, uint32_t x)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* SADD16: halfword-wise a + b (modulo 2^16). */
static inline uint32_t mcusim_sadd16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* SMLAD: acc + lo(a)*lo(b) + hi(a)*hi(b), halfwords signed. */
static inline int32_t mcusim_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* SMLABB: acc + lo(a)*lo(b); SMLATT: acc + hi(a)*hi(b), halfwords signed. */
static inline int32_t mcusim_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

static inline int32_t mcusim_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* SSAT #8: x saturated to [-128, 127]. */
static inline int32_t mcusim_ssat8(int32_t x)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(x));
    return r;
}

/* Byte-wise signed max / min of four int8 lanes: SSUB8 sets a GE flag per lane, SEL picks by them. */
static inline uint32_t mcusim_max8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

static inline uint32_t mcusim_min8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* SMMLAR: acc + the high word of a * b rounded, (a * b + 2^31) >> 32 (modulo 2^32). */
static inline int32_t mcusim_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

#else

static inline uint32_t mcusim_pack16(int32_t lo, int32_t hi)
{
    return ((uint32_t)hi << 16) | ((uint32_t)lo & 0xFFFFu);
}

static inline uint32_t mcusim_sxtb16(uint32_t x)
{
    return mcusim_pack16((int8_t)(x & 0xFF), (int8_t)((x >> 16) & 0xFF));
}

static inline uint32_t mcusim_sxtb16_ror8(uint32_t x)
{
    return mcusim_pack16((int8_t)((x >> 8) & 0xFF), (int8_t)(x >> 24));
}

static inline uint32_t mcusim_sadd16(uint32_t a, uint32_t b)
{
    return mcusim_pack16((int16_t)a + (int16_t)b, (int16_t)(a >> 16) + (int16_t)(b >> 16));
}

static inline uint32_t mcusim_sxtab16(uint32_t a, uint32_t x)
{
    return mcusim_sadd16(a, mcusim_sxtb16(x));
}

static inline uint32_t mcusim_sxtab16_ror8(uint32_t a, uint32_t x)
{
    return mcusim_sadd16(a, mcusim_sxtb16_ror8(x));
}

static inline int32_t mcusim_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int64_t sum = (int64_t)acc + (int16_t)a * (int16_t)b + (int16_t)(a >> 16) * (int16_t)(b >> 16);
    return (int32_t)(uint32_t)sum; /* wraps like the instruction (which sets Q on overflow) */
}

static inline int32_t mcusim_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)((int16_t)a * (int16_t)b));
}

static inline int32_t mcusim_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)((int16_t)(a >> 16) * (int16_t)(b >> 16)));
}

static inline int32_t mcusim_smmlar(int32_t a, int32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)(int32_t)(((int64_t)a * b + (1ll << 31)) >> 32));
}

static inline int32_t mcusim_ssat8(int32_t x)
{
    return x < -128 ? -128 : x > 127 ? 127 : x;
}

static inline uint32_t mcusim_lanes8(uint32_t a, uint32_t b, int want_max)
{
    uint32_t r = 0;
    for (int i = 0; i < 32; i += 8) {
        const int8_t x = (int8_t)(a >> i), y = (int8_t)(b >> i);
        r |= (uint32_t)(uint8_t)((x >= y) == want_max ? x : y) << i;
    }
    return r;
}

static inline uint32_t mcusim_max8(uint32_t a, uint32_t b)
{
    return mcusim_lanes8(a, b, 1);
}

static inline uint32_t mcusim_min8(uint32_t a, uint32_t b)
{
    return mcusim_lanes8(a, b, 0);
}

#endif /* __ARM_FEATURE_DSP */

#endif /* MCUSIM_DSP_H */

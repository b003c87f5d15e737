/* Exported wrappers of the static inline primitives in mcusim_nn.h, for tests/models/test_quant.py. */
#include "mcusim_nn.h"

int32_t shim_srdhm(int32_t a, int32_t b) { return mcusim_srdhm(a, b); }
int32_t shim_rounding_divide_by_pot(int32_t x, int32_t e) { return mcusim_rounding_divide_by_pot(x, e); }
int32_t shim_requantize(int32_t x, int32_t m, int32_t s) { return mcusim_requantize(x, m, s); }

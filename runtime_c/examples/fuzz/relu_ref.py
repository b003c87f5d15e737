"""The reference of relu_s8.c for `mcusim fuzz` (README): TFLite's quantized ReLU in numpy.

    mcusim fuzz runtime_c/examples/fuzz/relu_s8.c --reference runtime_c/examples/fuzz/relu_ref.py:relu_s8 \
        --board stm32f746

Each parameter is the C function's, in order; its annotation says what hypothesis draws for it.
"""
import numpy as np

from mcusim.testing import In, Int, Multiplier, Out, Shift, ZeroPoint, requantize


def relu_s8(x: In[np.int8, "n"], y: Out[np.int8, "n"], n: Int["n", 1, 256], input_zp: ZeroPoint,
            multiplier: Multiplier, shift: Shift, output_zp: ZeroPoint):
    v = output_zp + requantize(x.astype(np.int64) - input_zp, multiplier, shift)
    y[:] = np.clip(v, max(-128, output_zp), 127)

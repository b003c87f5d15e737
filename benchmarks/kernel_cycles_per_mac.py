"""Cycles per MAC of the emulated int8 kernels on the shapes of the engine issue, M4 (STM32F427) and M7
(STM32F746), DSP path and plain C, with CMSIS-NN's figures on the same emulator and cycle model quoted
beside as the targets (measured for issue 17: same shapes and quantization, tensors in SRAM, second
call counted, both built -O2, bit-identical outputs).

    python benchmarks/kernel_cycles_per_mac.py [--plain]

Each kernel is called twice on random data through the lowering's own call (models/blob.py); the
second call's modelled cycles are divided by its multiply-accumulates (softmax: by its elements).
Conv and depthwise count the taps in the padding as MACs, as the CMSIS-NN figures do.
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models.blob import Call
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.batch_matmul import BatchMatmulParams, batch_matmul_call
from mcusim.models.ops.conv2d import Conv2DParams, conv2d_call, padding
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DParams, depthwise_conv2d_call
from mcusim.models.ops.fully_connected import FullyConnectedParams, fully_connected_call
from mcusim.models.ops.softmax import SoftmaxParams, softmax_call

BOARDS = ("stm32f427", "stm32f746")  # M4, M7

# label -> (CMSIS-NN M4, CMSIS-NN M7) cycles per MAC (softmax: per element), from issue 17
CMSIS_NN = {
    "fully_connected 64->256, 49 rows": (3.38, 2.54),
    "fully_connected 256->64, 49 rows": (2.63, 2.05),
    "batch_matmul Q.K^T, 49 tokens, dim 16": (6.59, 3.76),
    "conv 3x3 16x16x16->32 s1 p1": (2.59, 1.64),
    "depthwise 3x3 16x16x32 s1 p1": (9.26, 6.40),
    "softmax 49x49 (per element)": (589, 410),
}


def _quant(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel multipliers of 0.5 to 1 and shifts around -8: every channel requantized differently."""
    rng = np.random.default_rng(1)
    return rng.integers(1 << 30, (1 << 31) - 1, n).astype(np.int32), rng.integers(-10, -6, n).astype(np.int32)


def cases(rng: np.random.Generator):
    """(label, kernel calls, inputs, MACs or elements) of each row of the table."""
    for depth, out in ((64, 256), (256, 64)):
        x, w = rng.integers(-128, 128, (49, depth), np.int8), rng.integers(-127, 128, (out, depth), np.int8)
        p = FullyConnectedParams(3, -2, *_quant(out))
        yield (f"fully_connected {depth}->{out}, 49 rows", fully_connected_call(x.shape, w, rng.integers(
            -1000, 1000, out).astype(np.int32), p), {"input": x}, 49 * depth * out)
    q, k = rng.integers(-128, 128, (1, 49, 16), np.int8), rng.integers(-128, 128, (1, 49, 16), np.int8)
    p = BatchMatmulParams.from_quantization(0.05, 3, 0.05, -7, 0.2, 1)
    yield "batch_matmul Q.K^T, 49 tokens, dim 16", batch_matmul_call(q.shape, k.shape, p), \
        {"input": q, "input2": k}, 49 * 49 * 16
    (pad, side), f = padding("same", 16, 3, 1, 1), rng.integers(-127, 128, (32, 3, 3, 16), np.int8)
    x = rng.integers(-128, 128, (1, 16, 16, 16), np.int8)
    p = Conv2DParams(3, -2, *_quant(32), side, side, (1, 1), (pad, pad))
    yield "conv 3x3 16x16x16->32 s1 p1", conv2d_call(x.shape, f, None, p), {"input": x}, 16 * 16 * 32 * 9 * 16
    x, f = rng.integers(-128, 128, (1, 16, 16, 32), np.int8), rng.integers(-127, 128, (1, 3, 3, 32), np.int8)
    p = DepthwiseConv2DParams(3, -2, *_quant(32), side, side, (1, 1), (pad, pad))
    yield "depthwise 3x3 16x16x32 s1 p1", depthwise_conv2d_call(x.shape, f, None, p), {"input": x}, 16 * 16 * 32 * 9
    x = rng.integers(-128, 128, (49, 49), np.int8)
    yield "softmax 49x49 (per element)", softmax_call(x.shape, SoftmaxParams.from_scale(0.1), lut=True), \
        {"input": x}, 49 * 49


def cycles(kernels: EmulatedKernels, call: Call, inputs: dict) -> int:
    for _ in range(2):
        execute(kernels, call, **inputs)
    return kernels.emulator.last_call.cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="also the plain C path (MCUSIM_DSP=0)")
    args = parser.parse_args()
    paths = (True, False) if args.plain else (True,)
    rows: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in BOARDS:
            for dsp in paths:
                kernels = EmulatedKernels(get_board(board_name), dsp, tmp)
                for label, call, inputs, work in cases(np.random.default_rng(0)):
                    rows[label, f"{board_name} {'dsp' if dsp else 'plain'}"] = cycles(kernels, call, inputs) / work
    columns = [f"{b} {'dsp' if dsp else 'plain'}" for dsp in paths for b in BOARDS]
    print(f"| kernel and shape | {' | '.join(columns)} | CMSIS-NN M4 | CMSIS-NN M7 | M4 / CMSIS | M7 / CMSIS |")
    print("|---|" + "---:|" * (len(columns) + 4))
    for label, (m4, m7) in CMSIS_NN.items():
        ours = [rows[label, c] for c in columns]
        ratio_m4, ratio_m7 = rows[label, f"{BOARDS[0]} dsp"] / m4, rows[label, f"{BOARDS[1]} dsp"] / m7
        print(f"| {label} | {' | '.join(f'{v:.2f}' for v in ours)} | {m4:.2f} | {m7:.2f} | "
              f"{ratio_m4:.2f}x | {ratio_m7:.2f}x |")


if __name__ == "__main__":
    main()

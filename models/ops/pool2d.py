"""avg_pool2d and max_pool2d, int8 NHWC: the numpy references (the specification) and the calls of
their C twins runtime_c/src/avg_pool2d_s8.c and max_pool2d_s8.c. Formulas: docs/numerics.md#pool2d.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, OUT, Arena, Call, i32, unary
from ..graph import Graph, Op
from . import Lowering, OpDef
from .common import activation_range, check_window, expect, int_tuples, io
from .common import unary as run_unary
from .conv2d import windows


@dataclass(frozen=True)
class Pool2DAttrs:
    filter: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    pad: tuple[int, int] = (0, 0)
    activation: str = "none"

    def __post_init__(self):
        int_tuples(self, "filter", "stride", "pad")


@dataclass(frozen=True)
class Pool2DParams:
    """Window geometry of a pooling op (mcusim_pool_params); out_h x out_w is the output's size."""

    filter: tuple[int, int]
    out_h: int
    out_w: int
    stride: tuple[int, int] = (1, 1)
    pad: tuple[int, int] = (0, 0)
    act_min: int = -128
    act_max: int = 127

    def windows(self, x: np.ndarray, fill: int):
        return windows(x, (self.out_h, self.out_w), self.filter, self.stride, self.pad, (1, 1), fill)

    def c_params(self) -> list[int]:
        return [*self.stride, *self.pad, *self.filter, self.act_min, self.act_max]


def _check_windows(count: np.ndarray) -> None:
    if (count == 0).any():
        raise ValueError("a pooling window lies wholly in the padding: outside the kernel's legal range")


def avg_pool2d_s8(x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    """x int8 [N, H, W, C] -> int8 [N, out_h, out_w, C]: the mean of the taps inside the input,
    rounded half away from zero (as TFLite: the padding is not averaged in)."""
    total = sum(window for _, _, window in p.windows(x.astype(np.int64), 0))
    count = sum(window for _, _, window in p.windows(np.ones((1, *x.shape[1:3], 1), np.int64), 0))
    _check_windows(count)
    half = count // 2
    mean = np.where(total > 0, (total + half) // count, -((half - total) // count))  # C division truncates
    return np.clip(mean, p.act_min, p.act_max).astype(np.int8)


def max_pool2d_s8(x: np.ndarray, p: Pool2DParams) -> np.ndarray:
    """x int8 [N, H, W, C] -> int8 [N, out_h, out_w, C]: the largest tap inside the input."""
    count = sum(window for _, _, window in p.windows(np.ones((1, *x.shape[1:3], 1), np.int64), 0))
    _check_windows(count)
    best = np.maximum.reduce([window for _, _, window in p.windows(x.astype(np.int64), -(1 << 16))])
    return np.clip(best, p.act_min, p.act_max).astype(np.int8)


def pool2d_call(kernel: str, x_shape, p: Pool2DParams, *, x: Arena = IN, y: Arena = OUT) -> Call:
    """kernel: "avg_pool2d" or "max_pool2d"."""
    return unary(kernel, i32(p.c_params()), x_shape, x, (x_shape[0], p.out_h, p.out_w, x_shape[3]), y)


def _validate(graph: Graph, op: Op, where: str) -> None:
    x, y = io(graph, op, where, (1,))
    expect(x.quant == y.quant, where, "pooling keeps the input's scale and zero point")
    expect(y.shape[-1] == x.shape[-1], where, "pooling keeps the channel count")
    a = op.attrs
    check_window(where, x, y, a.filter, a.stride, a.pad, (1, 1))


def _prepare(graph: Graph, op: Op) -> Pool2DParams:
    y, a = graph.tensors[op.outputs[0]], op.attrs
    return Pool2DParams(a.filter, y.shape[1], y.shape[2], a.stride, a.pad, *activation_range(a.activation, y))


def _lower(lowering: Lowering) -> tuple[Call, ...]:
    x, y = lowering.tensor(0), lowering.tensor(output=True)
    return (pool2d_call(lowering.op.kind, x.shape, lowering.params, x=lowering.operand(x.name), y=Arena(y.name)),)


OPS = tuple(OpDef(kind, Pool2DAttrs, _validate, run_unary(reference), _prepare, _lower, (kind,))
            for kind, reference in (("avg_pool2d", avg_pool2d_s8), ("max_pool2d", max_pool2d_s8)))

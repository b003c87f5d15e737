"""maximum and minimum, int8 elementwise with broadcasting (TFLM's maximum_minimum.cc: a compare of the
int8 values, inputs and output sharing one quantization): the numpy reference and the call of their
C twin runtime_c/src/maximum_minimum_s8.c. Formula: docs/numerics.md#maximum-and-minimum.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..blob import IN, IN2, OUT, Arena, Call
from .common import BinaryAttrs, elementwise_call, elementwise_op, same_quantization


@dataclass(frozen=True)
class MaximumMinimumParams:
    """mcusim_maximum_minimum_params, field for field."""

    maximum: int  # 1: maximum, 0: minimum


def maximum_minimum_s8(a: np.ndarray, b: np.ndarray, p: MaximumMinimumParams) -> np.ndarray:
    """max(a, b) or min(a, b), int8 whose shapes broadcast -> int8 of the broadcast shape."""
    return (np.maximum if p.maximum else np.minimum)(a, b).astype(np.int8)


def maximum_minimum_call(a_shape, b_shape, p: MaximumMinimumParams, *, a: Arena = IN, b: Arena = IN2,
                         y: Arena = OUT) -> Call:
    return elementwise_call("maximum_minimum", a_shape, b_shape, p, a=a, b=b, y=y)


OPS = tuple(elementwise_op(kind, lambda graph, op, p=MaximumMinimumParams(int(kind == "maximum")): p,
                           maximum_minimum_s8, maximum_minimum_call, BinaryAttrs, same_quantization,
                           "maximum_minimum")
            for kind in ("maximum", "minimum"))

"""Differential testing of your own C kernels against a plain Python reference (`mcusim fuzz`).

The reference is a Python function whose parameters, in order, are the C function's, each annotated
with one of the types below; it computes the outputs into its Out arrays with numpy:

    import numpy as np
    from mcusim.testing import In, Int, Out

    def relu_s8(x: In[np.int8, "n"], y: Out[np.int8, "n"], n: Int["n", 1, 256]):
        y[:] = np.maximum(x, 0)

    In[dtype, dim, ...]   an input array: the C function gets a pointer to it in SRAM; the reference a
                          read-only copy. dims are fixed ints or size names ("n", or "rows", "cols").
    Out[dtype, dim, ...]  an output array: C and reference both get it filled with OUT_FILL bytes, so
                          an element the C kernel fails to write differs from one the reference writes.
    InOut[dtype, dim, ...]
                          an array drawn as an input that the function overwrites in place (an in-place
                          kernel's buffer): C and reference each get it, the reference a writable copy,
                          and what each leaves in it must be the same.
    Int["n", lo, hi]      the size "n" as an int argument, drawn from lo..hi (sizes()); every size name
                          an array uses is bound by exactly one Int parameter or Struct field.
    Int32[lo, hi]         any other int argument, drawn from lo..hi (int32s()); bare Int32: all of int32.
    Multiplier, Shift, ZeroPoint, Shift[lo, hi], ZeroPoint[lo, hi]
                          quantization parameters from multipliers(), shifts() and zero_points().
    Scalar[strategy]      an int argument drawn from any hypothesis strategy.
    Struct[field, ...]    a pointer to a struct of int32 fields (a dims struct, a params struct): each
                          field a fixed int, a size name, Int["n", lo, hi] (which binds the size "n"
                          as an Int parameter does) or Int32/Multiplier/Shift/ZeroPoint/Scalar; the
                          reference gets the field values as a read-only int32 array.

A reference may call hypothesis.assume(condition) to reject an example outside the C function's
contract (act_min <= act_max, one input broadcast or the same size as the other); it is called before
the C function, so a rejected example never reaches it.

Array dtypes are integers of up to 32 bits; every argument reaches C as one 32-bit word (AAPCS). The
strategies are hypothesis strategies and serve property tests of your own as well; the values they
lean to are the ones kernels get wrong: the dtype's extremes, 0 and -1, sizes 1, odd and not multiples
of 4 (the tails of 4-lane SIMD loops), the ends of the quantization ranges. requantize is TFLite's
MultiplyByQuantizedMultiplier in numpy, for references of requantizing kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.strategies import SearchStrategy

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
OUT_FILL = 0xA5  # the byte every Out array holds before the call, on both sides
DTYPES = tuple(np.dtype(t) for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32))
SIMD_TAILS = (1, 2, 3, 5, 7, 9, 15, 17, 31, 33)  # sizes 4-lane loops get wrong, drawn often


# ---- strategies ---------------------------------------------------------------------------------

def int32s(lo: int = INT32_MIN, hi: int = INT32_MAX) -> SearchStrategy[int]:
    """Integers in lo..hi, one draw in two an edge: lo, hi, 0, -1 and 1 where they lie in range."""
    edges = [v for v in dict.fromkeys((lo, hi, 0, -1, 1)) if lo <= v <= hi]
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges))


def sizes(lo: int, hi: int) -> SearchStrategy[int]:
    """Array sizes in lo..hi, leaning to lo, hi and SIMD_TAILS (1, odd, not multiples of 4)."""
    edges = [v for v in dict.fromkeys((lo, *SIMD_TAILS, hi)) if lo <= v <= hi]
    return st.one_of(st.integers(lo, hi), st.sampled_from(edges))


def elements(dtype) -> SearchStrategy[int]:
    """Values of an integer dtype, leaning to its extremes (-128 and 127 for int8), 0 and -1."""
    info = np.iinfo(np.dtype(dtype))
    return int32s(int(info.min), int(info.max))


def arrays(dtype, shape) -> SearchStrategy[np.ndarray]:
    """Arrays of an integer dtype and a fixed shape, elements from elements(dtype)."""
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype))


def int8_arrays(shape) -> SearchStrategy[np.ndarray]:
    return arrays(np.int8, shape)


def multipliers() -> SearchStrategy[int]:
    """TFLite QuantizeMultiplier's multipliers: 0 or 2^30..2^31 - 1, its ends drawn often."""
    return st.one_of(st.integers(1 << 30, INT32_MAX), st.sampled_from([1 << 30, INT32_MAX, 0]))


def shifts(lo: int = -31, hi: int = 30) -> SearchStrategy[int]:
    """QuantizeMultiplier's shifts (a real multiplier is multiplier * 2^(shift - 31)), -31..30 by default."""
    return int32s(lo, hi)


def zero_points(lo: int = -128, hi: int = 127) -> SearchStrategy[int]:
    """Zero points, int8's range by default."""
    return int32s(lo, hi)


# ---- annotations --------------------------------------------------------------------------------

ROLES = {"in": "In", "out": "Out", "inout": "InOut"}  # an Array's role -> its annotation


def _subscript(key) -> tuple:
    return key if isinstance(key, tuple) else (key,)


@dataclass(frozen=True)
class Array:
    """In[...], Out[...] or InOut[...]: role "in", "out" or "inout", an integer dtype, dims (ints and
    size names). A Struct[...] is an In int32 array of one dim whose `fields` say what each element holds."""

    role: str
    dtype: np.dtype
    dims: tuple
    fields: tuple | None = None

    def shape(self, sizes_by_name: dict[str, int]) -> tuple[int, ...]:
        return tuple(d if isinstance(d, int) else sizes_by_name[d] for d in self.dims)

    def __repr__(self) -> str:
        if self.fields is not None:
            return f"Struct[{', '.join(map(repr, self.fields))}]"
        return f"{ROLES[self.role]}[{self.dtype.name}, {', '.join(map(repr, self.dims))}]"

    @property
    def size_names(self) -> list[str]:
        """The size names the array's shape or fields use."""
        return [d for d in (self.dims if self.fields is None else self.fields) if isinstance(d, str)]


def _array(role: str, key) -> Array:
    dtype, *dims = _subscript(key)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{ROLES[role]}[{dtype!r}, ...]: the first item is no numpy dtype") from None
    if dtype not in DTYPES:
        raise TypeError(f"{ROLES[role]}[{dtype.name}, ...]: arrays are of "
                        f"{', '.join(d.name for d in DTYPES)}")
    flat = [d for dim in dims for d in (dim if isinstance(dim, tuple) else (dim,))]
    if not flat or not all(isinstance(d, str) and d.isidentifier() or type(d) is int and d >= 0 for d in flat):
        raise TypeError(f"{ROLES[role]}[{dtype.name}, ...]: give one or more dims, each a size name "
                        "(\"n\") or an int >= 0")
    return Array(role, dtype, tuple(flat))


class In:
    """In[dtype, dim, ...]: an input array (module docstring)."""

    def __class_getitem__(cls, key) -> Array:
        return _array("in", key)


class Out:
    """Out[dtype, dim, ...]: an output array (module docstring)."""

    def __class_getitem__(cls, key) -> Array:
        return _array("out", key)


class InOut:
    """InOut[dtype, dim, ...]: an array overwritten in place (module docstring)."""

    def __class_getitem__(cls, key) -> Array:
        return _array("inout", key)


@dataclass(frozen=True)
class Size:
    """Int["n", lo, hi]: the size "n", passed as an int argument."""

    name: str
    lo: int
    hi: int

    def strategy(self) -> SearchStrategy[int]:
        return sizes(self.lo, self.hi)

    def __repr__(self) -> str:
        return f"Int[{self.name!r}, {self.lo}, {self.hi}]"


class Int:
    """Int["n", lo, hi]: a size parameter (module docstring)."""

    def __class_getitem__(cls, key) -> Size:
        key = _subscript(key)
        if (len(key) != 3 or not isinstance(key[0], str) or not key[0].isidentifier()
                or not all(type(v) is int for v in key[1:]) or not 0 <= key[1] <= key[2] <= INT32_MAX):
            raise TypeError(f"Int[{', '.join(map(repr, key))}]: give Int[\"name\", lo, hi] with 0 <= lo <= hi")
        return Size(*key)


@dataclass(frozen=True)
class Scalar:
    """An int argument drawn from `strategy`; `Scalar[strategy]` makes one of any hypothesis strategy.
    Drawn values must fit a 32-bit register (-2^31..2^32 - 1)."""

    strategy: SearchStrategy
    label: str = "Scalar[...]"

    def __class_getitem__(cls, strategy) -> "Scalar":
        if not isinstance(strategy, SearchStrategy):
            raise TypeError(f"Scalar[{strategy!r}]: give a hypothesis strategy")
        return cls(strategy, f"Scalar[{strategy!r}]")

    def __repr__(self) -> str:
        return self.label


def _range_scalar(name: str, make, lo_min: int, hi_max: int):
    """A class whose subscript [lo, hi] gives a Scalar drawn by make(lo, hi) within lo_min..hi_max."""

    def getitem(cls, key) -> Scalar:
        key = _subscript(key)
        if len(key) != 2 or not all(type(v) is int for v in key) or not lo_min <= key[0] <= key[1] <= hi_max:
            raise TypeError(f"{name}[{', '.join(map(repr, key))}]: give {name}[lo, hi] with "
                            f"{lo_min} <= lo <= hi <= {hi_max}")
        return Scalar(make(*key), f"{name}[{key[0]}, {key[1]}]")

    return type(name, (), {"__class_getitem__": classmethod(getitem),
                           "__doc__": f"{name}[lo, hi]: an int argument from {make.__name__}(lo, hi)."})


Int32 = _range_scalar("Int32", int32s, INT32_MIN, INT32_MAX)
Multiplier = Scalar(multipliers(), "Multiplier")
Shift = _range_scalar("Shift", shifts, -31, 30)
ZeroPoint = _range_scalar("ZeroPoint", zero_points, INT32_MIN, INT32_MAX)
# Bare Int32, Shift and ZeroPoint stand for their full default ranges.
BARE = {Int32: Scalar(int32s(), "Int32"), Shift: Scalar(shifts(), "Shift"), ZeroPoint: Scalar(zero_points(), "ZeroPoint")}


class Struct:
    """Struct[field, ...]: a pointer to int32 fields (module docstring), e.g. CMSIS-NN's dims struct
    Struct[1, Int["h", 1, 8], Int["w", 1, 8], "c"] or a params struct Struct[ZeroPoint, Multiplier, Shift]."""

    def __class_getitem__(cls, key) -> Array:
        fields = tuple(BARE.get(f, f) if isinstance(f, type) else f for f in _subscript(key))
        if not fields:
            raise TypeError("Struct[]: give one or more fields")
        for f in fields:
            if not (type(f) is int and INT32_MIN <= f <= INT32_MAX or isinstance(f, str) and f.isidentifier()
                    or isinstance(f, (Size, Scalar))):
                raise TypeError(f"Struct[..., {f!r}, ...]: a field is an int32, a size name (\"n\"), "
                                "Int[\"n\", lo, hi] or Int32/Multiplier/Shift/ZeroPoint/Scalar[...]")
        return Array("in", np.dtype(np.int32), (len(fields),), fields)


# ---- quantization -------------------------------------------------------------------------------

def _wrap_int32(x: np.ndarray) -> np.ndarray:
    return ((x + (1 << 31)) & 0xFFFF_FFFF) - (1 << 31)


def requantize(x, multiplier: int, shift: int) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier on int32 values x, as int64: x * 2^max(shift, 0) (wrapping
    to int32 as C's unsigned shift does), SaturatingRoundingDoublingHighMul by multiplier (halves
    up), then RoundingDivideByPOT by max(-shift, 0) (halves away from zero). multiplier in
    0..2^31 - 1, shift in -31..30."""
    x = np.asarray(x, dtype=np.int64)
    scaled = _wrap_int32(x << max(shift, 0))
    ab = scaled * np.int64(multiplier)
    high = (ab + (1 << 30)) >> 31  # round(ab / 2^31); the one overflow, INT32_MIN^2, needs multiplier 2^31
    right = max(-shift, 0)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)

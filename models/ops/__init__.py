"""The op registry: one definition per op kind, TFLM-style (registration with prepare and eval).

Each models/ops/<op>.py holds an op's attributes, validation, prepared parameters, numpy reference
(the specification) and lowering to C kernel calls, and ends with `OPS = (OpDef(...), ...)`: the
kinds it defines. A module whose kernels take scratch memory also has `SCRATCH = {kernel: size}`,
size(call) -> bytes, the twin of the kernel's mcusim_<kernel>_s8_scratch_size (runtime_c). The
registry imports every module of this package once, on first use, so an op is added by adding its
file (plus its C kernel in runtime_c/src and the header's kernel list):

    definition = op_def("conv2d")
    params = definition.prepare(graph, op)          # once per graph
    definition.run(graph, op, params, values)       # values: tensor name -> array
    calls = definition.lower(Lowering(graph, op, params, options, in_place))

Nothing here imports the emulator: the IR, the interpreter and the importers load none of it.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from ..blob import Arena, const


def _no_params(graph, op) -> None:
    return None


def _always(graph, op) -> bool:
    return True


@dataclass(frozen=True)
class OpDef:
    """One op kind.

    attrs: its frozen attribute dataclass (the graph file stores its fields by name).
    validate(graph, op, where): raise GraphError naming `where` for any inconsistency.
    prepare(graph, op): the kernel parameters (quantization, geometry), computed once per graph.
    run(graph, op, params, values): the reference; reads its inputs from `values` and stores its output
        there. Arrays may stack several samples along axis 0 where batch_safe(graph, op) holds.
    lower(lowering): the kernel calls that compute the op on the board (models/blob.py's Calls);
        None for an op that needs none (reshape: its output shares its input's bytes).
    kernels: the C kernels (runtime_c/src/<name>_s8.c) its lowering may choose.
    batch_safe(graph, op): whether the op keeps axis 0 apart, so stacked samples run as one.
    """

    kind: str
    attrs: type
    validate: Callable
    run: Callable
    prepare: Callable = _no_params
    lower: Callable | None = None
    kernels: tuple[str, ...] = ()
    batch_safe: Callable = _always


@dataclass(frozen=True)
class Lowering:
    """What an op's lowering sees: the graph, the op, its prepared parameters, the deployment's
    MemoryOptions (models/deploy.py) and whether its output shares its input's buffer."""

    graph: object
    op: object
    params: object
    options: object
    in_place: bool = False

    def tensor(self, index: int = 0, output: bool = False):
        return self.graph.tensors[(self.op.outputs if output else self.op.inputs)[index]]

    def operand(self, name: str):
        """An input as a kernel argument: activations in the arena, constants (an add's position
        embedding) in the blob."""
        t = self.graph.tensors[name]
        return Arena(name) if t.data is None else const(t.data)


_REGISTRY: dict[str, OpDef] = {}
_SCRATCH: dict[str, Callable] = {}


def registry() -> dict[str, OpDef]:
    """kind -> OpDef for every op module of this package."""
    if not _REGISTRY:
        found = {}
        for module in pkgutil.iter_modules(__path__):
            loaded = importlib.import_module(f"{__name__}.{module.name}")
            for definition in getattr(loaded, "OPS", ()):
                found[definition.kind] = definition
            _SCRATCH.update(getattr(loaded, "SCRATCH", {}))
        _REGISTRY.update(sorted(found.items()))
    return _REGISTRY


def scratch_size(call) -> int:
    """The bytes of scratch memory (on the stack) that a kernel call takes; 0 for most kernels."""
    registry()
    size = _SCRATCH.get(call.kernel)
    return size(call) if size else 0


def scratch_kernels() -> set[str]:
    """The kernels that take scratch memory."""
    registry()
    return set(_SCRATCH)


def op_def(kind: str) -> OpDef | None:
    """The definition of `kind`, or None for a kind no module defines."""
    return registry().get(kind)

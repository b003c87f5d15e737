"""The twins contract shared by every kernel test: a C kernel equals its numpy reference bit for bit,
on the host build (both paths) and in the emulator (M4 plain and DSP, M7 DSP).

Each tests/kernels/test_<op>.py declares `TWINS`, one `Twin` per C kernel it covers: hypothesis
strategies of the reference's arguments, and `make`, which turns them into a `Case`: the kernel calls
as the deployment encodes them (models/blob.py), the inputs and the reference's output.
tests/kernels/test_twins.py runs them all, so a kernel's test module holds only what is its own: case
generation, worked examples, the TFLM oracle and refusals.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import settings
from hypothesis.strategies import SearchStrategy

from mcusim.models.blob import Call, dims
from mcusim.models.kernels import execute
from mcusim.toolchain import RUNTIME_C


@dataclass(frozen=True)
class Case:
    """Kernel calls (a Call or several), their inputs by harness name (input=, input2=, ...), and the
    reference's output, which the calls' output must equal once reshaped."""

    calls: object
    expected: np.ndarray
    inputs: dict = field(default_factory=dict)

    def run(self, kernels, accesses: list | None = None) -> np.ndarray:
        out = execute(kernels, self.calls, accesses, self.expected.dtype, **self.inputs)
        return out.reshape(self.expected.shape)


@dataclass(frozen=True)
class Twin:
    """kernel: the C kernel (runtime_c/src/<kernel>_s8.c). make(*drawn) -> Case. cases: tuples of
    arguments for make on the host build; emulated: smaller ones for the emulator (default: cases).
    in_place: the kernel writes its output over its input; the emulated run also checks that it reads
    no byte after writing it."""

    kernel: str
    make: Callable
    cases: SearchStrategy
    emulated: SearchStrategy | None = None
    in_place: bool = False

    def __post_init__(self):
        if self.emulated is None:
            object.__setattr__(self, "emulated", self.cases)

    def __str__(self) -> str:
        return self.kernel


def all_twins() -> list[Twin]:
    """The TWINS of every test module in this package, sorted by kernel."""
    package = importlib.import_module(__package__)
    found = []
    for module in pkgutil.iter_modules(package.__path__):
        if module.name.startswith("test_"):
            found += getattr(importlib.import_module(f"{__package__}.{module.name}"), "TWINS", [])
    return sorted(found, key=str)


def with_dims(call: Call, index: int, shape) -> Call:
    """`call` with other dims as its argument `index` (-2: the output's): what a corrupt blob would
    pass, for tests of a kernel's refusals."""
    args = list(call.args)
    args[index] = dims(shape)
    return dataclasses.replace(call, args=tuple(args))


def fuzzed_by_the_plugin(reference: Callable) -> Callable:
    """A test that fuzzes the kernel `reference` is named after (mcusim_<kernel>, in
    runtime_c/src/<kernel>.c) against it through mcusim's pytest plugin, as a user's suite would:
    plain and DSP path, on the plugin's boards, the hypothesis profile's number of examples.
    `reference` is the C signature annotated with mcusim.testing types."""
    source = RUNTIME_C / "src" / f"{reference.__name__.removeprefix('mcusim_')}.c"

    @pytest.mark.toolchain
    @pytest.mark.parametrize("dsp", [False, True], ids=["plain", "dsp"])
    def test(mcusim_fuzz, dsp):
        report = mcusim_fuzz([source], reference, dsp=dsp, examples=settings.default.max_examples)
        assert report.passed and report.examples == settings.default.max_examples

    return test

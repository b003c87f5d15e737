"""Every C kernel equals its numpy reference bit for bit (the TWINS of tests/kernels/test_*.py):
on the host build, plain and DSP paths, under the profile's examples; in the emulator on the M4
(plain, DSP) and the M7 (DSP) under a fifth of them. In-place kernels read no byte they wrote. A
kernel's scratch size (mcusim_<kernel>_s8_scratch_size) equals its Python twin's (models/ops), and the
emulated call's measured stack holds it.

And the kernel lists agree: the op registry's kernels, the executor's (mcusim_graph.h), the sources in
runtime_c/src and the kernels these tests cover are one set."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcusim.emulator import reads_after_writes
from mcusim.models.blob import KERNELS
from mcusim.models.blob import Call
from mcusim.models.kernels import SCRATCH_KERNELS, scratch_size
from mcusim.models.ops import registry, scratch_kernels
from mcusim.models.ops import scratch_size as planned_scratch
from mcusim.toolchain import RUNTIME_C

from .strategies import emulated
from .twins import all_twins

TWINS = all_twins()


@pytest.mark.parametrize("twin", TWINS, ids=str)
@given(data=st.data())
def test_host_equals_reference(host_kernels, twin, data):
    case = twin.make(*data.draw(twin.cases))
    np.testing.assert_array_equal(case.run(host_kernels), case.expected)
    for call in _calls(case):
        assert scratch_size(host_kernels, call) == planned_scratch(call)


@pytest.mark.toolchain
@pytest.mark.parametrize("twin", TWINS, ids=str)
@emulated()
@given(data=st.data())
def test_emulated_equals_reference(emulated_kernels, twin, data):
    case = twin.make(*data.draw(twin.emulated))
    accesses = [] if twin.in_place else None
    np.testing.assert_array_equal(case.run(emulated_kernels, accesses), case.expected)
    assert emulated_kernels.emulator.last_call.stack_peak >= planned_scratch(_calls(case)[-1])
    if twin.in_place:
        assert any(a.kind == "write" for a in accesses)
        assert reads_after_writes(accesses) == []


def _calls(case) -> tuple[Call, ...]:
    return (case.calls,) if isinstance(case.calls, Call) else tuple(case.calls)


def test_kernel_lists_agree():
    registered = {kernel for definition in registry().values() for kernel in definition.kernels}
    sources = {path.name.removesuffix("_s8.c") for path in (RUNTIME_C / "src").glob("*_s8.c")}
    tested = {twin.kernel for twin in TWINS}
    assert registered == set(KERNELS) == sources == tested
    assert set(SCRATCH_KERNELS) == scratch_kernels()

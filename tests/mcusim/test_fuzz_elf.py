"""Mutation fuzzing of firmware ELFs through `mcusim run` (issue 21; tests/fuzzing.py): bytes
anywhere, and the fields of the ELF and program headers set to edge values. Every outcome: the
firmware's own exit status or a one-line error (65: a bad ELF, 70: a fault), no traceback, bounded
time and memory."""
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzzing import INTERESTING_INTS, expect_clean, fuzz_settings, mutated_bytes, run_cli, write

pytestmark = pytest.mark.toolchain

RUN = ["--board", "stm32f746", "--max-instructions", "2000000"]


class Base(bytes):
    """The valid ELF the mutants start from (its repr short: hypothesis prints it with a failure)."""

    def __repr__(self):
        return f"<hello.c ELF, {len(self):,} bytes>"


@pytest.fixture(scope="module")
def base(firmware):
    return Base(firmware("hello.c").path.read_bytes())


def _header_fields(elf: bytes) -> list[tuple[int, int]]:
    """(offset, size) of every field of the ELF header and of each program header (ELF32)."""
    fields = [(o, s) for o, s in ((16, 2), (18, 2), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4), (40, 2), (42, 2),
                                  (44, 2), (46, 2), (48, 2), (50, 2))]
    phoff, phentsize, phnum = struct.unpack_from("<I", elf, 28)[0], *struct.unpack_from("<HH", elf, 42)
    for i in range(phnum):
        fields += [(phoff + i * phentsize + 4 * k, 4) for k in range(8)]
    return fields


@fuzz_settings()
@given(data=st.data())
def test_mutated_elfs(base, tmp_path_factory, data):
    if data.draw(st.booleans()):
        raw = data.draw(mutated_bytes(base))
    else:
        raw = bytearray(base)
        for _ in range(data.draw(st.integers(1, 3))):
            offset, size = data.draw(st.sampled_from(_header_fields(base)))
            value = data.draw(st.sampled_from(INTERESTING_INTS) | st.integers(0, 2**32 - 1))
            raw[offset:offset + size] = (value & (1 << 8 * size) - 1).to_bytes(size, "little")
        raw = bytes(raw)
    path = write(tmp_path_factory.getbasetemp(), "mutant.elf", raw)
    expect_clean(run_cli(["run", path, *RUN]), codes=tuple(range(256)))

"""Every fault kind ends in a one-line error naming the function and the address."""
import pytest

from mcusim.faults import FaultKind, FirmwareFault

pytestmark = pytest.mark.toolchain

UNMAPPED = 0x6000_0000


@pytest.mark.parametrize("function, args, kind, where, address", [
    ("read_unmapped", (), FaultKind.UNMAPPED_READ, "read_unmapped+0x", UNMAPPED),
    ("write_unmapped", (), FaultKind.UNMAPPED_WRITE, "write_unmapped+0x", UNMAPPED + 8),
    ("fetch_unmapped", (), FaultKind.UNMAPPED_FETCH, "fetch_unmapped+0x", UNMAPPED),
    ("write_flash", (), FaultKind.FLASH_WRITE, "write_flash+0x", "flash_word"),
    ("undefined_instruction", (), FaultKind.UNDEFINED_INSTRUCTION, "undefined_instruction", None),
    ("hardfault_bkpt", (), FaultKind.HARDFAULT, "hardfault_bkpt", None),
    ("recurse_forever", (0,), FaultKind.STACK_OVERFLOW, "recurse_forever+0x", "guard"),
    ("spin_forever", (), FaultKind.BUDGET_EXHAUSTED, "spin_forever", None),
])
@pytest.mark.parametrize("board", ["stm32f427", "stm32f746"])
def test_fault_kinds(emulator, board, function, args, kind, where, address):
    emu = emulator("faults.c", board, max_instructions=200_000)
    with pytest.raises(FirmwareFault) as info:
        emu.call(function, *args)
    fault = info.value.fault
    message = str(info.value)
    assert fault.kind == kind
    assert fault.symbol.startswith(where)
    assert where in message and "\n" not in message
    if address == "flash_word":
        assert fault.address == emu.elf.symbol("flash_word").address
    elif address == "guard":
        assert emu.layout.heap_limit <= fault.address < emu.layout.stack_limit
    else:
        assert fault.address == address
    if fault.address is not None:
        assert f"{fault.address:#010x}" in message


def test_hardfault_names_the_vector(emulator):
    with pytest.raises(FirmwareFault, match=r"HardFault \(BKPT .*\) taken through the vector table to Default_Handler"):
        emulator("faults.c").call("hardfault_bkpt")


def test_fetch_from_non_executable_ram(emulator):
    """The F427's CCM is data-only; code there faults with the region named."""
    emu = emulator("faults.c", "stm32f427")
    with pytest.raises(FirmwareFault, match="instruction fetch from non-executable CCMRAM at 0x10000000") as info:
        emu.call("fetch_from_data_ram", 0x1000_0000)
    assert info.value.fault.kind == FaultKind.PROTECTED_FETCH


def test_fault_names_the_last_marker(emulator):
    emu = emulator("faults.c", max_instructions=10_000)
    with pytest.raises(FirmwareFault, match=r"\[last marker: before-spin\]") as info:
        emu.call("marker_then_spin")
    assert info.value.fault.marker == "before-spin"
    assert info.value.result.markers[-1].name == "before-spin"


def test_semihosting_cannot_open_host_files(emulator):
    assert emulator("faults.c").call("semihosting_open") == -1

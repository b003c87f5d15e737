import pytest
from unicorn import arm_const

from mcusim.boards import BOARDS, KB, UnknownBoard, get_board


@pytest.mark.parametrize("board", BOARDS.values(), ids=list(BOARDS))
def test_regions_are_page_aligned_and_disjoint(board):
    regions = sorted(board.regions, key=lambda r: r.base)
    for r in regions:
        assert r.base % KB == 0 and r.size % KB == 0, r
    for a, b in zip(regions, regions[1:]):
        assert a.end <= b.base, f"{a.name} overlaps {b.name}"
    assert hasattr(arm_const, board.core.unicorn_model)


def test_datasheet_figures():
    f427, f746, h743 = (get_board(n) for n in ("stm32f427", "stm32f746", "stm32h743"))
    assert (f427.core.name, f427.clock_hz, f427.flash.size, f427.sram_total) == ("cortex-m4", 180_000_000, 1024 * KB, 256 * KB)
    assert (f746.core.name, f746.clock_hz, f746.flash.size, f746.ram.size) == ("cortex-m7", 216_000_000, 1024 * KB, 320 * KB)
    assert f746.ram.base == 0x2000_0000  # DTCM is the first 64 KB of it
    assert (h743.clock_hz, h743.flash.size, h743.ram.base, h743.ram.size) == (480_000_000, 2048 * KB, 0x2400_0000, 512 * KB)
    assert {r.name for r in h743.extra} >= {"DTCMRAM"}
    assert f427.region_of(0x1000_0000).name == "CCMRAM" and f746.region_of(0x1000_0000) is None


def test_boards_are_frozen():
    with pytest.raises(AttributeError):
        get_board("stm32f746").clock_hz = 1


def test_unknown_board_names_the_choices():
    with pytest.raises(UnknownBoard, match="stm32f427, stm32f746, stm32h743"):
        get_board("esp32")

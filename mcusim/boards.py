"""Boards as data: cores, clocks and memory maps of the emulated STM32 parts.

A board entry holds no behaviour. Addresses and sizes come from the reference manuals:
STM32F427 (RM0090 sec. 2.3, 3.3), STM32F746 (RM0385 sec. 2.2), STM32H743 (RM0433 sec. 2.3).
The linker places .data, .bss, heap and stack in ``ram``; the other RAM regions are mapped and
reachable through named sections (e.g. ``__attribute__((section(".ccmram")))``) but are not counted
in the board's SRAM budget unless the firmware uses them.
"""
from __future__ import annotations

from dataclasses import dataclass

KB = 1024


@dataclass(frozen=True)
class Region:
    """One contiguous memory region of a board's memory map.

    name: section-style name used in linker scripts and reports ("FLASH", "RAM", "CCMRAM", ...).
    base, size: bytes; both multiples of 1 KiB (Unicorn's page size for Cortex-M).
    kind: "flash" (read-only to firmware, holds code and constants) or "ram".
    executable: whether code may be fetched from it.
    """

    name: str
    base: int
    size: int
    kind: str
    executable: bool = False
    note: str = ""

    @property
    def end(self) -> int:
        return self.base + self.size

    def contains(self, address: int, length: int = 1) -> bool:
        return self.base <= address and address + length <= self.end


@dataclass(frozen=True)
class Cache:
    """A cache in front of the flash (an ST ART accelerator, a Cortex-M7 L1 cache): `size` bytes in
    lines of `line_bytes`, `ways`-way set associative (ways == size // line_bytes: fully
    associative), least recently used line replaced."""

    name: str
    size: int
    line_bytes: int
    ways: int

    @property
    def sets(self) -> int:
        return self.size // (self.line_bytes * self.ways)


@dataclass(frozen=True)
class Core:
    """A Cortex-M core as the compiler and Unicorn see it."""

    name: str          # "cortex-m4", "cortex-m7"
    unicorn_model: str  # name of the UC_CPU_ARM_* constant
    fpu: str           # -mfpu value
    dsp: bool = True   # has the DSP extension (SMLAD, SXTB16, SSAT, ...)


CORTEX_M4F = Core("cortex-m4", "UC_CPU_ARM_CORTEX_M4", "fpv4-sp-d16")
CORTEX_M7_SP = Core("cortex-m7", "UC_CPU_ARM_CORTEX_M7", "fpv5-sp-d16")  # STM32F7: single precision
CORTEX_M7_DP = Core("cortex-m7", "UC_CPU_ARM_CORTEX_M7", "fpv5-d16")     # STM32H7: double precision


@dataclass(frozen=True)
class Board:
    """An emulated board.

    flash: where code, constants and the .data image live.
    ram: the SRAM the linker fills with .data, .bss, heap and stack; its size is the board's SRAM
        budget for models.
    extra: further RAM regions (CCM, TCM, domain SRAMs), mapped and usable by named sections.
    """

    name: str
    part: str
    core: Core
    clock_hz: int
    flash: Region
    ram: Region
    extra: tuple[Region, ...] = ()
    flash_wait_states: int = 0  # CPU cycles a flash read stalls at clock_hz, from the reference manual
    flash_line_bytes: int = 16   # bytes one flash read returns
    icache: Cache | None = None  # what serves instruction fetches from flash, as vendor startup enables it
    dcache: Cache | None = None  # what serves data reads from flash
    flash_prefetch: bool = False  # the next sequential instruction line is read ahead (ST's ART)

    @property
    def regions(self) -> tuple[Region, ...]:
        return (self.flash, self.ram, *self.extra)

    @property
    def sram_total(self) -> int:
        return sum(r.size for r in self.regions if r.kind == "ram")

    def region_of(self, address: int, length: int = 1) -> Region | None:
        for region in self.regions:
            if region.contains(address, length):
                return region
        return None


BOARDS: dict[str, Board] = {
    board.name: board
    for board in (
        Board(
            "stm32f427", "STM32F427VI", CORTEX_M4F, 180_000_000,
            flash=Region("FLASH", 0x0800_0000, 1024 * KB, "flash", executable=True),
            ram=Region("RAM", 0x2000_0000, 192 * KB, "ram", executable=True,
                       note="SRAM1 112K + SRAM2 16K + SRAM3 64K, contiguous"),
            extra=(Region("CCMRAM", 0x1000_0000, 64 * KB, "ram",
                          note="core-coupled, data only (no DMA, no code)"),),
            flash_wait_states=5, flash_line_bytes=16,  # RM0090 table 12: 5 WS at 180 MHz, 2.7-3.6 V
            # RM0090 3.5.2, the ART accelerator: 64 lines of 128 bits for instructions, 8 for data
            icache=Cache("ART I-cache", 1 * KB, 16, 64), dcache=Cache("ART D-cache", 128, 16, 8),
            flash_prefetch=True,  # RM0090 3.5.2: the prefetch buffer reads the next sequential line
        ),
        Board(
            "stm32f746", "STM32F746NG", CORTEX_M7_SP, 216_000_000,
            flash=Region("FLASH", 0x0800_0000, 1024 * KB, "flash", executable=True,
                         note="AXIM interface"),
            ram=Region("RAM", 0x2000_0000, 320 * KB, "ram", executable=True,
                       note="DTCM 64K at 0x20000000 + SRAM1 240K + SRAM2 16K, contiguous"),
            extra=(Region("ITCMRAM", 0x0000_0000, 16 * KB, "ram", executable=True),),
            flash_wait_states=7, flash_line_bytes=32,  # RM0385: 7 WS at 216 MHz, 256-bit flash reads
            # RM0385 2.1.x: 4 KB L1 caches; Cortex-M7 TRM: I-cache 2-way, D-cache 4-way, 32-byte lines
            icache=Cache("L1 I-cache", 4 * KB, 32, 2), dcache=Cache("L1 D-cache", 4 * KB, 32, 4),
        ),
        Board(
            "stm32h743", "STM32H743ZI", CORTEX_M7_DP, 480_000_000,
            flash=Region("FLASH", 0x0800_0000, 2048 * KB, "flash", executable=True),
            ram=Region("RAM", 0x2400_0000, 512 * KB, "ram", executable=True, note="AXI SRAM (D1)"),
            extra=(
                Region("ITCMRAM", 0x0000_0000, 64 * KB, "ram", executable=True),
                Region("DTCMRAM", 0x2000_0000, 128 * KB, "ram"),
                Region("SRAM123", 0x3000_0000, 288 * KB, "ram", note="D2 SRAM1 128K + SRAM2 128K + SRAM3 32K"),
                Region("SRAM4", 0x3800_0000, 64 * KB, "ram", note="D3"),
            ),
            # 4 WS at a 240 MHz AXI clock (VOS0, AN5312) = 8 CPU cycles at 480 MHz; 256-bit flash words
            flash_wait_states=8, flash_line_bytes=32,
            # RM0433 2.1: 16 KB L1 caches, the M7's geometry
            icache=Cache("L1 I-cache", 16 * KB, 32, 2), dcache=Cache("L1 D-cache", 16 * KB, 32, 4),
        ),
    )
}


class UnknownBoard(KeyError):
    def __str__(self) -> str:
        return f"unknown board {self.args[0]!r}; known boards: {', '.join(BOARDS)}"


def get_board(name: str) -> Board:
    try:
        return BOARDS[name.lower()]
    except KeyError:
        raise UnknownBoard(name) from None

"""ELF images for the emulator: loadable segments, symbols and section sizes (pyelftools)."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError as _PyElfError
from elftools.elf.constants import P_FLAGS
from elftools.elf.elffile import ELFFile

from .boards import Board
from .errors import ElfError

EM_ARM = "EM_ARM"
SHF_ALLOC = 0x2
SHF_WRITE = 0x1
SHF_EXECINSTR = 0x4
STACK_SECTION = ".stack"  # reserved by mcusim's linker script; measured at run time, not static


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD segment: ``data`` is written at the physical (load) address ``paddr``."""

    paddr: int
    vaddr: int
    data: bytes
    memsz: int
    writable: bool


@dataclass(frozen=True)
class Symbol:
    name: str
    address: int  # Thumb bit cleared for functions
    size: int
    is_function: bool


@dataclass(frozen=True)
class SectionSizes:
    """Bytes by kind, as ``size -A`` would sum them. flash = text + rodata + data."""

    text: int
    rodata: int
    data: int
    bss: int

    @property
    def flash(self) -> int:
        return self.text + self.rodata + self.data

    @property
    def static_ram(self) -> int:
        return self.data + self.bss


class ElfImage:
    """A parsed ARM ELF executable. Raises ElfError with the file name for anything unusable."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            raw = self.path.read_bytes()
        except OSError as e:
            raise ElfError(f"{self.path}: cannot read: {e.strerror}") from None
        if raw[:4] != b"\x7fELF":
            raise ElfError(f"{self.path}: not an ELF file (no ELF magic)")
        try:
            self._parse(raw)
        except (_PyElfError, ValueError, KeyError, IndexError, AssertionError) as e:
            # pyelftools raises several types on truncated or corrupt headers.
            raise ElfError(f"{self.path}: truncated or corrupt ELF ({e})") from None

    def _parse(self, raw: bytes) -> None:
        import io

        elf = ELFFile(io.BytesIO(raw))
        if elf["e_machine"] != EM_ARM or elf.elfclass != 32 or not elf.little_endian:
            raise ElfError(
                f"{self.path}: not a 32-bit little-endian ARM ELF (machine {elf['e_machine']}); "
                "build it with `mcusim build` or arm-none-eabi-gcc"
            )
        self.entry = elf["e_entry"]
        segments = []
        for seg in elf.iter_segments():
            if seg["p_type"] != "PT_LOAD" or seg["p_memsz"] == 0:
                continue
            data = seg.data()
            if len(data) != seg["p_filesz"]:
                raise ElfError(f"{self.path}: truncated: segment at {seg['p_paddr']:#010x} is cut short")
            segments.append(Segment(seg["p_paddr"], seg["p_vaddr"], data, seg["p_memsz"],
                                    bool(seg["p_flags"] & P_FLAGS.PF_W)))
        if not segments:
            raise ElfError(f"{self.path}: no loadable segments")
        self.segments = tuple(segments)

        text = rodata = data = bss = 0
        symbols: list[Symbol] = []
        for sec in elf.iter_sections():
            flags = sec["sh_flags"]
            if sec["sh_type"] == "SHT_SYMTAB":
                for s in sec.iter_symbols():
                    kind = s["st_info"]["type"]
                    if s.name and kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE") and s["st_shndx"] != "SHN_UNDEF":
                        if kind == "STT_NOTYPE" and s.name.startswith("$"):
                            continue  # mapping symbols $t, $d, $a
                        is_fn = kind == "STT_FUNC"
                        addr = s["st_value"] & ~1 if is_fn else s["st_value"]
                        symbols.append(Symbol(s.name, addr, s["st_size"], is_fn))
            if not flags & SHF_ALLOC or sec["sh_size"] == 0 or sec.name == STACK_SECTION:
                continue
            size = sec["sh_size"]
            if sec["sh_type"] == "SHT_NOBITS":
                bss += size
            elif flags & SHF_EXECINSTR:
                text += size
            elif flags & SHF_WRITE:
                data += size
            else:
                rodata += size
        self.sizes = SectionSizes(text, rodata, data, bss)
        self._symbols = {s.name: s for s in symbols}
        # Address index for symbolization: functions first so they win ties over labels.
        ordered = sorted(symbols, key=lambda s: (s.address, not s.is_function))
        self._sym_addrs = [s.address for s in ordered]
        self._sym_sorted = ordered

    def check_fits(self, board: Board) -> None:
        """Every segment's load image and runtime extent must lie inside one region of the board."""
        for seg in self.segments:
            for addr, length, what in ((seg.paddr, len(seg.data), "load image"), (seg.vaddr, seg.memsz, "memory")):
                if length and board.region_of(addr, length) is None:
                    raise ElfError(
                        f"{self.path}: segment {what} {addr:#010x}..{addr + length:#010x} lies outside "
                        f"{board.name}'s memory map; rebuild it for {board.name} (mcusim build --board {board.name})"
                    )

    def symbol(self, name: str) -> Symbol:
        try:
            return self._symbols[name]
        except KeyError:
            raise ElfError(f"{self.path}: no symbol {name!r}") from None

    def has_symbol(self, name: str) -> bool:
        return name in self._symbols

    def symbolize(self, address: int) -> str:
        """``name+0xOFF`` of the symbol containing ``address`` (Thumb bit ignored), or the hex address."""
        address &= ~1
        i = bisect.bisect_right(self._sym_addrs, address) - 1
        while i >= 0:
            s = self._sym_sorted[i]
            if s.size == 0 or address < s.address + s.size:
                off = address - s.address
                return f"{s.name}+{off:#x}" if off else s.name
            i -= 1
        return f"{address:#010x}"

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
    is_weak: bool = False


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


@dataclass(frozen=True)
class _Section:
    address: int
    size: int
    nobits: bool
    executable: bool


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

        symbols: list[Symbol] = []
        sections: list[_Section] = []
        for sec in elf.iter_sections():
            if sec["sh_type"] == "SHT_SYMTAB":
                for s in sec.iter_symbols():
                    kind = s["st_info"]["type"]
                    if s.name and kind in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE") and s["st_shndx"] != "SHN_UNDEF":
                        if kind == "STT_NOTYPE" and s.name.startswith("$"):
                            continue  # mapping symbols $t, $d, $a
                        is_fn = kind == "STT_FUNC"
                        addr = s["st_value"] & ~1 if is_fn else s["st_value"]
                        weak = s["st_info"]["bind"] == "STB_WEAK"
                        symbols.append(Symbol(s.name, addr, s["st_size"], is_fn, weak))
            flags = sec["sh_flags"]
            if flags & SHF_ALLOC and sec["sh_size"] and sec.name != STACK_SECTION:
                sections.append(_Section(sec["sh_addr"], sec["sh_size"], sec["sh_type"] == "SHT_NOBITS",
                                         bool(flags & SHF_EXECINSTR)))
        self._sections = tuple(sections)
        self._symbols = {s.name: s for s in symbols}
        # Address index for symbolization. At one address the last entry wins a lookup, so sort the
        # preferred names last: functions over data and labels, strong definitions over weak aliases.
        ordered = sorted(symbols, key=lambda s: (s.address, s.is_function, not s.is_weak))
        self._sym_addrs = [s.address for s in ordered]
        self._sym_sorted = ordered

    def sizes(self, board: Board) -> SectionSizes:
        """Allocated bytes by kind. In flash: code is text, everything else rodata (constants, the
        vector table, init arrays); in RAM: initialized sections are data, zero-filled ones bss."""
        text = rodata = data = bss = 0
        for sec in self._sections:
            if sec.nobits:
                bss += sec.size
            elif board.flash.contains(sec.address):
                if sec.executable:
                    text += sec.size
                else:
                    rodata += sec.size
            else:
                data += sec.size
        return SectionSizes(text, rodata, data, bss)

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

    def symbolize(self, address: int) -> tuple[str | None, int]:
        """``(name, offset)`` of the symbol containing ``address`` (Thumb bit ignored); ``(None,
        address)`` with the Thumb bit cleared when no symbol covers it. Text: format_symbol."""
        address &= ~1
        i = bisect.bisect_right(self._sym_addrs, address) - 1
        # Walk down over symbols that start at or below the address; the first that covers it wins.
        # A sizeless function (hand-written assembly, as in newlib) runs to the next symbol; other
        # sizeless symbols (linker labels) only name their exact address.
        while i >= 0 and address - self._sym_addrs[i] < 1 << 20:
            s = self._sym_sorted[i]
            if address < s.address + s.size or address == s.address or (s.is_function and not s.size):
                return s.name, address - s.address
            i -= 1
        return None, address


def format_symbol(name: str | None, offset: int) -> str:
    """An answer of ElfImage.symbolize as text: ``name+0xOFF``, ``name`` at offset 0, or the address
    in hex (``0x60000000``) when no symbol covers it."""
    if name is None:
        return f"{offset:#010x}"
    return f"{name}+{offset:#x}" if offset else name

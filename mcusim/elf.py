"""ELF images for the emulator: loadable segments, symbols and section sizes.

The file is hostile until proven otherwise: it is read bounded (mcusim.files.read_bytes: a regular
file only), and every header, table and name is checked against the file before it is used, so that
anything unusable is one ElfError naming the file (exit 65).
"""
from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass
from pathlib import Path

from .boards import Board
from .errors import ElfError
from .files import read_bytes

# ELF32 little-endian (System V ABI and its ARM supplement): the structures read, and their fields.
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")  # ident type machine version entry phoff shoff flags ehsize
#                                              phentsize phnum shentsize shnum shstrndx
_PHDR = struct.Struct("<8I")     # type offset vaddr paddr filesz memsz flags align
_SHDR = struct.Struct("<10I")    # name type flags addr offset size link info addralign entsize
_SYM = struct.Struct("<IIIBBH")  # name value size info other shndx
EM_ARM = 40
PT_LOAD, PF_W = 1, 0x2
SHT_SYMTAB, SHT_NOBITS = 2, 8
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
STT_NOTYPE, STT_OBJECT, STT_FUNC = 0, 1, 2
STB_WEAK, SHN_UNDEF = 2, 0
STACK_SECTION = ".stack"  # reserved by mcusim's linker script; measured at run time, not static
# Far above any firmware (a few segments, dozens of sections, thousands of symbols).
MAX_SEGMENTS, MAX_SECTIONS, MAX_SYMBOLS, MAX_NAME = 256, 4096, 1 << 18, 4096


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


def _table(raw: bytes, offset: int, count: int, entry: struct.Struct, what: str) -> list[tuple]:
    """`count` entries of `entry` at `offset`; ValueError unless they lie inside the file."""
    if offset + count * entry.size > len(raw):
        raise ValueError(f"its {what} ({count} at offset {offset:#x}) run past the end of the file")
    return [entry.unpack_from(raw, offset + i * entry.size) for i in range(count)]


def _contents(raw: bytes, header: tuple) -> bytes:
    """The bytes of the section of `header` (checked to lie in the file)."""
    offset, size = header[4], header[5]
    return raw[offset:offset + size]


def _string(table: bytes, offset: int, what: str) -> str:
    """The NUL-terminated name at `offset` of a string table: printable UTF-8 of MAX_NAME bytes at
    most, else ValueError."""
    end = table.find(b"\0", offset, offset + MAX_NAME + 1)
    if offset >= len(table) or end < 0:
        raise ValueError(f"a {what} name at offset {offset:#x} is outside its string table or too long")
    try:
        name = table[offset:end].decode()
    except UnicodeDecodeError:
        raise ValueError(f"a {what} name at offset {offset:#x} is not UTF-8") from None
    if not name.isprintable():
        raise ValueError(f"{what} name {name!r} has control characters")
    return name


class ElfImage:
    """A parsed ARM ELF executable. Raises ElfError with the file name for anything unusable."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        raw = read_bytes(self.path, ElfError, "ELF file")
        if raw[:4] != b"\x7fELF":
            raise ElfError(f"{self.path}: not an ELF file (no ELF magic)")
        try:
            self._parse(raw)
        except ValueError as e:
            raise ElfError(f"{self.path}: truncated or corrupt ELF ({e})") from None

    def _parse(self, raw: bytes) -> None:
        if len(raw) < _EHDR.size:
            raise ValueError("the ELF header is cut short")
        (ident, _, machine, _, self.entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
         shstrndx) = _EHDR.unpack_from(raw)
        if machine != EM_ARM or ident[4:6] != b"\x01\x01":  # ELFCLASS32, ELFDATA2LSB
            raise ElfError(f"{self.path}: not a 32-bit little-endian ARM ELF (machine {machine}); "
                           "build it with `mcusim build` or arm-none-eabi-gcc")
        if phnum > MAX_SEGMENTS or shnum > MAX_SECTIONS:
            raise ValueError(f"{phnum} program headers and {shnum} sections: more than {MAX_SEGMENTS} or "
                             f"{MAX_SECTIONS} are refused")
        if (phnum and phentsize != _PHDR.size) or (shnum and shentsize != _SHDR.size):
            raise ValueError(f"header entries of {phentsize} and {shentsize} bytes, not {_PHDR.size} and {_SHDR.size}")
        self.segments = self._segments(raw, _table(raw, phoff, phnum, _PHDR, "program headers"))
        headers = _table(raw, shoff, shnum, _SHDR, "section headers")
        for _, kind, _, _, offset, size, *_ in headers:
            if kind != SHT_NOBITS and offset + size > len(raw):
                raise ValueError(f"a section ({size} bytes at offset {offset:#x}) runs past the end of the file")
        if shnum and shstrndx >= shnum:
            raise ValueError(f"section name table {shstrndx} of {shnum} sections")
        names = _contents(raw, headers[shstrndx]) if shnum else b""
        self._sections = tuple(_Section(addr, size, kind == SHT_NOBITS, bool(flags & SHF_EXECINSTR))
                               for name, kind, flags, addr, _, size, *_ in headers
                               if flags & SHF_ALLOC and size and _string(names, name, "section") != STACK_SECTION)
        symbols = [sym for h in headers if h[1] == SHT_SYMTAB for sym in self._symbols(raw, h, headers)]
        self._by_name = {s.name: s for s in symbols}
        # Address index for symbolization. At one address the last entry wins a lookup, so sort the
        # preferred names last: functions over data and labels, strong definitions over weak aliases.
        ordered = sorted(symbols, key=lambda s: (s.address, s.is_function, not s.is_weak))
        self._sym_addrs = [s.address for s in ordered]
        self._sym_sorted = ordered

    def _segments(self, raw: bytes, headers: list[tuple]) -> tuple[Segment, ...]:
        """The PT_LOAD segments. None may overlap another, in its load image or in memory."""
        segments = []
        for kind, offset, vaddr, paddr, filesz, memsz, flags, _ in headers:
            if kind != PT_LOAD or memsz == 0:
                continue
            if filesz > memsz:
                raise ValueError(f"the segment at {paddr:#010x} has {filesz} bytes in the file, {memsz} in memory")
            if offset + filesz > len(raw):
                raise ElfError(f"{self.path}: truncated: segment at {paddr:#010x} is cut short")
            segments.append(Segment(paddr, vaddr, raw[offset:offset + filesz], memsz, bool(flags & PF_W)))
        if not segments:
            raise ElfError(f"{self.path}: no loadable segments")
        for what, extents in (("load images", [(s.paddr, len(s.data)) for s in segments]),
                              ("memory", [(s.vaddr, s.memsz) for s in segments])):
            spans = sorted((start, start + size) for start, size in extents if size)
            for (a, a_end), (b, b_end) in zip(spans, spans[1:]):
                if b < a_end:
                    raise ElfError(f"{self.path}: segments overlap in {what}: {a:#010x}..{a_end:#010x} and "
                                   f"{b:#010x}..{b_end:#010x}")
        return tuple(segments)

    @staticmethod
    def _symbols(raw: bytes, symtab: tuple, headers: list[tuple]) -> list[Symbol]:
        """The functions, objects and labels a symbol table defines (mapping symbols $t, $d, $a left
        out)."""
        _, _, _, _, offset, size, link, _, _, entsize = symtab
        if entsize != _SYM.size or link >= len(headers) or size // _SYM.size > MAX_SYMBOLS:
            raise ValueError(f"a symbol table of {size} bytes in entries of {entsize}, names in section {link}")
        strings = _contents(raw, headers[link])
        symbols = []
        for name, value, sym_size, info, _, shndx in _table(raw, offset, size // _SYM.size, _SYM, "symbols"):
            kind, weak = info & 0xF, info >> 4 == STB_WEAK
            if not name or kind not in (STT_FUNC, STT_OBJECT, STT_NOTYPE) or shndx == SHN_UNDEF:
                continue
            text = _string(strings, name, "symbol")
            if kind == STT_NOTYPE and text.startswith("$"):
                continue
            symbols.append(Symbol(text, value & ~1 if kind == STT_FUNC else value, sym_size, kind == STT_FUNC, weak))
        return symbols

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
        """Every segment's load image and runtime extent must lie inside one region of the board, the
        entry point be Thumb code in its executable memory."""
        region = board.region_of(self.entry & ~1)
        if not self.entry & 1 or region is None or not region.executable:
            raise ElfError(f"{self.path}: entry point {self.entry:#010x} is not Thumb code in {board.name}'s "
                           "executable memory (Cortex-M runs Thumb only: bit 0 must be set)")
        for seg in self.segments:
            for addr, length, what in ((seg.paddr, len(seg.data), "load image"), (seg.vaddr, seg.memsz, "memory")):
                if length and board.region_of(addr, length) is None:
                    raise ElfError(
                        f"{self.path}: segment {what} {addr:#010x}..{addr + length:#010x} lies outside "
                        f"{board.name}'s memory map; rebuild it for {board.name} (mcusim build --board {board.name})"
                    )

    def symbol(self, name: str) -> Symbol:
        try:
            return self._by_name[name]
        except KeyError:
            raise ElfError(f"{self.path}: no symbol {name!r}") from None

    def has_symbol(self, name: str) -> bool:
        return name in self._by_name

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

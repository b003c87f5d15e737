"""Files in and out, safely. Inputs: regular files only (a FIFO or a device is refused, never read),
their size bounded before a byte is read, .npz members' declared sizes bounded before inflating,
never unpickled. Outputs: never over an input, never into a non-empty folder without --force,
written atomically (a temporary file in the same folder, renamed over the target). Every refusal is
one line a person can act on (a McusimError of the caller's class).

    raw = read_bytes(path, ElfError, "ELF file")                 # bounded, regular files only
    arrays = read_npz(path, GraphError, "mcusim graph file")     # bounded before inflating
    out = output_file(args.output, "-o", inputs=[args.source])   # checked before any work is done
    write_bytes_atomic(out, data)
"""
from __future__ import annotations

import io
import math
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

import numpy as np

from .errors import McusimError, UsageError

# The largest input file read (ELF, graph, .tflite, arrays, checkpoint), and the most an .npz may
# inflate to. Far above anything that fits the largest board (2 MB of flash, 1 MB of SRAM), low
# enough that a hostile file cannot exhaust the host's memory.
MAX_INPUT_BYTES = 256 << 20


def regular_file(path: str | Path, error: type[McusimError], what: str) -> os.stat_result:
    """The stat of `path`, which must be an existing regular file (following links); otherwise
    `error` naming the path: missing, a folder, or a FIFO / device / socket (reading one could block
    forever or never end)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path}: not a regular file (a FIFO, device or socket); give a file")
    return st


def read_bytes(path: str | Path, error: type[McusimError], what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file `path`, at most `limit` of them (a larger file is `error`)."""
    size = regular_file(path, error, what).st_size
    if size > limit:
        raise error(f"{path}: {size:,} bytes; the limit for a {what} is {limit:,} bytes")
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)  # a file that grew since stat is still bounded
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror or e}") from None
    if len(raw) > limit:
        raise error(f"{path}: more than {limit:,} bytes, the limit for a {what}")
    return raw


def _check_npy(stream: IO[bytes], size: int, error: type[McusimError], where: str) -> None:
    """Refuse the .npy image in `stream` (`size` bytes) unless its header declares exactly the data
    bytes that follow it, of a dtype without objects: numpy allocates the declared shape before it
    reads a byte, so a 100-byte file may not declare a terabyte. Raises `error` naming `where`;
    ValueError for a header numpy cannot parse."""
    version = np.lib.format.read_magic(stream)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise error(f"{where}: holds Python objects; only plain arrays are read")
    declared, held = math.prod(shape) * dtype.itemsize, size - stream.tell()
    if declared != held:
        raise error(f"{where}: declares {dtype}{list(shape)} ({declared:,} bytes) but holds {held:,} bytes")


def read_npz(path: str | Path, error: type[McusimError], what: str, limit: int = MAX_INPUT_BYTES) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path` (allow_pickle=False). A missing, irregular or oversized file,
    members that declare more than `limit` bytes in all, or one that is not a readable `what`, raises
    `error` naming the path."""
    raw = read_bytes(path, error, what, limit)
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            declared = sum(info.file_size for info in z.infolist())
            if declared > limit:  # zipfile stops each member at its declared size: this bounds inflation
                raise error(f"{path}: its arrays inflate to {declared:,} bytes; more than {limit:,} is refused")
            for info in z.infolist():
                with z.open(info) as member:
                    _check_npy(member, info.file_size, error, f"{path}: array {info.filename!r}")
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, OSError, ValueError, EOFError,
            NotImplementedError, RuntimeError, KeyError) as e:  # what a corrupt archive or member raises
        raise error(f"{path}: not a readable {what} ({type(e).__name__}: {e})") from None


def read_array_file(path: str | Path, error: type[McusimError], limit: int = MAX_INPUT_BYTES) -> list[np.ndarray]:
    """The arrays of a .npy file (one) or an .npz file (each of its members, in order), bounded and
    never unpickled."""
    raw = read_bytes(path, error, ".npy/.npz array file", limit)
    if raw[:4] == b"PK\x03\x04" or raw[:4] == b"PK\x05\x06":
        return list(read_npz(path, error, ".npy/.npz array file", limit).values())
    try:
        _check_npy(io.BytesIO(raw), len(raw), error, str(path))
        return [np.load(io.BytesIO(raw), allow_pickle=False)]
    except (ValueError, OSError, EOFError) as e:
        raise error(f"{path}: not a readable .npy/.npz array file ({e})") from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _writable_folder(folder: Path, flag: str, path: Path) -> None:
    if not folder.exists():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable")


def output_file(path: str | Path, flag: str, inputs: tuple | list = ()) -> Path:
    """Check, before any work, that a file can be written at `path` (given as `flag`): not a folder,
    not one of `inputs` (the same file under any name), its folder existing and writable. Returns the
    path; write it with write_bytes_atomic / atomic_writer."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder; give a file name")
    for source in inputs:
        if source is not None and (_same_file(path, Path(source)) or path.resolve() == Path(source).resolve()):
            raise UsageError(f"{flag} {path}: is the input {source}; give another output name")
    _writable_folder(path.parent, flag, path)
    return path


def output_folder(path: str | Path, flag: str, force: bool = False, inputs: tuple | list = ()) -> Path:
    """Check, before any work, that `path` (given as `flag`) can receive a command's files: absent
    (it is created, with any missing folders above it) or an empty folder, or with `force` a folder
    whose files may be replaced. A folder holding one of `inputs` is refused even with `force`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path}: is a file, not a folder")
    if path.is_dir():
        for source in inputs:
            if source is not None and Path(source).resolve().is_relative_to(path.resolve()):
                raise UsageError(f"{flag} {path}: holds the input {source}; give another output folder")
        if any(path.iterdir()) and not force:
            raise UsageError(f"{flag} {path}: the folder is not empty; use --force to replace its files")
        if not os.access(path, os.W_OK | os.X_OK):
            raise UsageError(f"{flag} {path}: the folder is not writable")
        return path
    parent = path.parent
    while not parent.exists():  # missing folders above it are created: the nearest existing one must be writable
        parent = parent.parent
    _writable_folder(parent, flag, path)
    try:
        path.mkdir(parents=True)
    except OSError as e:
        raise UsageError(f"{flag} {path}: cannot create the folder: {e.strerror or e}") from None
    return path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path in `path`'s folder that replaces `path` when the block ends without an
    exception (os.replace): for writers that take a path (Graph.save, write_trace). A reader never
    sees a partial file, and a failure leaves the old file as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp's 0o600 would hide results from the user's group
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def atomic_writer(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """A file object whose contents replace `path` only when the block ends without an exception
    (atomic_path)."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    with atomic_writer(path, "wb") as f:
        f.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    with atomic_writer(path, "w") as f:
        f.write(text)


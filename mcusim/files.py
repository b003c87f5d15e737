"""Reading data files safely: never unpickling, and any unreadable file is one line a person can act on."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from .errors import McusimError


def read_npz(path: str | Path, error: type[McusimError], what: str) -> dict[str, np.ndarray]:
    """Every array of the .npz at `path` (allow_pickle=False). A missing file, or one that is not a
    readable `what`, raises `error` naming the path."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise error(f"{path}: not a readable {what} ({e})") from None

"""Image datasets that work offline: scikit-learn's digits, Debian's Fashion-MNIST, the user's arrays.

    x, y = load("fashion-mnist", "test")   # uint8 [10000, 28, 28, 1], int64 [10000]
    x, y = load("digits", "train")         # uint8 [1438, 8, 8, 1] (0..16 scaled to 0..255)
    x, y = load("npz:mine.npz", "train")   # the file's x_train / y_train (or x / y for every split)
    xf = normalize(resize(x, 16))          # float32 NHWC, what the models take

Images are NHWC uint8 throughout; labels int64. Anything missing or malformed is a DatasetError that
says which file and what to do.
"""
from __future__ import annotations

import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from mcusim.errors import EX_DATAERR, McusimError, MissingExtra
from mcusim.files import MAX_INPUT_BYTES, read_bytes, read_npz

# Debian's dataset-fashion-mnist (installed by `make test`); MCUSIM_FASHION_MNIST points elsewhere.
FASHION_MNIST = Path(os.environ.get("MCUSIM_FASHION_MNIST", "/usr/share/datasets/fashion-mnist"))
FASHION_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                 "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CLASSES = {
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
    "digits": tuple(str(d) for d in range(10)),
}
DIGITS_TEST_FRACTION = 0.2
SPLITS = ("train", "test")


class DatasetError(McusimError):
    exit_code = EX_DATAERR


def load(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 [N, H, W, C], labels int64 [N]) of `split` ("train" or "test")."""
    if split not in SPLITS:
        raise DatasetError(f"split {split!r}: use one of {', '.join(SPLITS)}")
    if name == "fashion-mnist":
        return _fashion_mnist(split)
    if name == "digits":
        return _digits(split)
    if name.startswith("npz:"):
        return _npz(Path(name[4:]), split)
    raise DatasetError(f"dataset {name!r}: use fashion-mnist, digits or npz:PATH")


def _read_idx(path: Path, rank: int) -> np.ndarray:
    """An IDX file (gzipped) of unsigned bytes: magic 0x0000 08 <rank>, then rank big-endian sizes.
    A regular file, read bounded, and inflated to at most MAX_INPUT_BYTES."""
    if not path.exists():
        raise DatasetError(f"{path}: missing; install Debian's dataset-fashion-mnist (`make test` does) or set "
                           "MCUSIM_FASHION_MNIST to its folder")
    inflate = zlib.decompressobj(wbits=31)  # gzip
    try:
        raw = inflate.decompress(read_bytes(path, DatasetError, "gzip file"), MAX_INPUT_BYTES + 1)
    except zlib.error as e:
        raise DatasetError(f"{path}: not a readable gzip file ({e})") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise DatasetError(f"{path}: inflates to more than {MAX_INPUT_BYTES:,} bytes")
    if not inflate.eof:
        raise DatasetError(f"{path}: not a readable gzip file (truncated)")
    header = 4 + 4 * rank
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != 0x0800 | rank:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes with {rank} dimensions")
    shape = struct.unpack(f">{rank}I", raw[4:header])
    if len(raw) - header != math.prod(shape):
        raise DatasetError(f"{path}: {len(raw) - header} bytes of data for shape {shape}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _fashion_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = (FASHION_MNIST / f for f in FASHION_FILES[split])
    x = _read_idx(images, 3)[..., None]
    y = _read_idx(labels, 1).astype(np.int64)
    if len(x) != len(y):
        raise DatasetError(f"{images}: {len(x)} images but {len(y)} labels in {labels}")
    return x, y


def _digits(split: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1797 8x8 digits (values 0..16), split 80/20 by a fixed permutation."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingExtra("sklearn") from None
    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    cut = int(round(len(order) * (1 - DIGITS_TEST_FRACTION)))
    index = order[:cut] if split == "train" else order[cut:]
    x = np.round(digits.images[index] * (255 / 16)).astype(np.uint8)[..., None]
    return x, digits.target[index].astype(np.int64)


def _npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """x_<split> / y_<split>, or x / y for both splits; images [N, H, W] or [N, H, W, C] uint8."""
    arrays = read_npz(path, DatasetError, ".npz")
    keys = (f"x_{split}", f"y_{split}") if f"x_{split}" in arrays else ("x", "y")
    if not all(k in arrays for k in keys):
        raise DatasetError(f"{path}: needs arrays x_{split} and y_{split} (or x and y); it has {sorted(arrays)}")
    x, y = (arrays[k] for k in keys)
    if x.dtype != np.uint8 or x.ndim not in (3, 4) or not all(x.shape) or y.ndim != 1 or len(x) != len(y) or \
            not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: {keys[0]} must be uint8 [N, H, W(, C)] and {keys[1]} integer [N], none "
                           f"empty (got {x.dtype}{list(x.shape)} and {y.dtype}{list(y.shape)})")
    return (x[..., None] if x.ndim == 3 else x), y.astype(np.int64)


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of NHWC images to size x size, sampling at pixel centres (torch's
    interpolate with align_corners=False, no antialiasing); returns float32 in the input's units."""
    n, h, w, c = x.shape
    if (h, w) == (size, size):
        return x.astype(np.float32)

    def axis(src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.clip((np.arange(size) + 0.5) * (src / size) - 0.5, 0, src - 1)
        lo = np.floor(pos).astype(np.int64)
        return lo, np.minimum(lo + 1, src - 1), (pos - lo).astype(np.float32)

    (y0, y1, fy), (x0, x1, fx) = axis(h), axis(w)
    xf = x.astype(np.float32)
    rows = xf[:, y0] * (1 - fy)[None, :, None, None] + xf[:, y1] * fy[None, :, None, None]
    return rows[:, :, x0] * (1 - fx)[None, None, :, None] + rows[:, :, x1] * fx[None, None, :, None]


def normalize(x: np.ndarray, mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    """Pixel values 0..255 to float32 (x / 255 - mean) / std: [-1, 1] by default, as MCUFormer."""
    return ((x.astype(np.float32) / 255.0 - mean) / std).astype(np.float32)

"""Offline datasets: Fashion-MNIST from Debian's package, scikit-learn's digits, the user's .npz; their
errors; the resize and normalize transforms."""
import gzip

import numpy as np
import pytest

from mcusim.models import datasets
from mcusim.models.datasets import DatasetError, load, normalize, resize


@pytest.mark.fashion_mnist
@pytest.mark.parametrize("split, count", [("train", 60000), ("test", 10000)])
def test_fashion_mnist(split, count):
    x, y = load("fashion-mnist", split)
    assert x.shape == (count, 28, 28, 1) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), [count // 10] * 10)  # balanced, labels 0..9
    assert x.max() == 255 and x.min() == 0


def test_fashion_mnist_missing_names_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "FASHION_MNIST", tmp_path)
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte.gz: missing; install Debian's dataset-fashion"):
        load("fashion-mnist", "test")


@pytest.mark.parametrize("content, message", [
    (b"not gzip at all", "not a readable gzip file"),
    (gzip.compress(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" * 3 + b"\x01" * 7), "7 bytes of data for shape"),
    (gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05"), "not an IDX file of unsigned bytes with 3"),
])
def test_corrupt_idx_files(tmp_path, monkeypatch, content, message):
    monkeypatch.setattr(datasets, "FASHION_MNIST", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        load("fashion-mnist", "test")


def test_digits_split_is_fixed_and_complete():
    (xa, ya), (xb, yb) = load("digits", "train"), load("digits", "test")
    assert (len(xa), len(xb)) == (1438, 359) and xa.shape[1:] == (8, 8, 1) and xa.max() == 255
    np.testing.assert_array_equal(load("digits", "train")[1], ya)
    assert set(ya) == set(yb) == set(range(10))


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (5, 6, 6), dtype=np.uint8), np.arange(5)
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    xs, ys = load(f"npz:{tmp_path / 'a.npz'}", "train")
    assert xs.shape == (5, 6, 6, 1) and list(ys) == list(range(5))
    assert len(load(f"npz:{tmp_path / 'a.npz'}", "test")[0]) == 2
    np.savez(tmp_path / "b.npz", x=x, y=y)  # one set for both splits
    assert len(load(f"npz:{tmp_path / 'b.npz'}", "test")[0]) == 5


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((2, 4, 4), np.float32), "y": np.zeros(2, np.int64)}, r"x must be uint8 \[N, H, W\(, C\)\]"),
    ({"images": np.zeros((2, 4, 4), np.uint8)}, r"needs arrays x_train and y_train \(or x and y\); it has \['images'\]"),
    ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.zeros(3, np.int64)}, "and y integer"),
])
def test_npz_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=message):
        load(f"npz:{tmp_path / 'bad.npz'}", "train")


@pytest.mark.parametrize("name, split, message", [
    ("cifar", "train", "use fashion-mnist, digits or npz:PATH"),
    ("digits", "val", "split 'val': use one of train, test"),
    ("npz:/nonexistent.npz", "train", "no such file"),
])
def test_bad_names(name, split, message):
    with pytest.raises(DatasetError, match=message):
        load(name, split)


def test_resize_samples_pixel_centres():
    """2 -> 4 pixels: centres at -0.25, 0.25, 0.75, 1.25 of the source, clamped to its edges."""
    x = np.array([0, 255], np.uint8).reshape(1, 1, 2, 1).repeat(2, axis=1)
    np.testing.assert_allclose(resize(x, 4)[0, 0, :, 0], [0, 63.75, 191.25, 255])
    np.testing.assert_array_equal(resize(x, 2), x.astype(np.float32))


def test_normalize_maps_to_minus_one_one():
    np.testing.assert_allclose(normalize(np.array([0, 255], np.uint8)), [-1, 1])

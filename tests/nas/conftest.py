"""Tiny supernets of each search space on scikit-learn's digits (seconds to train), shared by the
search tests; their accuracy is beside the point, their shapes and files are real."""
import pytest

from mcusim.models.train import TrainOptions
from mcusim.nas.spaces import MCUFormerSpace, MCUNetV2Space, TinyFormerSpace
from mcusim.nas.supernet import train_supernet

TINY = MCUFormerSpace(image_size=8, patch=2, rank_ratio=0.5, dims=(16, 32), depths=(1, 2), mlp_ratios=(1.0, 2.0),
                      head_counts=(1, 2), qkv_dims=(16, 32))
VALIDATION = 200


@pytest.fixture(scope="session")
def tiny_supernet(tmp_path_factory):
    return _supernet(tmp_path_factory, TINY, "tiny")

# TinyFormer (two DoTs, a transformer at 2 x 2 tokens, SparseNAS's sparsity genes) and MCUNetV2
# (three stages, resolution and schedule genes) at the scale of 8 x 8 digits.
TINY_TF = TinyFormerSpace(mbconvs=(1, 1), transformers=(False, True), stems=(4, 8), widths=((8, 12), (12, 16)),
                          expansions=(2, 3), token_dims=(8, 16), head_counts=(1, 2), encoder_depths=(1, 2),
                          sparsities=(0.0, 0.5), block_sizes=(2, 4), image_size=8)
TINY_V2 = MCUNetV2Space(resolutions=(6, 8), stems=(4, 8), strides=(1, 2, 1), blocks=(1, 1, 1),
                        widths=((8,), (8, 12), (12, 16)), expansions=(2, 3), patch_counts=(1, 2), patch_blocks=(1, 2),
                        image_size=8)


def _supernet(tmp_path_factory, space, name):
    path = tmp_path_factory.mktemp("supernet") / f"{name}.npz"
    train_supernet(space, "digits", path, TrainOptions(epochs=1, batch_size=64), validation=VALIDATION,
                   progress=False)
    return path


@pytest.fixture(scope="session")
def tinyformer_supernet(tmp_path_factory):
    return _supernet(tmp_path_factory, TINY_TF, "tinyformer")


@pytest.fixture(scope="session")
def mcunetv2_supernet(tmp_path_factory):
    return _supernet(tmp_path_factory, TINY_V2, "mcunetv2")

"""A tiny supernet of the MCUFormer space on scikit-learn's digits (seconds to train), shared by the
search tests; its accuracy is beside the point, its shapes and files are real."""
import pytest

from mcusim.models.train import TrainOptions
from mcusim.nas.spaces import MCUFormerSpace
from mcusim.nas.supernet import train_supernet

TINY = MCUFormerSpace(image_size=8, patch=2, rank_ratio=0.5, dims=(16, 32), depths=(1, 2), mlp_ratios=(1.0, 2.0),
                      head_counts=(1, 2), qkv_dims=(16, 32))
VALIDATION = 200


@pytest.fixture(scope="session")
def tiny_supernet(tmp_path_factory):
    path = tmp_path_factory.mktemp("supernet") / "tiny.npz"
    train_supernet(TINY, "digits", path, TrainOptions(epochs=1, batch_size=64), validation=VALIDATION,
                   progress=False)
    return path

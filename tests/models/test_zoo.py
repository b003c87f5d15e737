"""The registry of named configs."""
import pytest

from mcusim.errors import UsageError
from mcusim.models import zoo


def test_families_are_registered():
    assert {zoo.get(n).config.family for n in zoo.names()} == {"vit", "tinyformer", "cnn"}


def test_unknown_model_lists_the_registered_ones():
    with pytest.raises(UsageError, match="unknown model 'vit-huge'; registered: vit-fmnist"):
        zoo.get("vit-huge")


@pytest.mark.parametrize("make", [
    lambda: zoo.ViTConfig(image_size=28, patch=5),
    lambda: zoo.ViTConfig(pool="max"),
    lambda: zoo.ConvNetConfig("cnn", blocks=(zoo.Transformer(32),)),
])
def test_inconsistent_configs_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_config_dict_tags_blocks():
    cfg = zoo.get("tinyformer-fmnist").config
    assert [b["block"] for b in zoo.config_dict(cfg)["blocks"]] == ["down", "mbconv", "mbconv", "transformer"]

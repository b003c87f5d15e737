"""Search spaces: every sampled, mutated or crossed candidate is a valid architecture of its space,
its hash is stable, and it builds the model it describes."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from mcusim.errors import UsageError
from mcusim.models.nn import build
from mcusim.nas import spaces
from mcusim.nas.spaces import Arch, arch_hash

from .conftest import TINY


@pytest.mark.parametrize("name", sorted(spaces.SPACES))
@given(seed=st.integers(0, 2**32 - 1))
def test_genetic_operators_keep_candidates_valid(name, seed):
    space = spaces.get(name)
    rng = np.random.default_rng(seed)
    a, b = space.sample(rng), space.sample(rng)
    for arch in (a, b, space.mutate(a, rng), space.mutate(a, rng, m_prob=1.0, s_prob=1.0), space.crossover(a, b, rng)):
        assert space.check(arch.to_json()) == arch
        for gene in space.genes:
            if gene.per_layer:
                assert len(arch[gene.name]) == arch["depth"]


def test_crossover_takes_each_gene_from_a_parent():
    rng = np.random.default_rng(0)
    a, b = TINY.sample(rng), TINY.sample(rng)
    for _ in range(20):
        child = TINY.crossover(a, b, rng)
        assert child["dim"] in (a["dim"], b["dim"]) and child["depth"] in (a["depth"], b["depth"])
        for i, heads in enumerate(child["heads"]):
            assert heads in [p["heads"][i] for p in (a, b) if i < p["depth"]]


def test_mutation_with_no_probability_changes_nothing():
    arch = TINY.sample(np.random.default_rng(1))
    assert TINY.mutate(arch, np.random.default_rng(2), m_prob=0.0, s_prob=0.0) == arch


def test_hash_names_the_space_and_the_architecture():
    arch = TINY.largest()
    assert arch_hash(TINY, arch) == arch_hash(TINY, TINY.check(arch.to_json()))
    assert arch_hash(TINY, arch) != arch_hash(TINY, TINY.smallest())
    other = spaces.MCUFormerSpace(**{**TINY.__dict__, "rank_ratio": 1.0})
    assert arch_hash(TINY, arch) != arch_hash(other, arch)
    assert spaces.from_json(TINY.to_json()) == TINY


def test_config_builds_the_candidate():
    arch = Arch({"dim": 32, "depth": 2, "mlp_ratio": (1.0, 2.0), "heads": (1, 2), "qkv_dim": 16})
    model = build(TINY.config(arch))
    assert [b.attn.heads for b in model.blocks] == [1, 2]
    assert [b.fc1.up.out_features for b in model.blocks] == [32, 64]
    assert model.blocks[0].fc1.rank == 16  # rank ratio 0.5 of dim 32
    assert TINY.formulas(arch) == {"mcuformer": round(32 * (17 * 3 + 32 * 2 * 0.5))}


def test_bad_architectures_are_usage_errors():
    arch = TINY.largest().to_json()
    with pytest.raises(UsageError, match="genes"):
        TINY.check({**arch, "extra": 1})
    with pytest.raises(UsageError, match="dim=24"):
        TINY.check({**arch, "dim": 24})
    with pytest.raises(UsageError, match="one per layer"):
        TINY.check({**arch, "heads": [1]})
    with pytest.raises(UsageError, match="unknown search space"):
        spaces.get("nope")
    with pytest.raises(TypeError, match="read-only"):
        TINY.largest()["dim"] = 8


def _same_model(a, b) -> bool:
    """Two configs build the same network: the same parameters, each of the same shape, and the same
    function on an input (weights copied from one to the other)."""
    import torch

    torch.manual_seed(0)
    first, second = build(a).eval(), build(b).eval()
    shapes = {k: v.shape for k, v in first.state_dict().items()}
    if shapes != {k: v.shape for k, v in second.state_dict().items()}:
        return False
    second.load_state_dict(first.state_dict())
    x = torch.rand(2, a.image_size, a.image_size, a.channels)
    with torch.no_grad():
        return torch.equal(first(x), second(x))


def test_the_hand_designs_are_points_of_their_spaces():
    """The search can find what was designed by hand: vit-fmnist is a candidate of the mcuformer
    space with a full-rank supernet (--rank-ratio 1), and cnn-fmnist with one more 64-channel block
    (the mcunetv2 space's stages have two) a candidate of the mcunetv2 space."""
    import dataclasses

    from mcusim.models.zoo import MBConv, get

    vit = dataclasses.replace(spaces.get("mcuformer"), rank_ratio=1.0)
    arch = vit.check({"dim": 64, "depth": 4, "mlp_ratio": [2.0] * 4, "heads": [4] * 4, "qkv_dim": 64})
    assert _same_model(vit.config(arch), get("vit-fmnist").config)

    cnn = get("cnn-fmnist").config
    like = dataclasses.replace(cnn, blocks=(*cnn.blocks, MBConv(64, 4, 1)))
    v2 = spaces.get("mcunetv2")
    arch = v2.check({"resolution": 28, "stem": 16, "width0": 24, "width1": 40, "width2": 64, "patches": 1,
                     "patch_blocks": 1, **{f"expansion{k}.{j}": 4 for k in range(3) for j in range(2)}})
    assert _same_model(v2.config(arch), like)

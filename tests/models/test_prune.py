"""Block pruning: the block geometry of the masks (the deployment's contract), the magnitude
criterion, the AGP schedule, fine-tuning at the mask, the pruned checkpoint and `mcusim prune`."""
import shlex
import sys

import numpy as np
import pytest
import torch
from torch import nn

from mcusim.cli import main
from mcusim.errors import UsageError
from mcusim.models import zoo
from mcusim.models.nn import build
from mcusim.models.prune import (LayerPruning, PruneOptions, agp_sparsity, apply_masks, block_mask, block_sparsity,
                                 compute_masks, prunable_layers, prune, pruning_config, schedule_points)
from mcusim.models.train import load_checkpoint


@pytest.fixture(scope="module")
def tinyformer():
    torch.manual_seed(0)
    return build(zoo.get("tinyformer-fmnist").config)


def test_masks_have_the_block_geometry(tinyformer):
    """Linear: blocks along K in a row; conv: along C at one (o, kh, kw); depthwise: whole kernel rows."""
    config = pruning_config(tinyformer, 0.3, block=4, overrides={"head.weight": LayerPruning(0.6, 2)})
    masks = compute_masks(tinyformer, config)
    layers = prunable_layers(tinyformer)
    kinds = {layers[name].kind for name in masks}
    assert kinds == {"linear", "conv", "depthwise"}
    for name, mask in masks.items():
        layer, target = layers[name], config[name]
        o, *rest = mask.shape
        if layer.kind == "linear":
            grid = mask.reshape(o, rest[0] // target.block, target.block)
        elif layer.kind == "conv":
            c, kh, kw = rest
            grid = mask.permute(0, 2, 3, 1).reshape(o, kh, kw, c // target.block, target.block)
        else:
            kh, kw = rest[1:]
            grid = mask.reshape(o, kh, kw)  # a block is one kernel row: kw values
        assert torch.all(grid.amin(-1) == grid.amax(-1)), name  # every block all kept or all zero
        blocks = grid.amax(-1).flatten()
        assert int((blocks == 0).sum()) == round(target.sparsity * len(blocks)), name
    assert {n: s.block for n, s in block_sparsity(tinyformer, config).items()
            if layers[n].kind == "depthwise"} == {"blocks.1.depthwise.conv.weight": 3,
                                                  "blocks.2.depthwise.conv.weight": 3}


def test_the_lowest_l1_blocks_are_zeroed_ties_in_order():
    layer = prunable_layers(nn.Linear(8, 2))["weight"]
    w = torch.tensor([[1.0, -1.0, 0.0, 0.5, -4.0, 0.0, 0.0, 0.1],
                      [0.2, 0.2, 0.0, 0.0, 3.0, 3.0, -0.25, 0.25]])
    # block L1 norms, row-major: [2.0, 0.5, 4.0, 0.1, 0.4, 0.0, 6.0, 0.5]; the 4 lowest: 0.0, 0.1, 0.4 and the
    # first 0.5 (index 1; the tie at index 7 stays)
    mask = block_mask(w, layer, 2, 0.5)
    kept = mask.reshape(-1, 2)[:, 0].tolist()
    assert kept == [1, 0, 1, 0, 0, 0, 1, 1]


def test_a_layer_not_divisible_by_its_block_stays_dense():
    model = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 4))  # K = 6 is no multiple of 4; K = 4 is
    config = pruning_config(model, 0.5, block=4)
    before = model[0].weight.detach().clone()
    apply_masks(model, compute_masks(model, config))
    measured = block_sparsity(model, config)
    assert measured["0.weight"].block is None and measured["0.weight"].sparsity == 0.0
    assert torch.equal(model[0].weight, before)
    assert measured["1.weight"].block == 4 and measured["1.weight"].sparsity == 0.5
    assert block_sparsity(model, pruning_config(model, 0.5, block=2))["0.weight"].block == 2


def test_agp_schedule_rises_to_the_target():
    values = [agp_sparsity(t, 10, 0.75) for t in range(15)]
    assert values[0] == 0.0 and values[10] == 0.75 and values[14] == 0.75
    assert all(a <= b for a, b in zip(values, values[1:]))
    for steps in (0, 1, 2, 3, 24, 938):
        points = schedule_points("agp", steps, updates=10)
        fractions = list(points.values())
        assert list(points) == sorted(points) and fractions == sorted(fractions) and fractions[-1] == 1.0
        assert max(points) == (2 * steps) // 3 and 0 < fractions[0] <= 1
        assert len(points) == min(10, max(1, (2 * steps) // 3))
    assert schedule_points("oneshot", 938) == {0: 1.0}


def test_config_refuses_unknown_layers_and_bad_targets(tinyformer):
    with pytest.raises(UsageError, match="unknown layer 'blocks.9.weight'"):
        pruning_config(tinyformer, 0.5, overrides={"blocks.9.weight": LayerPruning(0.1)})
    with pytest.raises(ValueError, match=r"outside \[0, 1\)"):
        LayerPruning(1.0)
    with pytest.raises(ValueError, match="block size 3"):
        LayerPruning(0.5, 3)


@pytest.mark.parametrize("schedule", ["oneshot", "agp"])
def test_fine_tuning_keeps_the_pruned_blocks_at_zero(tmp_path, schedule):
    model = build(zoo.get("vit-digits").config)
    config = pruning_config(model, 0.5, block=4, overrides={"head.weight": LayerPruning(0.25, 2)})
    options = PruneOptions(schedule=schedule, epochs=1, batch_size=32, train_samples=128, lr=1e-3)
    meta = prune("vit-digits", "digits", tmp_path / "p.npz", config, options=options, progress=False)
    pruned, saved = load_checkpoint(tmp_path / "p.npz")
    source, _ = load_checkpoint(zoo.get("vit-digits").checkpoint)
    measured = block_sparsity(pruned, config)
    for name, target in config.items():
        n = measured[name].blocks
        assert measured[name].sparsity == (round(target.sparsity * n) / n if n else 0.0), name
        assert saved["pruning"]["layers"][name] == {"sparsity": measured[name].sparsity, "block": measured[name].block}
    assert measured["patch_embed.weight"].block is None  # 1 input channel: dense
    kept = pruned.blocks[0].attn.q.weight != 0
    assert not torch.equal(pruned.blocks[0].attn.q.weight[kept], source.blocks[0].attn.q.weight[kept])  # fine-tuned
    record = saved["pruning"]
    assert record["schedule"] == schedule and record["source"] == str(zoo.get("vit-digits").checkpoint)
    assert [h["epoch"] for h in saved["history"]] == [1] and record["accuracy"] == saved["history"][0]["test_accuracy"]
    assert saved == {**meta, "format": saved["format"], "version": saved["version"], "config": saved["config"]}


def test_a_pruned_checkpoint_exports_with_int8_zero_blocks(tmp_path):
    from mcusim.models.export import calibrate, export
    from mcusim.models.train import images

    from mcusim.models import datasets

    entry = zoo.get("vit-digits")
    config = pruning_config(build(entry.config), 0.5)
    prune("vit-digits", "digits", tmp_path / "p.npz", config, options=PruneOptions(epochs=0), progress=False)
    model, _ = load_checkpoint(tmp_path / "p.npz")
    x, _ = datasets.load("digits", "train")
    with torch.no_grad():
        graph = export(model, calibrate(model, images(entry, x[:32])))
    q = graph.tensors["blocks.0.attn.q.weight"].data  # fully_connected [O, K], as torch
    zero = np.all(q.reshape(-1, 4) == 0, axis=1)
    np.testing.assert_array_equal(zero, (model.blocks[0].attn.q.weight == 0).reshape(-1, 4).all(1).numpy())
    assert zero.mean() == 0.5


def test_cli_prunes_and_prints_the_table(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / "p.npz")
    args = ["prune", "--model", "vit-digits", "--dataset", "digits", "--sparsity", "0.5", "--epochs", "0",
            "--schedule", "oneshot", "--layer", "head.weight=0.2:2", "-o", out]
    monkeypatch.setattr(sys, "argv", ["mcusim", *args])  # the command recorded in the checkpoint
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "blocks.1.fc2.full.weight" in text and "50.0%" in text and "float test accuracy" in text
    assert [line.split()[-2:] for line in text.splitlines() if line.startswith(("head.weight", "patch_embed"))] == \
        [["dense", "0.0%"], ["2", "20.0%"]]
    _, meta = load_checkpoint(out)
    assert meta["pruning"]["layers"]["head.weight"] == {"sparsity": 0.2, "block": 2}
    assert meta["command"] == shlex.join(["mcusim", *args])


@pytest.mark.parametrize("extra, message", [
    (["--sparsity", "1.0"], "sparsity 1.0 is outside [0, 1)"),
    (["--sparsity", "-0.1"], "sparsity -0.1 is outside [0, 1)"),
    (["--sparsity", "0.5", "--layer", "blocks.7.fc1.weight=0.3"], "unknown layer 'blocks.7.fc1.weight'"),
    (["--sparsity", "0.5", "--layer", "head.weight"], "expected NAME=SPARSITY[:BLOCK]"),
    (["--sparsity", "0.5", "--layer", "head.weight=0.3:3"], "block size 3 is not one of 2, 4"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    argv = ["prune", "--model", "vit-digits", "--dataset", "digits", "--epochs", "0", "-o", str(tmp_path / "p.npz")]
    assert main(argv + extra) == 64
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_cli_refuses_an_existing_output(tmp_path, capsys):
    (tmp_path / "p.npz").write_bytes(b"")
    assert main(["prune", "--model", "vit-digits", "--dataset", "digits", "--sparsity", "0.5", "-o",
                 str(tmp_path / "p.npz")]) == 64
    assert "p.npz exists" in capsys.readouterr().err

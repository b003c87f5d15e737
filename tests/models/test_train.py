"""Training writes a checkpoint every epoch, a killed run resumes to the same bits as an unbroken
one, and checkpoint files are checked on load."""
import numpy as np
import pytest
import torch

from mcusim.errors import UsageError
from mcusim.models import train as training
from mcusim.models.train import CheckpointError, TrainOptions, load_checkpoint, read_checkpoint, train
from tests.resume import assert_same_weights, killed_after_a_checkpoint

OPTIONS = TrainOptions(epochs=2, batch_size=256)


def test_train_writes_a_finished_checkpoint(tmp_path):
    meta = train("vit-digits", "digits", tmp_path / "c.npz", OPTIONS, progress=False)
    assert [h["epoch"] for h in meta["history"]] == [1, 2]
    model, meta2, optimizer = read_checkpoint(tmp_path / "c.npz")
    assert meta2["epoch"] == 2 and optimizer is None  # finished: no optimizer state kept
    with pytest.raises(UsageError, match="exists; pass --resume"):
        train("vit-digits", "digits", tmp_path / "c.npz", OPTIONS, progress=False)
    with pytest.raises(UsageError, match="finished run"):
        train("vit-digits", "digits", tmp_path / "c.npz", OPTIONS, resume=True, progress=False)


def test_a_killed_run_resumes_to_the_same_parameters(tmp_path, monkeypatch):
    train("vit-digits", "digits", tmp_path / "whole.npz", OPTIONS, progress=False)
    with killed_after_a_checkpoint(monkeypatch, training):
        train("vit-digits", "digits", tmp_path / "broken.npz", OPTIONS, progress=False)
    assert load_checkpoint(tmp_path / "broken.npz")[1]["epoch"] == 1
    train("vit-digits", "digits", tmp_path / "broken.npz", OPTIONS, resume=True, progress=False)
    assert_same_weights(load_checkpoint(tmp_path / "whole.npz")[0], load_checkpoint(tmp_path / "broken.npz")[0])


def test_checkpoint_errors_are_one_line(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.npz"):
        load_checkpoint(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="not an mcusim checkpoint"):
        load_checkpoint(tmp_path / "other.npz")


def test_augment_keeps_shape_and_content():
    x = torch.full((6, 28, 28, 1), -1.0)
    x[:, 12:16, 12:16] = 1.0
    y = training.augment(x, torch.Generator().manual_seed(0), flip=True)
    assert y.shape == x.shape and torch.all((y == 1.0).sum(dim=(1, 2, 3)) == 16)  # shifted by <= 2 pixels: all kept


def test_labels_outside_the_model_classes_are_refused(tmp_path):
    x = np.zeros((4, 8, 8, 1), np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 3, 12, 1]))
    with pytest.raises(UsageError, match="labels outside 0..9"):
        train("vit-digits", f"npz:{tmp_path / 'd.npz'}", tmp_path / "c.npz", OPTIONS, progress=False)

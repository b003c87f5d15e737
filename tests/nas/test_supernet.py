"""The supernet: a subnet copied out of it computes exactly what the supernet computes for that
candidate, training updates the shared corners, and a killed training run resumes to the same bits."""
import dataclasses

import numpy as np
import pytest
import torch

from mcusim.errors import UsageError
from mcusim.models.train import CheckpointError, TrainOptions
from mcusim.nas import supernet as sn
from mcusim.nas.spaces import Arch
from mcusim.nas.supernet import (Supernet, candidate_images, read_supernet, recalibrate, train_supernet,
                                 validation_split)
from tests.resume import assert_same_weights, killed_after_a_checkpoint

from .conftest import TINY, TINY_TF, TINY_V2, VALIDATION


@pytest.mark.parametrize("space", [TINY, TINY_TF, TINY_V2], ids=lambda s: s.name)
def test_a_subnet_computes_what_the_supernet_computes(space):
    torch.manual_seed(0)
    net = Supernet(space)
    net.train()  # BatchNorm statistics of a training batch, written into the supernet's buffers
    net(torch.rand(8, 8, 8, 1))
    net.eval()
    x = torch.rand(5, 8, 8, 1) * 2 - 1
    rng = np.random.default_rng(0)
    for arch in [space.largest(), space.smallest(), *(space.sample(rng) for _ in range(6))]:
        net.arch = arch
        with torch.no_grad():
            assert torch.equal(net(x), net.subnet(arch)(candidate_images(space, arch, x))), dict(arch)


def test_recalibration_replaces_the_shared_batchnorm_statistics():
    torch.manual_seed(0)
    model = Supernet(TINY_TF).subnet(TINY_TF.largest())
    images = torch.rand(40, 8, 8, 1)
    recalibrate(model, images, batch_size=20)  # equal batches: the average of their means is the mean
    assert not model.training
    model.stem.bn.train()
    with torch.no_grad():
        stem = model.stem.conv(images.permute(0, 3, 1, 2))
    torch.testing.assert_close(model.stem.bn.running_mean, stem.mean(dim=(0, 2, 3)))


def test_training_a_candidate_updates_only_its_corner():
    torch.manual_seed(0)
    net = Supernet(TINY)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    net.arch = TINY.smallest()  # dim 16, depth 1
    net(torch.rand(2, 8, 8, 1)).sum().backward()
    torch.optim.SGD(net.parameters(), lr=0.1).step()
    after = net.state_dict()
    assert not torch.equal(before["largest.head.weight"][:, :16], after["largest.head.weight"][:, :16])
    assert torch.equal(before["largest.head.weight"][:, 16:], after["largest.head.weight"][:, 16:])
    assert torch.equal(before["largest.blocks.1.attn.q.weight"], after["largest.blocks.1.attn.q.weight"])


def _batch(space, n=16, seed=0):
    torch.manual_seed(seed)
    return torch.rand(n, space.image_size, space.image_size, 1) * 2 - 1, torch.randint(0, 10, (n,))


def test_a_sandwich_step_trains_the_largest_the_smallest_and_random_candidates(monkeypatch):
    """One step of the sandwich rule runs its candidates in order (the largest first, whose
    predictions the others learn), and its gradients reach both the corner only the largest has and
    the corner every candidate shares."""
    torch.manual_seed(0)
    net = Supernet(TINY)
    rng = np.random.default_rng(0)
    archs = [TINY.largest(), TINY.smallest(), TINY.sample(rng), TINY.sample(rng)]
    seen = []
    forward = Supernet.forward
    monkeypatch.setattr(Supernet, "forward", lambda self, x: seen.append(self.arch) or forward(self, x))
    loss, logits = sn.sandwich_backward(net, archs, sn.SupernetTraining(), 0.1)(*_batch(TINY))
    assert seen == archs and logits.shape == (16, 10) and loss > 0
    only_largest = net.largest.blocks[1].attn.q.weight.grad  # depth 2: the smallest has one block
    shared = net.largest.head.weight.grad[:, :16]              # dim 16: every candidate's
    assert only_largest is not None and only_largest.abs().sum() > 0 and shared.abs().sum() > 0


def test_inplace_distillation_brings_a_small_candidate_to_the_largest_predictions():
    """On one toy batch: the largest candidate trained on its labels first, then the sandwich rule's
    steps: the smallest candidate's distillation loss towards the largest's predictions falls."""
    torch.manual_seed(0)
    net = Supernet(TINY)
    x, y = _batch(TINY)
    largest, smallest = TINY.largest(), TINY.smallest()
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)

    def train(archs: list, steps: int) -> None:
        step = sn.sandwich_backward(net, archs, sn.SupernetTraining(random=0), 0.0)
        for _ in range(steps):
            optimizer.zero_grad()
            step(x, y)
            optimizer.step()

    def gap() -> float:
        with torch.no_grad():
            net.arch = largest
            target = net(x)
            net.arch = smallest
            return float(sn.distillation(net(x), target))

    train([largest], 40)
    before = gap()
    train([largest, smallest], 150)
    assert gap() < 0.5 * before


def test_a_teacher_is_a_model_of_the_same_dataset_and_takes_part_in_the_largest_loss():
    from mcusim.models import zoo

    with pytest.raises(UsageError, match="trained on digits, not on fashion-mnist"):
        sn.load_teacher(zoo.get("vit-digits").checkpoint, TINY, "fashion-mnist")
    teacher = sn.load_teacher("vit-digits", TINY, "digits")  # a registered model: its shipped checkpoint
    assert not any(p.requires_grad for p in teacher.parameters())
    x, y = _batch(TINY)
    losses = []
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        training = sn.SupernetTraining(random=0, teacher="vit-digits", teacher_weight=weight)
        losses.append(sn.sandwich_backward(Supernet(TINY), [TINY.largest()], training, 0.0, teacher)(x, y)[0])
    torch.manual_seed(0)
    net = Supernet(TINY)
    net.arch = TINY.largest()
    with torch.no_grad():
        expected = float(sn.distillation(net(x), teacher(x)))
    assert losses[1] == pytest.approx(expected, rel=1e-5) and losses[0] != pytest.approx(losses[1])


def test_validation_split_is_a_seeded_partition():
    x, y = np.arange(100)[:, None], np.arange(100)
    (xt, yt), (xv, yv) = validation_split(x, y, 20)
    assert len(yv) == 20 and len(yt) == 80 and not set(yt) & set(yv)
    assert np.array_equal(validation_split(x, y, 20)[1][1], yv)
    with pytest.raises(UsageError, match="validation set of 100"):
        validation_split(x, y, 100)


OPTIONS = TrainOptions(epochs=2, batch_size=128)


def test_a_killed_training_run_resumes_to_the_same_weights(tmp_path, monkeypatch):
    train_supernet(TINY, "digits", tmp_path / "whole.npz", OPTIONS, validation=VALIDATION, progress=False)
    with killed_after_a_checkpoint(monkeypatch, sn):
        train_supernet(TINY, "digits", tmp_path / "broken.npz", OPTIONS, validation=VALIDATION, progress=False)
    meta = train_supernet(TINY, "digits", tmp_path / "broken.npz", OPTIONS, resume=True, validation=VALIDATION,
                          progress=False)
    assert [h["epoch"] for h in meta["history"]] == [1, 2] and set(meta["history"][0]) >= {"largest_accuracy"}
    assert_same_weights(read_supernet(tmp_path / "whole.npz")[0], read_supernet(tmp_path / "broken.npz")[0])
    with pytest.raises(UsageError, match="finished run"):
        train_supernet(TINY, "digits", tmp_path / "whole.npz", OPTIONS, resume=True, progress=False)


def test_a_model_checkpoint_is_not_a_supernet():
    from mcusim.models import zoo

    with pytest.raises(CheckpointError, match="not a supernet"):
        read_supernet(zoo.get("vit-digits").checkpoint)


@pytest.mark.fashion_mnist
@pytest.mark.parametrize("name", sorted(sn.SHIPPED))
def test_shipped_supernets_keep_their_accuracy(name):
    """Each shipped supernet is a finished run whose largest candidate still scores what its last
    epoch recorded (recalibrated as training evaluated it)."""
    from mcusim.models.train import accuracy

    supernet, meta, optimizer = read_supernet(sn.SHIPPED[name])
    assert optimizer is None and meta["epoch"] == meta["options"]["epochs"] and supernet.space.name == name
    space = supernet.space
    (x_train, _), (x_val, y_val) = sn.search_data(space, meta["dataset"], meta["validation"])
    largest = space.largest()
    model = recalibrate(supernet.subnet(largest), candidate_images(space, largest, x_train[:sn.RECALIBRATION]))
    assert accuracy(model, candidate_images(space, largest, x_val), y_val) == \
        pytest.approx(meta["history"][-1]["largest_accuracy"], abs=0.003)


def test_a_candidate_sees_the_images_its_int8_graph_is_fed():
    """Float scoring and training resize the dataset's images once to the candidate's resolution,
    as graph_inputs does for the int8 graph: the same pixels, not a resize of a resize."""
    from mcusim.models import datasets
    from mcusim.models.train import config_images

    space = dataclasses.replace(TINY_V2, resolutions=(6, 8, 10))  # above and below the images' 8 x 8
    x = np.random.default_rng(0).integers(0, 256, (3, 8, 8, 1), dtype=np.uint8)
    arch = Arch({**space.largest(), "resolution": 6})
    seen = candidate_images(space, arch, config_images(space, x, "test"))
    np.testing.assert_allclose(seen.numpy(), datasets.normalize(datasets.resize(x, 6)), atol=1e-5)


def test_the_search_fine_tunes_its_best_with_the_supernet_teacher(tmp_path, monkeypatch):
    """A supernet trained with a teacher records it; Evaluator.finetune trains a candidate with
    that teacher's distillation (its forward runs on every batch), one trained without, on labels."""
    from mcusim.boards import get_board
    from mcusim.nas import evaluate
    from mcusim.nas.measure import Budget

    training = sn.SupernetTraining(random=1, teacher="vit-digits")
    path = tmp_path / "taught.npz"
    meta = train_supernet(TINY, "digits", path, TrainOptions(epochs=1, batch_size=128), validation=VALIDATION,
                          progress=False, training=training, train_images=256)
    assert meta["training"]["teacher"] == "vit-digits" and read_supernet(path)[1]["training"] == meta["training"]
    batches = []
    load = sn.load_teacher

    def counting(*args):
        teacher = load(*args)
        teacher.register_forward_hook(lambda *_: batches.append(1))
        return teacher

    monkeypatch.setattr(evaluate, "load_teacher", counting)
    board = get_board("stm32f746")
    spec = evaluate.EvalSpec(str(path), board.name, Budget.of(board), "digits", int8_images=10)
    evaluate.Evaluator(spec).finetune(TINY.smallest(), 1, progress=False)
    steps = -(-(1438 - VALIDATION) // 128)  # the supernet's training images, all of them
    assert len(batches) == steps

"""Training runs killed between epochs (tests/models/test_train.py, tests/nas/test_supernet.py): the
kill, and the check that the resumed run ends with the bits of an unbroken one."""
from contextlib import contextmanager

import pytest
import torch


@contextmanager
def killed_after_a_checkpoint(monkeypatch, module):
    """Runs the body with `module.save_checkpoint` raising KeyboardInterrupt (a kill) as soon as it
    has written a checkpoint; the body must be killed so."""
    save = module.save_checkpoint

    def save_then_die(*args):
        save(*args)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        yield
    monkeypatch.setattr(module, "save_checkpoint", save)


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name

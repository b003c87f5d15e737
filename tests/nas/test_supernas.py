"""TinyFormer's SuperNAS: a variant whose measured candidates mostly exceed the memory budget is
skipped, an accepted one is trained and scored, the choice is an accepted variant, and a second run
resumes from the trail."""
import json

import pytest

from mcusim.boards import get_board
from mcusim.nas.measure import Budget
from mcusim.nas.supernas import SuperNASOptions, supernas

from .conftest import TINY_TF, VALIDATION

pytestmark = pytest.mark.toolchain

VARIANTS = {"small": {"widths": ((4, 8), (8, 12))}, "large": {"mbconvs": (2, 2), "widths": ((16, 24), (24, 32))}}


def test_supernas_skips_what_exceeds_memory_and_chooses_an_accepted_supernet(tmp_path):
    options = SuperNASOptions(samples=6, epochs=1, train_images=256, validation=VALIDATION, accuracy_samples=2,
                              val_images=100)
    budget = Budget(sram=2200)  # above the small variant's candidates, below the large one's
    chosen = supernas(TINY_TF, VARIANTS, "digits", get_board("stm32f746"), budget, options, tmp_path, progress=False)
    trail = {r["variant"]: r for r in map(json.loads, (tmp_path / "supernas.jsonl").read_text().splitlines())}
    small, large = trail["small"], trail["large"]
    assert large["skipped"] and large["accuracy"] is None and large["sram_peaks"][1] > 2200
    assert small["accepted"] and not small["skipped"] and 0 <= small["accuracy"] <= 1
    assert chosen == small and (tmp_path / "supernets" / "small.npz").exists()
    assert "Chosen: small" in (tmp_path / "supernas.md").read_text()
    again = supernas(TINY_TF, VARIANTS, "digits", get_board("stm32f746"), budget, options, tmp_path, progress=False)
    assert again == chosen and len((tmp_path / "supernas.jsonl").read_text().splitlines()) == 2

"""MCUFormer's search-space evolution: the update rule moves up the fitted slope by whole grid steps,
and a run evaluates spaces with measured shares, writes its trail, and resumes without redoing one."""
import dataclasses
import json

import pytest

from mcusim.boards import get_board
from mcusim.errors import UsageError
from mcusim.nas.measure import Budget
from mcusim.nas.space_evolution import EvolutionOptions, evolve, move, plane

from .conftest import TINY, VALIDATION


def test_the_fitted_plane_and_the_moves_it_makes():
    points = [(r, n, 0.5 + 0.2 * r - 0.001 * n) for r in (0.25, 0.5, 1.0) for n in (4, 16)]
    b, w_r, w_n = plane(points)
    assert (round(b, 6), round(w_r, 6), round(w_n, 6)) == (0.5, 0.2, -0.001)
    assert plane(points[:2]) is None and plane([(0.25, 4, 0), (0.5, 4, 1), (1.0, 4, 2)]) is None  # on a line
    ranks = (0.25, 0.5, 0.75, 1.0)
    assert move(1, ranks, 0.2, 0.02, 2) == 3          # 0.2 * 0.25 / 0.02 = 2.5 -> 2 steps up
    assert move(1, ranks, 0.2, 0.02, 1) == 2          # capped
    assert move(1, ranks, -0.05, 0.02, 2) == 1        # 0.05 * 0.25 / 0.02 = 0.6: no whole step
    assert move(1, ranks, -0.2, 0.02, 2) == 0         # down, inside the grid
    assert move(3, ranks, 0.2, 0.02, 2) == 3          # at the edge


@pytest.mark.toolchain
def test_an_evolution_measures_spaces_and_resumes(tmp_path):
    options = EvolutionOptions(rank_ratios=(0.25, 0.5, 1.0), patches=(4, 2), initial=2, epochs=1,
                               train_images=256, validation=VALIDATION, samples=4, accuracy_samples=2, val_images=100,
                               iterations=2)
    budget = Budget(sram=2900)  # between the tiny space's smallest and largest candidates
    chosen = evolve(TINY, "digits", get_board("stm32f746"), budget, options, tmp_path, progress=False)
    trail = [json.loads(line) for line in (tmp_path / "evolution.jsonl").read_text().splitlines()]
    assert len(trail) >= 3 and chosen in trail
    assert {(r["rank_ratio"], r["patch"]) for r in trail} >= {(0.5, 2)}
    for r in trail:
        assert 0 <= r["share"] <= 1 and r["score"] == pytest.approx(r["accuracy"] + 0.5 * r["share"])
        assert (tmp_path / "supernets" / f"r{r['rank_ratio']:g}-p{r['patch']}.npz").exists()
    assert len({r["share"] for r in trail}) > 1  # the budget tells the spaces apart
    assert "Path: (r 0.5, patch 2)" in (tmp_path / "evolution.md").read_text()
    again = evolve(TINY, "digits", get_board("stm32f746"), budget, options, tmp_path, progress=False)
    assert again == chosen and len((tmp_path / "evolution.jsonl").read_text().splitlines()) == len(trail)
    with pytest.raises(UsageError, match="not on the grid"):
        evolve(dataclasses.replace(TINY, rank_ratio=0.75), "digits", get_board("stm32f746"), budget, options, tmp_path)

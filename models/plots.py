"""The memory timeline of a run on a board (matplotlib PNG): bytes over the ops, planned vs measured.

Curves, one point per op: the bytes its live buffers hold (the plan's lower-bound curve), the
planned arena extent (the highest byte of a live buffer), the measured arena extent, and the measured
SRAM peak (static + stack + arena).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from mcusim.files import atomic_writer

from .deploy import Deployment
from .runner import Measurement


def planned_curves(deployment: Deployment) -> tuple[np.ndarray, np.ndarray]:
    """(live bytes, planned arena extent) at each step."""
    live, extent = [], []
    for i in range(len(deployment.steps)):
        buffers = [b for b in deployment.buffers if b.first <= i <= b.last]
        live.append(sum(b.size for b in buffers))
        extent.append(max((deployment.plan.offsets[b.names] + b.size for b in buffers), default=0))
    return np.array(live), np.array(extent)


def memory_timeline(deployment: Deployment, measurement: Measurement, path: str | Path, title: str = "") -> None:
    """The plot as a PNG at `path` (written atomically, whatever its suffix)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    live, extent = planned_curves(deployment)
    steps = np.arange(len(measurement.ops))
    fig, ax = plt.subplots(figsize=(11, 4.5), layout="constrained")
    ax.step(steps, [op.sram_peak for op in measurement.ops], where="mid", color="black", label="measured SRAM peak "
            "(static + stack + arena)")
    ax.step(steps, [op.arena_peak for op in measurement.ops], where="mid", color="tab:red", label="measured arena")
    ax.step(steps, extent, where="mid", color="tab:blue", linestyle="--", label="planned arena")
    ax.fill_between(steps, live, step="mid", color="tab:green", alpha=0.3, label="live tensor bytes (plan)")
    ax.set_xlabel("op")
    ax.set_ylabel("bytes")
    ax.set_xlim(-0.5, len(steps) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"{measurement.board.name}: peak {measurement.total_peak:,} B, arena "
                          f"{measurement.arena_peak:,} B (lower bound {measurement.lower_bound:,} B)")
    fig.legend(loc="outside lower center", ncols=4, fontsize="small")
    with atomic_writer(path) as f:
        fig.savefig(f, format="png", dpi=120)
    plt.close(fig)

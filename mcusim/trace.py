"""Chrome trace-event JSON (opens in Perfetto / chrome://tracing) from a run's markers.

Each marker opens a complete ("X") slice that lasts until the next marker or the end of the run.
Timestamps are microseconds at the board's clock, computed from the modelled cycle count. A caller
may attach its own figures to each slice (`args`) and draw counter tracks (`counters`: a value per
slice, shown from the slice's start, e.g. SRAM in use).
"""
from __future__ import annotations

import json
from pathlib import Path

from .boards import Board
from .files import write_text_atomic
from .peripherals import Marker


def slices(markers: list[Marker], end_cycles: int) -> list[tuple[str, int, int]]:
    """(name, start cycle, duration in cycles) for each marker."""
    ends = [m.cycles for m in markers[1:]] + [end_cycles]
    return [(m.name, m.cycles, end - m.cycles) for m, end in zip(markers, ends)]


def chrome_trace(markers: list[Marker], end_cycles: int, board: Board, args: list[dict] | None = None,
                 counters: dict[str, list[int]] | None = None) -> dict:
    """args: one dict per marker, merged into its slice's args; counters: name -> one value per marker."""
    us_per_cycle = 1e6 / board.clock_hz
    events = [{"name": "process_name", "ph": "M", "pid": 1, "args": {"name": f"{board.name} ({board.core.name})"}}]
    for i, (name, start, duration) in enumerate(slices(markers, end_cycles)):
        events.append({
            "name": name, "ph": "X", "pid": 1, "tid": 1,
            "ts": start * us_per_cycle, "dur": duration * us_per_cycle,
            "args": {"cycles": duration, **(args[i] if args else {})},
        })
        for counter, values in (counters or {}).items():
            events.append({"name": counter, "ph": "C", "pid": 1, "ts": start * us_per_cycle,
                           "args": {counter: values[i]}})
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def write_trace(path: str | Path, markers: list[Marker], end_cycles: int, board: Board, args: list[dict] | None = None,
                counters: dict[str, list[int]] | None = None) -> None:
    write_text_atomic(path, json.dumps(chrome_trace(markers, end_cycles, board, args, counters), indent=1))

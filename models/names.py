"""Ops named for people: a short name per op for reports, and an op found from what a person types
(`--memory-opts patch-based@TARGET`).

    short_names(graph)              # one per op, in op order: what `mcusim check` prints beside the kind
    find_op(graph, "op3")           # the op's index; also "3", a name, a short name or a unique suffix

An op's short name is its own name where that names it (unique among the graph's op names, and not a
TFLite op code such as CONV_2D, which is how `mcusim import` names ops), else its output tensor's name;
of a TFLite fused name ("scope/conv2d_3/Relu;scope/conv2d_3/BiasAdd;...") the first ';' part; the '/'
scope that every name shares dropped; then cut to SHORT_WIDTH characters from the front by whole '/'
segments, ".." marking the cut (a single segment too long keeps its head and tail).
"""
from __future__ import annotations

import os
import re

from .graph import Graph, short

SHORT_WIDTH = 32
_OP_CODE = re.compile(r"[A-Z][A-Z0-9_]*")  # a TFLite builtin op code, as imported op names are


class TargetError(ValueError):
    """A target that names no op, or several; the message lists what it could name."""


def _full_names(graph: Graph) -> list[str]:
    counts: dict[str, int] = {}
    for op in graph.ops:
        counts[op.name] = counts.get(op.name, 0) + 1
    return [op.name if op.name and counts[op.name] == 1 and not _OP_CODE.fullmatch(op.name) else op.outputs[0]
            for op in graph.ops]


def _abbreviate(name: str, width: int) -> str:
    if len(name) <= width:
        return name
    segments = name.split("/")
    kept = segments[-1]
    for segment in reversed(segments[:-1]):
        if len(segment) + len(kept) + 3 > width:  # "../" + segment + "/" + kept
            break
        kept = f"{segment}/{kept}"
    if len(kept) + 3 <= width and kept != name:
        return "../" + kept
    head = (width - 2) // 2
    return name[:head] + ".." + name[-(width - 2 - head):]


def short_names(graph: Graph, width: int = SHORT_WIDTH) -> list[str]:
    """One short name per op of `graph`, in op order (module doc); at most `width` characters each."""
    firsts = [name.split(";", 1)[0] for name in _full_names(graph)]
    scoped = [name for name in firsts if "/" in name]
    scope = os.path.commonprefix(scoped) if len(scoped) == len(firsts) > 1 else ""
    scope = scope[:scope.rfind("/") + 1]  # whole segments only
    return [_abbreviate(name[len(scope):] if name[len(scope):] else name, width) for name in firsts]


def describe(graph: Graph, indices: list[int], limit: int = 10) -> str:
    """`opI kind short-name` for each op index, comma-separated; past `limit` the first limit - 2,
    "...", the last, and the count."""
    names = short_names(graph)
    items = [f"op{i} {graph.ops[i].kind} {names[i]}" for i in indices]
    if len(items) > limit:
        return ", ".join([*items[:limit - 2], "...", items[-1]]) + f" ({len(items)} in all)"
    return ", ".join(items) or "none"


def find_op(graph: Graph, target: str, choices: list[int] | None = None) -> int:
    """The index of the op `target` names: the one op whose name, output tensor's name or short name
    is `target`, else `N` or `opN` (its index in graph.ops), else the one op whose name or output
    tensor's name (or a ';' part of either) ends with `target` (of several, the one among `choices`).
    Raises TargetError listing `choices` (op indices; default all) where none or several match."""
    candidates = list(range(len(graph.ops))) if choices is None else choices
    shorts = short_names(graph)
    exact = [i for i, op in enumerate(graph.ops) if target in (op.name, op.outputs[0], shorts[i])]
    if len(exact) == 1:
        return exact[0]
    index = re.fullmatch(r"(?:op)?(\d+)", target)
    if index:
        i = int(index.group(1))
        if i < len(graph.ops):
            return i
        raise TargetError(f"no op {target}: the graph has ops 0 to {len(graph.ops) - 1}; "
                          f"choices: {describe(graph, candidates)}")
    suffix = exact or [i for i, op in enumerate(graph.ops)
                       if any(part.endswith(target) for name in (op.name, op.outputs[0]) for part in
                              (name, *name.split(";")))]
    if len(suffix) > 1 and choices is not None and len([i for i in suffix if i in choices]) == 1:
        suffix = [i for i in suffix if i in choices]
    if len(suffix) == 1:
        return suffix[0]
    if suffix:
        raise TargetError(f"{short(target)} names {len(suffix)} ops ({describe(graph, suffix, 6)}); give the op index "
                          f"(opN) or a longer name; choices: {describe(graph, candidates)}")
    raise TargetError(f"no op is named {short(target)}; choices: {describe(graph, candidates)}")

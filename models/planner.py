"""Arena planning: where each activation tensor of a Graph lives in one SRAM arena.

    buffers = activation_buffers(graph)            # what must live when, in bytes
    plan = greedy_by_size(buffers)                 # or head_tail(buffers, sources(graph, buffers))
    plan.arena_size, lower_bound(buffers)          # the plan against the schedule's bound

Lifetimes: a buffer is live from the op that writes it to the last op that reads it, inclusive (graph
inputs from op 0, graph outputs to the end); two buffers whose lifetimes meet may not share a byte.
A reshape has no kernel: its output is its input's buffer under another shape, so the two names form
one buffer, live over the union of their lifetimes. A concatenation along its outermost axis (every
axis before it of size 1) has no kernel either: its inputs are contiguous pieces of its output, so
each input is placed inside the output's buffer at its byte offset there (a view; Buffer.views).
Constants stay in flash and take no arena.

lower_bound: the most bytes live during any one op. No placement of these buffers in this op order
needs less; a plan's arena size minus it is the plan's fragmentation.

greedy_by_size (TFLite Micro's GreedyMemoryPlanner): buffers by decreasing size, each at the lowest
aligned offset where it overlaps no placed buffer whose lifetime meets its own. greedy_search: the
same placement over randomly perturbed size orders, the best of many (within ~1 % of the lower bound
on the shipped models where greedy_by_size is 14 % above it).

head_tail (TinyFormer's head-tail alternating allocation; the article gives no details, so this is
our design): an op's outputs go to the end of the arena opposite the end holding its first input
(graph inputs at the head), first-fit from that end among the buffers live there at the same time.
Head offsets count up from 0, tail offsets down from the arena's top; the arena size is then the
least that keeps every head buffer below every tail buffer it is live with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .graph import Graph

ITEMSIZE = {"int8": 1, "int32": 4, "float32": 4}


@dataclass(frozen=True)
class Buffer:
    """One arena allocation: the tensors that share it (a tensor, its reshapes, the pieces of a
    concatenation), its size in bytes and its lifetime [first, last] in op indices. views: the
    members that start inside the buffer rather than at its start, with their byte offsets."""

    names: tuple[str, ...]
    size: int
    first: int
    last: int
    views: tuple[tuple[str, int], ...] = ()

    def view_offset(self, name: str) -> int:
        return dict(self.views).get(name, 0)

    def meets(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Plan:
    algorithm: str
    offsets: dict[tuple[str, ...], int]  # Buffer.names -> byte offset in the arena
    arena_size: int


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def in_place_concatenation(graph: Graph, op) -> bool:
    """Whether `op` is a concatenation whose inputs can be views of its output: along the outermost
    axis (all axes before it of size 1), of distinct activation inputs."""
    if op.kind != "concatenation":
        return False
    y = graph.tensors[op.outputs[0]]
    axis = op.attrs.axis % len(y.shape)
    return (all(d == 1 for d in y.shape[:axis]) and len(set(op.inputs)) == len(op.inputs) and
            all(graph.tensors[n].data is None and n not in graph.inputs for n in op.inputs))


INPLACE_MAX_PLANE = 4096  # mcusim_nn.h MCUSIM_INPLACE_MAX_PLANE


def in_place_depthwise(graph: Graph, op) -> bool:
    """Whether depthwise_conv2d_inplace_s8 can run `op`: depth multiplier 1, the output the input's
    shape, at most INPLACE_MAX_PLANE pixels per channel."""
    if op.kind != "depthwise_conv2d" or op.attrs.depth_multiplier != 1:
        return False
    x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    return x.shape == y.shape and x.shape[1] * x.shape[2] <= INPLACE_MAX_PLANE


def activation_buffers(graph: Graph, alignment: int = 4, token_overwrite: bool = False,
                       inplace_depthwise: bool = False) -> list[Buffer]:
    """The graph's non-constant tensors as arena buffers (sizes rounded up to `alignment`).

    An op whose input no later op reads may write its output over it, one buffer of max(input,
    output) bytes: with token_overwrite (MCUFormer) a fully_connected, as fully_connected_inplace_s8
    computes it; with inplace_depthwise (MCUNetV2, TinyEngine) a depthwise_conv2d that
    in_place_depthwise accepts, as depthwise_conv2d_inplace_s8 computes it. Their memory-trace tests
    show that neither reads a byte after overwriting it."""
    root: dict[str, str] = {}  # tensor -> the tensor owning its buffer
    at: dict[str, int] = {}    # tensor -> its byte offset inside that buffer

    def owner(name: str) -> str:
        return root.get(name, name)

    def merge(group: str, into: str, offset: int) -> None:
        """Move every tensor of `group`'s buffer into `into`'s, `offset` bytes in."""
        for name in [group, *(n for n, r in root.items() if r == group)]:
            root[name], at[name] = into, at.get(name, 0) + offset

    for op in graph.ops:
        if op.kind == "reshape":
            merge(op.outputs[0], owner(op.inputs[0]), at.get(op.inputs[0], 0))
        elif in_place_concatenation(graph, op) and all(owner(n) == n for n in op.inputs):
            out, offset = op.outputs[0], 0
            for name in op.inputs:
                merge(name, owner(out), at.get(out, 0) + offset)
                offset += _nbytes(graph, name)
    last = _last_reads(graph, owner)
    for i, op in enumerate(graph.ops):
        x, y = owner(op.inputs[0]), owner(op.outputs[0])
        whole = not at.get(op.inputs[0]) and not at.get(op.outputs[0])  # neither is a view
        overwrites = (token_overwrite and op.kind == "fully_connected" or
                      inplace_depthwise and in_place_depthwise(graph, op))
        if overwrites and last.get(x) == i and x != y and whole:
            merge(y, x, 0)
            last[x] = last.get(y, i)
    first: dict[str, int] = {owner(name): 0 for name in graph.inputs}
    for i, op in enumerate(graph.ops):
        for name in op.outputs:
            first.setdefault(owner(name), i)
    last = _last_reads(graph, owner)
    members: dict[str, list[str]] = {}
    for name, t in graph.tensors.items():
        if t.data is None:
            members.setdefault(owner(name), []).append(name)
    buffers = []
    for r, names in members.items():
        if r not in first:
            continue  # a tensor no op writes and no input provides: not part of the schedule
        size = max(at.get(n, 0) + _nbytes(graph, n) for n in names)
        views = tuple((n, at[n]) for n in names if at.get(n, 0))
        buffers.append(Buffer(tuple(names), _align(size, alignment), first[r], max(last.get(r, first[r]), first[r]),
                              views))
    return buffers


def _nbytes(graph: Graph, name: str) -> int:
    t = graph.tensors[name]
    return int(np.prod(t.shape)) * ITEMSIZE[t.dtype]


def _last_reads(graph: Graph, owner) -> dict[str, int]:
    """Buffer owner -> the index of the last op that reads or writes it (graph outputs: past the end)."""
    last: dict[str, int] = {}
    for i, op in enumerate(graph.ops):
        for name in (*op.inputs, *op.outputs):
            if graph.tensors[name].data is None:
                last[owner(name)] = i
    for name in graph.outputs:
        last[owner(name)] = len(graph.ops)
    return last


def lower_bound(buffers: list[Buffer]) -> int:
    """The most bytes live during any one op."""
    if not buffers:
        return 0
    end = max(b.last for b in buffers) + 1
    live = np.zeros(end + 1, np.int64)
    for b in buffers:
        live[b.first] += b.size
        live[b.last + 1] -= b.size
    return int(np.cumsum(live).max())


def _first_fit(size: int, taken: list[tuple[int, int]], alignment: int) -> int:
    """The lowest aligned offset where [offset, offset + size) misses every [start, end) in taken."""
    offset = 0
    for start, end in sorted(taken):
        if offset + size <= start:
            break
        offset = max(offset, _align(end, alignment))
    return offset


def _greedy(order: list[Buffer], alignment: int, algorithm: str) -> Plan:
    """Each buffer in `order` at the lowest aligned offset missing every placed buffer it meets."""
    placed: list[tuple[Buffer, int]] = []
    for b in order:
        taken = [(offset, offset + other.size) for other, offset in placed if other.meets(b)]
        placed.append((b, _first_fit(b.size, taken, alignment)))
    return Plan(algorithm, {b.names: offset for b, offset in placed},
                max((offset + b.size for b, offset in placed), default=0))


def greedy_by_size(buffers: list[Buffer], alignment: int = 4) -> Plan:
    return _greedy(sorted(buffers, key=lambda b: (-b.size, b.first)), alignment, "greedy_by_size")


def greedy_search(buffers: list[Buffer], alignment: int = 4, trials: int | None = None, seed: int = 0) -> Plan:
    """Randomized greedy: greedy_by_size, then `trials` placements in orders by size times a random
    factor in [0.5, 1.5) (seeded, so the plan is reproducible); the smallest arena wins, never larger
    than greedy_by_size's. trials None: 1,000 for up to 100 buffers, fewer (down to 100) for more, a
    placement costing the square of their number."""
    best = greedy_by_size(buffers, alignment)
    if best.arena_size == lower_bound(buffers):
        return Plan("greedy_search", best.offsets, best.arena_size)  # nothing can be smaller
    if trials is None:
        trials = min(1000, max(100, 10_000_000 // max(len(buffers), 1) ** 2))
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        keys = [b.size * factor for b, factor in zip(buffers, rng.uniform(0.5, 1.5, len(buffers)))]
        plan = _greedy([buffers[i] for i in np.argsort(keys)[::-1]], alignment, "greedy_search")
        if plan.arena_size < best.arena_size:
            best = plan
    return Plan("greedy_search", best.offsets, best.arena_size)


def sources(graph: Graph, buffers: list[Buffer]) -> dict[tuple[str, ...], tuple[str, ...] | None]:
    """For each buffer, the buffer of its producing op's first activation input (None for graph
    inputs and ops that read only constants): what head_tail alternates against."""
    by_name = {name: b for b in buffers for name in b.names}
    result: dict[tuple[str, ...], tuple[str, ...] | None] = {}
    for op in graph.ops:
        activations = [by_name[n].names for n in op.inputs if n in by_name]
        for name in op.outputs:
            result.setdefault(by_name[name].names, activations[0] if activations else None)
    return result


def head_tail(buffers: list[Buffer], source: dict, alignment: int = 4) -> Plan:
    """source: sources(graph, buffers)."""
    side: dict[tuple[str, ...], str] = {}
    depth: dict[tuple[str, ...], int] = {}  # offset from the buffer's own end of the arena
    for b in sorted(buffers, key=lambda b: b.first):
        end = "tail" if side.get(source.get(b.names)) == "head" else "head"
        taken = [(depth[o.names], depth[o.names] + o.size) for o in buffers
                 if side.get(o.names) == end and o.meets(b)]
        side[b.names], depth[b.names] = end, _first_fit(b.size, taken, alignment)
    heads = [b for b in buffers if side[b.names] == "head"]
    tails = [b for b in buffers if side[b.names] == "tail"]
    arena = max([depth[b.names] + b.size for b in buffers] +
                [depth[h.names] + h.size + depth[t.names] + t.size for h in heads for t in tails if h.meets(t)],
                default=0)
    offsets = {b.names: depth[b.names] if side[b.names] == "head" else arena - depth[b.names] - b.size
               for b in buffers}
    return Plan("head_tail", offsets, arena)


def overlaps(buffers: list[Buffer], plan: Plan) -> list[tuple[Buffer, Buffer]]:
    """Pairs of buffers that are live together and share bytes in the plan (empty for a valid plan)."""
    spans = [(b, plan.offsets[b.names]) for b in buffers]
    return [(a, b) for i, (a, oa) in enumerate(spans) for b, ob in spans[i + 1:]
            if a.meets(b) and oa < ob + b.size and ob < oa + a.size]

"""MCUNetV2's patch-based inference as a graph rewrite: the first stage of a CNN runs on n x n spatial
patches of its output, one patch at a time, so that its large early activations never exist whole.

    graph2 = patch_based(graph, stage="stem:add", patches=2)   # same bits as graph, less SRAM
    stages(graph)                                              # the tensors a stage may end at

For each patch of the stage's output (rows and columns split as evenly as possible), the ops of the
stage run backwards to find the region of every tensor the patch needs (a conv's output rows
[y0, y1) need input rows [y0*s - p, (y1 - 1)*s - p + (k - 1)*d + 1), clipped to the tensor: its
receptive field, with the halo that neighbouring patches compute again). Then each op runs on its
region: a slice of the graph input (which stays whole, as in MCUNetV2), the op itself with the
padding that falls inside the image only (a patch edge inside the image has real neighbours, not
padding), and a slice where a consumer needs less of a tensor than the region another consumer made
it compute (the residual input of an add, say). A row of patch outputs is concatenated along the
width; the rows, concatenated along the height, are the stage output, and that concatenation writes
nothing: the planner places the rows inside the stage output (planner.in_place_concatenation).

Every op computes what it computed before on the same inputs — windows never straddle a patch edge
without their data — so the result is bit-exact with the plain schedule; the tests run both.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from .graph import Graph, Op, Tensor
from .ops.concatenation import ConcatenationAttrs
from .ops.slice import SliceAttrs

SPATIAL = ("conv2d", "depthwise_conv2d", "avg_pool2d", "max_pool2d", "add", "mul")

Region = tuple[tuple[int, int], tuple[int, int]]  # ((row start, row stop), (column start, column stop))


class PatchError(ValueError):
    pass


def _window(graph: Graph, op: Op):
    """(kernel, stride, pad, dilation) of a spatial op, each (rows, columns)."""
    a = op.attrs
    if op.kind in ("conv2d", "depthwise_conv2d"):
        return graph.tensors[op.inputs[1]].shape[1:3], a.stride, a.pad, a.dilation
    if op.kind in ("avg_pool2d", "max_pool2d"):
        return a.filter, a.stride, a.pad, (1, 1)
    return (1, 1), (1, 1), (0, 0), (1, 1)


def _needs(graph: Graph, op: Op, out: Region) -> Region:
    """The region of the op's activation input(s) that its output region reads."""
    kernel, stride, pad, dilation = _window(graph, op)
    size = graph.tensors[op.inputs[0]].shape[1:3]
    return tuple((max(0, lo * s - p), min(n, (hi - 1) * s - p + (k - 1) * d + 1))
                 for (lo, hi), k, s, p, d, n in zip(out, kernel, stride, pad, dilation, size))


def _activations(graph: Graph, op: Op) -> list[str]:
    return [name for name in op.inputs if graph.tensors[name].data is None]


def stages(graph: Graph) -> list[str]:
    """The tensors a patch stage may end at, in op order: outputs of a prefix of spatial ops on the
    single 4-D input (batch 1), after which no other tensor of the prefix is read."""
    if len(graph.inputs) != 1 or len(graph.tensors[graph.inputs[0]].shape) != 4:
        return []
    image = graph.inputs[0]
    if graph.tensors[image].shape[0] != 1:
        return []
    prefix: list[Op] = []
    for op in graph.ops:
        out_shape = graph.tensors[op.outputs[0]].shape
        if op.kind not in SPATIAL or len(out_shape) != 4 or (op.kind in ("add", "mul") and any(
                graph.tensors[n].shape != out_shape for n in op.inputs)):  # a broadcast operand has no patches
            break
        prefix.append(op)
    found = []
    for k, op in enumerate(prefix):
        inside = {o.outputs[0] for o in prefix[:k + 1]} | {image}
        later = [n for o in graph.ops[k + 1:] for n in o.inputs]
        if all(n == op.outputs[0] for n in later if n in inside) and op.outputs[0] not in graph.outputs:
            found.append(op.outputs[0])
    return found


def _splits(size: int, parts: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, size, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def patch_based(graph: Graph, stage: str, patches: int) -> Graph:
    """`graph` with the ops up to the one writing `stage` (one of stages(graph)) run on patches x
    patches patches of it. Raises PatchError naming what prevents it."""
    if stage not in stages(graph):
        raise PatchError(f"patch-based inference: {stage!r} does not end a stage of spatial ops on the input "
                         f"(possible ends: {', '.join(stages(graph)) or 'none'})")
    end = next(i for i, op in enumerate(graph.ops) if op.outputs[0] == stage)
    stage_ops, image = graph.ops[:end + 1], graph.inputs[0]
    out_shape = graph.tensors[stage].shape
    if not 1 <= patches <= min(out_shape[1:3]):
        raise PatchError(f"patch-based inference: {patches} x {patches} patches of a {out_shape[1]} x "
                         f"{out_shape[2]} stage output")
    tensors = {n: t for n, t in graph.tensors.items()
               if n in (image, stage) or all(n not in op.outputs for op in stage_ops)}
    ops: list[Op] = []
    rows = []
    for i, row_span in enumerate(_splits(out_shape[1], patches)):
        pieces = []
        for j, col_span in enumerate(_splits(out_shape[2], patches)):
            pieces.append(_emit_patch(graph, stage_ops, stage, (row_span, col_span), f"@p{i}{j}", tensors, ops))
        row = f"{stage}@row{i}"
        tensors[row] = Tensor(row, (1, row_span[1] - row_span[0], out_shape[2], out_shape[3]), "int8",
                              graph.tensors[stage].quant)
        ops.append(Op("concatenation", tuple(pieces), (row,), ConcatenationAttrs(2), row))
        rows.append(row)
    ops.append(Op("concatenation", tuple(rows), (stage,), ConcatenationAttrs(1), f"{stage}@rows"))
    result = Graph(tensors, ops + graph.ops[end + 1:], list(graph.inputs), list(graph.outputs),
                   {**graph.metadata, "patch_based": {"stage": stage, "patches": patches}})
    result.validate()
    return result


def _emit_patch(graph: Graph, stage_ops: list[Op], stage: str, out: Region, tag: str, tensors: dict,
                ops: list[Op]) -> str:
    """Append the ops computing region `out` of `stage` to `ops` (their tensors to `tensors`);
    returns the name of the patch's output tensor."""
    region: dict[str, Region] = {stage: out}
    for op in reversed(stage_ops):
        if op.outputs[0] not in region:
            continue  # a branch this patch does not need (none in a valid stage)
        needed = _needs(graph, op, region[op.outputs[0]])
        for name in _activations(graph, op):
            old = region.get(name, needed)
            region[name] = tuple((min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(old, needed))

    def local(name: str, want: Region, user: str) -> str:
        """`name`'s patch tensor, cut down to `want` if the region computed is larger."""
        whole = name == graph.inputs[0]  # the graph input is not patched: cut from the whole image
        source, origin = (name, (0, 0)) if whole else (name + tag, (region[name][0][0], region[name][1][0]))
        if not whole and region[name] == want:
            return source
        t = graph.tensors[name]
        begin = (0, want[0][0] - origin[0], want[1][0] - origin[1], 0)
        size = (1, want[0][1] - want[0][0], want[1][1] - want[1][0], t.shape[3])
        cut = f"{name}{tag}>{user}"
        tensors[cut] = Tensor(cut, size, t.dtype, t.quant)
        ops.append(Op("slice", (source,), (cut,), SliceAttrs(begin, size), cut))
        return cut

    for op in stage_ops:
        y = op.outputs[0]
        if y not in region:
            continue
        (y0, y1), (x0, x1) = region[y]
        needed = _needs(graph, op, region[y])
        inputs = tuple(local(n, needed, op.name or y) if graph.tensors[n].data is None else n for n in op.inputs)
        attrs = op.attrs
        if hasattr(attrs, "pad"):
            _, stride, pad, _ = _window(graph, op)
            # the padding above/left of this patch: only where its window starts outside the image
            attrs = dataclasses.replace(attrs, pad=tuple(max(0, p - lo * s) for p, lo, s in zip(pad, (y0, x0), stride)))
        t = graph.tensors[y]
        tensors[y + tag] = Tensor(y + tag, (1, y1 - y0, x1 - x0, t.shape[3]), t.dtype, t.quant)
        ops.append(Op(op.kind, inputs, (y + tag,), attrs, f"{op.name or y}{tag}"))
    return stage + tag

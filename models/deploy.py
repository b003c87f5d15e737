"""Deployment: a Graph lowered to C kernel calls, its arena planned, and both serialized as the model
blob that the graph executor runs (runtime_c/executor/mcusim_graph.c; the format is in
runtime_c/include/mcusim_graph.h).

    deployment = deploy(graph, MemoryOptions(token_overwrite=True))
    deployment.blob                 # bytes for flash: steps, arena offsets, constants
    deployment.plan.arena_size      # the SRAM arena it needs; deployment.lower_bound beside it
    deployment.offset("x")          # where tensor x lives in the arena

Lowering keeps the graph's op order: step i runs op i of `deployment.graph`, which is the given graph
with batch matmuls brought to the one operand layout the kernel takes (left [B, M, K], right
transposed [B, N, K]) by explicit transposes and, under patch-based inference, its first stage
rewritten into patches (models/patching.py); the reference interpreter runs that graph to the same
bits. The memory options choose kernels, buffer sharing and that rewrite, never the arithmetic, so
every option computes what the plain schedule computes.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from mcusim.errors import EX_DATAERR, McusimError, UsageError

from .blob import Call, Step, serialize
from .graph import Graph, Op, Tensor
from .interpreter import op_params
from .names import TargetError, describe, find_op
from .ops import Lowering, op_def
from .ops.batch_matmul import BatchMatmulAttrs
from .ops.transpose import TransposeAttrs
from .patching import PatchError, patch_based, stages
from .sparse import SPARSE_KINDS, choose
from .planner import (Buffer, Plan, activation_buffers, greedy_by_size, greedy_search, head_tail, lower_bound,
                      sources)

PLANNERS = ("greedy_search", "greedy_by_size", "head_tail")


class DeployError(McusimError):
    """A graph the executor cannot run as asked, or a model that does not fit its board."""

    exit_code = EX_DATAERR


WHOLE = (1 << 16, 1 << 16)  # MemoryOptions.patch_embed: sub-kernels as large as the kernel


@dataclass(frozen=True)
class MemoryOptions:
    """The memory techniques a deployment uses (each bit-exact with the plain schedule).

    token_overwrite: MCUFormer's token overwriting; a linear layer whose input no later op reads
        writes its output over it (fully_connected_inplace_s8, one buffer of max(in, out)).
    inplace_depthwise: MCUNetV2's in-place depthwise; a same-size depthwise conv (multiplier 1) whose
        input no later op reads writes its output over it (depthwise_conv2d_inplace_s8).
    patch_embed: MCUFormer's patch-embedding decomposition; every conv whose stride equals its kernel
        (no padding, no dilation) runs as patch_embed_s8 with sub-kernels of at most this (height,
        width) that divide the kernel (WHOLE: the kernel itself, undecomposed); None runs them as conv2d.
    planner: "greedy_search" (greedy_by_size over perturbed orders, the best of many), "greedy_by_size"
        (TFLite Micro) or "head_tail" (TinyFormer).
    patches, patch_stage: MCUNetV2's patch-based inference (models/patching.py): the ops up to the
        op patch_stage names (a target: models/names.py find_op, e.g. "op3", "3", a name or a unique
        suffix) run on patches x patches spatial patches. patches -1 or patch_stage None: chosen by
        planning every feasible choice (2 to 4 patches, every stage end; a stage output smaller than
        the patch grid is skipped) and keeping the smallest arena, or the plain schedule if none is
        smaller (Deployment.patch_choice says which and why). 0: off. Given both, the request is
        taken as it is or refused.
    sparse_weights: TinyFormer's adaptive sparse storage (models/sparse.py), on unless "dense-weights"
        is given: a fully connected, conv or depthwise layer whose filter is smaller block run-length
        encoded (at its best block size), and sparse enough that the sparse kernel is the faster
        (models/sparse.py BREAK_EVEN), is stored so and runs the sparse kernel on the stream. A layer
        that runs in place or as a patch embedding keeps its dense filter.
    sparse_for_flash: "sparse-flash": store every filter sparse whose stream is smaller, faster or
        not (TinyFormer's flash-optimal choice).
    scratch: the kernels may take scratch memory on the stack for speed (conv2d's im2col columns,
        softmax's exp table: models/ops SCRATCH, reported per step); "no-scratch" lowers to the
        kernels that take none (conv2d_direct, softmax), the memory-optimal and slower choice.
    """

    token_overwrite: bool = False
    inplace_depthwise: bool = False
    patch_embed: tuple[int, int] | None = None
    planner: str = "greedy_search"
    patches: int = 0
    patch_stage: str | None = None
    sparse_weights: bool = True
    sparse_for_flash: bool = False
    scratch: bool = True

    NAMES = ("token-overwrite", "inplace-depthwise", "patch-embed[=HxW]", "patch-based[=N][@OP]", "head-tail",
             "greedy-by-size", "dense-weights", "sparse-flash", "no-scratch")

    @classmethod
    def parse(cls, text: str) -> "MemoryOptions":
        """The `--memory-opts` syntax: comma-separated names, e.g. "token-overwrite,patch-embed=2x2";
        "none" for none; "all" for all (patch-embed sub-kernels of 2x2, patch-based chosen)."""
        options = cls()
        for item in filter(None, (part.strip() for part in text.split(","))):
            name, _, value = item.partition("=")
            if name == "none" and not value:
                continue
            if name == "all" and not value:
                options = cls(True, True, (2, 2), "head_tail", -1)
            elif name == "token-overwrite" and not value:
                options = dataclasses.replace(options, token_overwrite=True)
            elif name == "inplace-depthwise" and not value:
                options = dataclasses.replace(options, inplace_depthwise=True)
            elif name == "dense-weights" and not value:
                options = dataclasses.replace(options, sparse_weights=False)
            elif name == "sparse-flash" and not value:
                options = dataclasses.replace(options, sparse_for_flash=True)
            elif name == "no-scratch" and not value:
                options = dataclasses.replace(options, scratch=False)
            elif name in ("head-tail", "greedy-by-size") and not value:
                options = dataclasses.replace(options, planner=name.replace("-", "_"))
            elif name == "patch-based" or name.startswith("patch-based@"):
                m = re.fullmatch(r"patch-based(?:=(\d+)?)?(?:@(.+))?", item)
                if not m or (m.group(1) and int(m.group(1)) < 1):
                    raise UsageError(f"--memory-opts {item}: write patch-based, patch-based=N, patch-based@OP or "
                                     "patch-based=N@OP (OP: an op index as `mcusim check` lists it, e.g. op3, "
                                     "or a name)")
                options = dataclasses.replace(options, patches=int(m.group(1)) if m.group(1) else -1,
                                              patch_stage=m.group(2))
            elif name == "patch-embed":
                m = re.fullmatch(r"(\d+)x(\d+)", value)
                if value and (not m or min(int(m.group(1)), int(m.group(2))) < 1):
                    raise UsageError(f"--memory-opts {item}: the sub-kernel size is HxW, e.g. patch-embed=2x2")
                options = dataclasses.replace(options, patch_embed=(int(m.group(1)), int(m.group(2))) if m else WHOLE)
            else:
                raise UsageError(f"--memory-opts: unknown option {item!r}; known: none, all, {', '.join(cls.NAMES)}")
        return options

    def __str__(self) -> str:
        parts = (["token-overwrite"] if self.token_overwrite else []) + \
                (["inplace-depthwise"] if self.inplace_depthwise else [])
        if self.patch_embed:
            h, w = self.patch_embed
            parts.append("patch-embed" if self.patch_embed == WHOLE else f"patch-embed={h}x{w}")
        if self.planner != "greedy_search":
            parts.append(self.planner.replace("_", "-"))
        if self.patches:
            count = "" if self.patches < 0 else f"={self.patches}"
            parts.append(f"patch-based{count}{'@' + self.patch_stage if self.patch_stage else ''}")
        if not self.sparse_weights:
            parts.append("dense-weights")
        if self.sparse_for_flash:
            parts.append("sparse-flash")
        if not self.scratch:
            parts.append("no-scratch")
        return ",".join(parts) or "none"


# ---- lowering --------------------------------------------------------------------------------------

def lower_op(graph: Graph, op: Op, options: MemoryOptions, in_place: bool = False) -> tuple[Call, ...]:
    """The kernel calls that compute `op` (in_place: the op's output shares its input's buffer), as
    its registered lowering gives them."""
    definition = op_def(op.kind)
    if definition.lower is None:
        return ()
    return definition.lower(Lowering(graph, op, op_params(graph, op), options, in_place))


def canonical(graph: Graph) -> Graph:
    """`graph` with every batch_matmul in the kernel's layout (adj_x false, adj_y true): an operand in
    the other layout is transposed by an op of its own first. Other ops are shared, not copied."""
    if all(op.kind != "batch_matmul" or (not op.attrs.adj_x and op.attrs.adj_y) for op in graph.ops):
        return graph
    tensors, ops = dict(graph.tensors), []
    for op in graph.ops:
        if op.kind != "batch_matmul":
            ops.append(op)
            continue
        inputs = list(op.inputs)
        for index, transposed in ((0, op.attrs.adj_x), (1, not op.attrs.adj_y)):
            if transposed:
                src = tensors[inputs[index]]
                name = f"{op.name}/operand{index}_t"
                if not op.name or name in tensors:  # an imported graph's op names repeat (BATCH_MATMUL)
                    name = f"{op.outputs[0]}/operand{index}_t"
                *batch, r, c = src.shape
                tensors[name] = Tensor(name, (*batch, c, r), src.dtype, src.quant)
                swap = (*range(len(batch)), len(batch) + 1, len(batch))  # the last two axes
                ops.append(Op("transpose", (src.name,), (name,), TransposeAttrs(swap), name))
                inputs[index] = name
        ops.append(Op("batch_matmul", tuple(inputs), op.outputs, BatchMatmulAttrs(False, True), op.name))
    result = Graph(tensors, ops, list(graph.inputs), list(graph.outputs), dict(graph.metadata))
    result.validate()
    return result


# ---- the deployment --------------------------------------------------------------------------------

@dataclass
class Deployment:
    graph: Graph              # the graph as run, step i running graph.ops[i]: canonical(graph), patched
    options: MemoryOptions
    buffers: list[Buffer]
    plan: Plan
    steps: list[Step]
    blob: bytes
    patch_choice: PatchChoice | None = None  # what the automatic patch-based choice took, and why

    def __post_init__(self):
        self._buffer_of = {name: b for b in self.buffers for name in b.names}

    @property
    def lower_bound(self) -> int:
        return lower_bound(self.buffers)

    def buffer(self, tensor: str) -> Buffer:
        return self._buffer_of[tensor]

    def offset(self, tensor: str) -> int:
        b = self._buffer_of[tensor]
        return self.plan.offsets[b.names] + b.view_offset(tensor)

    def held(self, step: int) -> list[Buffer]:
        """The buffers holding data that step `step` or a later one reads, as the step starts."""
        inputs = {self._buffer_of[name].names for name in self.graph.inputs}
        return [b for b in self.buffers if (b.first < step or b.names in inputs) and b.last >= step]

    def written(self, step: int) -> list[Buffer]:
        """The buffers step `step` writes (its outputs)."""
        return [self._buffer_of[name] for name in self.graph.ops[step].outputs]


def _plan(graph: Graph, options: MemoryOptions, search: bool = True) -> tuple[list[Buffer], Plan]:
    """search False: greedy_by_size stands in for greedy_search (to compare many candidate graphs)."""
    buffers = activation_buffers(graph, token_overwrite=options.token_overwrite,
                                 inplace_depthwise=options.inplace_depthwise)
    if options.planner == "head_tail":
        return buffers, head_tail(buffers, sources(graph, buffers))
    if options.planner == "greedy_search" and search:
        return buffers, greedy_search(buffers)
    return buffers, greedy_by_size(buffers)


@dataclass(frozen=True)
class PatchChoice:
    """What patch-based inference did (MemoryOptions.patches): the stage end and patch count taken
    (stage None: none, the plain schedule), the arenas compared (planned with greedy-by-size in place
    of greedy search, as the choice compares them), how many choices were planned and how many were
    infeasible, with one reason."""

    stage: str | None
    stage_op: int | None   # the index of the op writing `stage` in the graph before the rewrite
    patches: int
    arena: int
    plain_arena: int
    planned: int
    infeasible: int
    reason: str | None     # why one choice was infeasible (PatchError's message), if any was
    asked: bool = False    # the stage and count were given (patch-based=N@OP), not chosen
    quick: bool = False    # the arenas are greedy-by-size plans standing in for greedy search

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        planned = " (both planned greedy-by-size)" if self.quick else ""
        skipped = (f"; {self.infeasible} infeasible skipped ({self.reason.removeprefix('patch-based inference: ')})"
                   if self.infeasible else "")
        if self.asked:
            return (f"patch-based: {self.patches} x {self.patches} patches up to op{self.stage_op} ({self.stage}), "
                    f"as asked: arena {self.arena:,} B against {self.plain_arena:,} B unpatched{planned}")
        if self.stage is not None:
            return (f"patch-based: {self.patches} x {self.patches} patches up to op{self.stage_op} ({self.stage}), "
                    f"the smallest arena of {self.planned} feasible choices: {self.arena:,} B against "
                    f"{self.plain_arena:,} B unpatched{planned}{skipped}")
        if self.planned:
            return (f"patch-based: off; none of the {self.planned} feasible choices plans an arena below the "
                    f"unpatched {self.plain_arena:,} B{planned}{skipped}")
        if self.infeasible:
            return f"patch-based: off; no stage end of this graph can be cut into 2 to 4 patches{skipped}"
        return "patch-based: off; the graph has no stage (spatial ops on its single 4-D input) to run on patches"


def _stage_of(graph: Graph, target: str) -> str:
    """The stage end tensor `target` names (models/names.py find_op, among the ops writing a stage end)."""
    ends = stages(graph)
    writers = [i for i, op in enumerate(graph.ops) if op.outputs[0] in ends]
    try:
        i = find_op(graph, target, writers)
    except TargetError as e:
        raise UsageError(f"--memory-opts patch-based: {e}") from None
    if i not in writers:
        raise DeployError(f"patch-based inference: op{i} ({graph.ops[i].kind}) does not end a stage of spatial ops "
                          f"on the input; stage ends: {describe(graph, writers)}")
    return graph.ops[i].outputs[0]


def _patched(graph: Graph, options: MemoryOptions) -> tuple[Graph, PatchChoice | None]:
    """The graph under options.patches / patch_stage (see MemoryOptions) and what was chosen (None:
    patch-based inference off). An explicit stage and count that cannot be done, or a partly explicit
    request no choice can meet, raise DeployError; the automatic choice skips infeasible choices."""
    if not options.patches:
        return graph, None
    stage = _stage_of(graph, options.patch_stage) if options.patch_stage else None
    plain_arena = _plan(graph, options, search=False)[1].arena_size
    quick = options.planner == "greedy_search"
    if options.patches > 0 and stage:
        try:
            patched = patch_based(graph, stage, options.patches)
        except PatchError as e:
            raise DeployError(str(e)) from None
        arena = _plan(patched, options, search=False)[1].arena_size
        return patched, PatchChoice(stage, _writer(graph, stage), options.patches, arena, plain_arena, 1, 0, None,
                                    asked=True, quick=quick)
    best, best_arena, best_choice = graph, plain_arena, (None, 0)
    planned, infeasible, reason = 0, 0, None
    for end in [stage] if stage else stages(graph):
        for n in [options.patches] if options.patches > 0 else (2, 3, 4):
            try:
                candidate = patch_based(graph, end, n)
            except PatchError as e:
                infeasible, reason = infeasible + 1, reason or str(e)
                continue
            planned += 1
            arena = _plan(candidate, options, search=False)[1].arena_size
            if arena < best_arena:
                best, best_arena, best_choice = candidate, arena, (end, n)
    if not planned and (stage or options.patches > 0):
        asked = MemoryOptions(patches=options.patches, patch_stage=options.patch_stage)
        raise DeployError(f"--memory-opts {asked}: no feasible choice "
                          f"({(reason or 'the graph has no stage end').removeprefix('patch-based inference: ')})")
    end, n = best_choice
    return best, PatchChoice(end, _writer(graph, end), n, best_arena, plain_arena, planned, infeasible, reason,
                             quick=quick)


def _writer(graph: Graph, tensor: str | None) -> int | None:
    return next((i for i, op in enumerate(graph.ops) if op.outputs[0] == tensor), None)


def deploy(graph: Graph, options: MemoryOptions = MemoryOptions()) -> Deployment:
    if options.planner not in PLANNERS:
        raise UsageError(f"planner {options.planner!r}: known planners are {', '.join(PLANNERS)}")
    graph, choice = _patched(canonical(graph), options)
    buffers, plan = _plan(graph, options)
    buffer_of = {name: b for b in buffers for name in b.names}
    steps = []
    for i, op in enumerate(graph.ops):
        shared = all(buffer_of.get(name) is buffer_of[op.outputs[0]] for name in op.inputs)
        if op.kind == "concatenation" and shared:
            calls = ()  # its inputs were written in place, as views of its output
        else:
            in_place = op.kind in ("fully_connected", "depthwise_conv2d") and \
                buffer_of[op.inputs[0]] is buffer_of[op.outputs[0]]
            calls = lower_op(graph, op, options, in_place)
        steps.append(Step(op.name or f"{op.kind}_{i}", op.kind, calls))
    offsets = {name: plan.offsets[b.names] + b.view_offset(name) for name, b in buffer_of.items()}
    return Deployment(graph, options, buffers, plan, steps, serialize(steps, offsets, plan.arena_size), choice)


# ---- weight storage --------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerWeights:
    """How step `step`'s filter is stored in the blob: "dense", or "sparse" (block run-length encoded,
    models/sparse.py, in blocks of `block`), its bytes so and dense; `stream` the smallest stream's
    bytes where one is smaller than the dense filter (else None); `why` the reason for the choice."""

    step: int
    kind: str
    tensor: str
    storage: str
    block: int | None
    bytes: int
    dense_bytes: int
    stream: int | None
    why: str

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def weight_storage(d: Deployment) -> list[LayerWeights]:
    """One entry per step with a filter that could be stored sparse (fully connected, conv, depthwise),
    as its lowering stored it (the kernels of its calls) and why (MemoryOptions.sparse_weights)."""
    layers = []
    for i, (op, step) in enumerate(zip(d.graph.ops, d.steps)):
        w = d.graph.tensors[op.inputs[1]] if op.kind in SPARSE_KINDS else None
        if w is None or w.data is None:
            continue
        kernels = {call.kernel for call in step.calls}
        smallest = choose(op.kind, w.data, for_speed=False)
        stream = len(smallest.stream) if smallest else None
        if any(k.startswith("sparse_") for k in kernels):
            stored = choose(op.kind, w.data, for_speed=not d.options.sparse_for_flash)
            why = "smaller (sparse-flash)" if d.options.sparse_for_flash else "smaller and faster"
            layers.append(LayerWeights(i, op.kind, w.name, "sparse", stored.block, len(stored.stream), w.data.size,
                                       stream, why))
            continue
        if smallest is None:
            why = "no block-RLE stream is smaller"
        elif not d.options.sparse_weights:
            why = "dense-weights"
        elif "patch_embed" in kernels or any(k.endswith("_inplace") for k in kernels):
            why = "runs in place or as a patch embedding, on the dense kernel"
        else:
            why = f"a {stream:,} B stream is smaller but slower (sparse-flash stores it)"
        layers.append(LayerWeights(i, op.kind, w.name, "dense", None, w.data.size, w.data.size, stream, why))
    return layers


def weight_summary(layers: list[LayerWeights], options: MemoryOptions) -> str:
    """One line: how many layers are stored sparse and what that saves, how many more could be, and the
    option that turns sparse storage off (or on). Layers sharing a filter (patch copies) count once."""
    unique = list({layer.tensor: layer for layer in layers}.values())
    if not unique:
        return "no layer with weights that could be stored sparse"
    sparse = [layer for layer in unique if layer.storage == "sparse"]
    slower = [layer for layer in unique if layer.storage == "dense" and layer.stream is not None]
    parts = []
    if sparse:
        parts.append(f"{len(sparse)} of {len(unique)} layers stored block-RLE sparse "
                     f"({sum(x.bytes for x in sparse):,} B instead of {sum(x.dense_bytes for x in sparse):,} B "
                     f"dense), {len(unique) - len(sparse)} dense")
    else:
        parts.append(f"all {len(unique)} layers stored dense" + ("" if slower else ": no block-RLE stream is smaller"))
    if slower:
        parts.append(f"{len(slower)} dense would be smaller as a stream "
                     f"({sum(x.dense_bytes - x.stream for x in slower):,} B less)"
                     + ("" if not options.sparse_weights else " but run slower: `--memory-opts sparse-flash` stores "
                        "them so"))
    if sparse:
        parts.append("`--memory-opts dense-weights` stores every layer dense")
    elif not options.sparse_weights:
        parts.append("dense-weights is on")
    return "; ".join(parts)

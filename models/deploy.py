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
from .ops import Lowering, op_def
from .ops.batch_matmul import BatchMatmulAttrs
from .ops.transpose import TransposeAttrs
from .patching import PatchError, patch_based, stages
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
        tensor patch_stage run on patches x patches spatial patches. patches -1 or patch_stage None:
        chosen by planning every choice (2 to 4 patches, every stage end) and keeping the smallest
        arena, or the plain schedule if none is smaller. 0: off.
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

    NAMES = ("token-overwrite", "inplace-depthwise", "patch-embed[=HxW]", "patch-based[=N[@TENSOR]]", "head-tail",
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
            elif name == "patch-based":
                m = re.fullmatch(r"(\d+)?(?:@(.+))?", value)
                if not m or (m.group(1) and int(m.group(1)) < 1):
                    raise UsageError(f"--memory-opts {item}: write patch-based, patch-based=N or patch-based=N@TENSOR")
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
                name = f"{op.name or op.outputs[0]}/operand{index}_t"
                b, r, c = src.shape
                tensors[name] = Tensor(name, (b, c, r), src.dtype, src.quant)
                ops.append(Op("transpose", (src.name,), (name,), TransposeAttrs((0, 2, 1)), name))
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


def _patched(graph: Graph, options: MemoryOptions) -> Graph:
    """The graph under options.patches / patch_stage (see MemoryOptions)."""
    if not options.patches:
        return graph
    try:
        if options.patches > 0 and options.patch_stage:
            return patch_based(graph, options.patch_stage, options.patches)
        best, best_arena = graph, _plan(graph, options, search=False)[1].arena_size
        for stage in [options.patch_stage] if options.patch_stage else stages(graph):
            for n in [options.patches] if options.patches > 0 else (2, 3, 4):
                candidate = patch_based(graph, stage, n)
                arena = _plan(candidate, options, search=False)[1].arena_size
                if arena < best_arena:
                    best, best_arena = candidate, arena
        return best
    except PatchError as e:
        raise DeployError(str(e)) from None


def deploy(graph: Graph, options: MemoryOptions = MemoryOptions()) -> Deployment:
    if options.planner not in PLANNERS:
        raise UsageError(f"planner {options.planner!r}: known planners are {', '.join(PLANNERS)}")
    graph = _patched(canonical(graph), options)
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
    return Deployment(graph, options, buffers, plan, steps, serialize(steps, offsets, plan.arena_size))

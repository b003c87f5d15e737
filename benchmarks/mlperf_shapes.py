"""The four MLPerf Tiny v1.x int8 workloads, layer for layer, measured in the emulator and set beside
the published latencies: Plumerai's inference engine (v1.1 results, DISCO-F746NG) and ST's X-CUBE-AI
8.1 (H7A3).

The graphs have the reference models' shapes (KWS DS-CNN, IC ResNet-8, VWW MobileNetV1 0.25 at
96x96, AD FC autoencoder) with random dense int8 weights (no zero, per-channel scales) and
per-tensor activation scales that keep the int8 values spread layer after layer (neither saturated
nor collapsed): cycles depend on the shapes, hardly on the values. Each is deployed with dense
weights (no layer stored sparse) and run on one random input per board (DSP kernels).

Figures: cycles (M) and latency (ms) per board, the published cycles, our F746 / Plumerai ratio;
then where the cycles go on the F746: per layer kind (cycles, share, MACs, cycles per MAC and per
output element), and with --layers every step (its shape, kernel calls, cycles, cycles per MAC).

    python benchmarks/mlperf_shapes.py [--boards stm32f427,stm32f746,stm32h743]
                                       [--workloads kws,ic,vww,ad] [--layers] [--seed N]
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from mcusim.boards import get_board
from mcusim.models.deploy import MemoryOptions, deploy
from mcusim.models.evaluate import random_inputs
from mcusim.models.graph import Graph, Op, Quant, Tensor
from mcusim.models.ops.common import ElementwiseAttrs
from mcusim.models.ops.conv2d import Conv2DAttrs
from mcusim.models.ops.depthwise_conv2d import DepthwiseConv2DAttrs
from mcusim.models.ops.fully_connected import FullyConnectedAttrs
from mcusim.models.ops.pool2d import Pool2DAttrs
from mcusim.models.ops.softmax import SoftmaxAttrs
from mcusim.models.runner import BoardRunner
from mcusim.toolchain import RUNTIME_C

BOARDS = ("stm32f427", "stm32f746", "stm32h743")
BREAKDOWN_BOARD = "stm32f746"
# Published figures: Plumerai v1.1 on DISCO-F746NG (M cycles, ms); X-CUBE-AI 8.1 on H7A3 (M cycles).
PLUMERAI_F746 = {"kws": (3.83, 17.75), "ic": (13.6, 62.9), "vww": (7.36, 34.1), "ad": (0.37, 1.71)}
XCUBE_H7A3 = {"kws": 4.30, "ic": 14.5, "vww": 8.30, "ad": 0.51}
RMS = 40  # the spread an activation's int8 values get before its ReLU (q - zero point)


@dataclass
class Builder:
    """An int8 graph built layer by layer; each layer call takes and returns an activation's name."""

    name: str
    rng: np.random.Generator
    tensors: dict[str, Tensor] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    macs: dict[str, int] = field(default_factory=dict)     # op name -> multiply-accumulates
    rms: dict[str, float] = field(default_factory=dict)    # activation -> expected rms of q - zero point
    shapes: dict[str, str] = field(default_factory=dict)   # op name -> shape summary

    def _activation(self, name: str, shape, scale: float, zero_point: int, rms: float = RMS) -> str:
        """rms: RMS, or RMS / sqrt(2) after a ReLU (zero point -128: half the values at zero)."""
        self.tensors[name] = Tensor(name, shape, "int8", Quant((scale,), (zero_point,)))
        self.rms[name] = rms / math.sqrt(2) if zero_point == -128 else rms
        return name

    def input(self, *shape: int) -> str:
        self.inputs.append(self._activation("input", (1, *shape), 0.02, 0, 74))  # uniform int8
        return "input"

    def _op(self, kind: str, inputs, output: str, attrs, summary: str, macs: int = 0) -> str:
        name = f"{len(self.ops):02d}_{kind}"
        self.ops.append(Op(kind, tuple(inputs), (output,), attrs, name=name))
        self.macs[name], self.shapes[name] = macs, summary
        return output

    def _weighted(self, x: str, w_shape, channels: int, axis: int, depth: int, activation: str):
        """Random dense weights (no zero) with per-channel scales, an int32 bias, and an output
        quantization that keeps the activations spread over int8 (rms RMS before the activation)
        layer after layer, whatever the depth: random int8 weights (rms 73) times inputs of rms
        rms(x) sum to an accumulator of rms 73 * rms(x) * sqrt(depth). The weight scales make the
        output's real scale about x's, so the scales stay near the input's (0.02) through the
        network, as the softmax needs."""
        i = len(self.ops)
        w = self.rng.integers(1, 128, w_shape) * self.rng.choice([-1, 1], w_shape)
        spread = self.rng.uniform(0.5, 1.5, channels)
        w_scales = spread * RMS / (73 * self.rms[x] * math.sqrt(depth))
        x_scale = self.tensors[x].quant.scale[0]
        weights = Tensor(f"w{i}", w_shape, "int8", Quant(w_scales, (0,) * channels, axis), w.astype(np.int8))
        bias = Tensor(f"b{i}", (channels,), "int32", Quant(x_scale * w_scales, (0,) * channels, 0),
                      self.rng.integers(-1000, 1000, channels).astype(np.int32))
        self.tensors.update({weights.name: weights, bias.name: bias})
        return (x, weights.name, bias.name), x_scale * float(spread.mean()), -128 if activation != "none" else 0

    def conv(self, x: str, channels: int | None, kernel=(3, 3), stride=1, activation: str = "relu",
             depthwise: bool = False) -> str:
        """conv2d or depthwise_conv2d (channels None: the input's) with SAME padding (TensorFlow's:
        the odd pixel below/right)."""
        _, h, w, c = self.tensors[x].shape
        kh, kw = kernel
        oh, ow = -(-h // stride), -(-w // stride)
        pad = (max((oh - 1) * stride + kh - h, 0) // 2, max((ow - 1) * stride + kw - w, 0) // 2)
        if depthwise:
            channels = c
            inputs, scale, zp = self._weighted(x, (1, kh, kw, c), c, 3, kh * kw, activation)
            attrs, kind, macs = DepthwiseConv2DAttrs((stride, stride), pad, activation=activation), \
                "depthwise_conv2d", oh * ow * c * kh * kw
        else:
            inputs, scale, zp = self._weighted(x, (channels, kh, kw, c), channels, 0, kh * kw * c, activation)
            attrs, kind, macs = Conv2DAttrs((stride, stride), pad, activation=activation), \
                "conv2d", oh * ow * channels * kh * kw * c
        y = self._activation(f"t{len(self.ops)}", (1, oh, ow, channels), scale, zp)
        summary = f"{h}x{w}x{c} -> {oh}x{ow}x{channels} k{kh}x{kw} s{stride}"
        return self._op(kind, inputs, y, attrs, summary, macs)

    def fc(self, x: str, units: int, activation: str = "relu") -> str:
        depth = self.tensors[x].shape[-1]
        inputs, scale, zp = self._weighted(x, (units, depth), units, 0, depth, activation)
        y = self._activation(f"t{len(self.ops)}", (1, units), scale, zp)
        return self._op("fully_connected", inputs, y, FullyConnectedAttrs(activation), f"{depth} -> {units}",
                        depth * units)

    def add(self, a: str, b: str, activation: str = "relu") -> str:
        ta, tb = self.tensors[a], self.tensors[b]
        real = math.hypot(ta.quant.scale[0] * self.rms[a], tb.quant.scale[0] * self.rms[b])
        y = self._activation(f"t{len(self.ops)}", ta.shape, real / RMS, -128 if activation != "none" else 0)
        return self._op("add", (a, b), y, ElementwiseAttrs(activation), "x".join(map(str, ta.shape[1:])))

    def global_avg_pool(self, x: str) -> str:
        t = self.tensors[x]
        _, h, w, c = t.shape
        y = f"t{len(self.ops)}"
        self.tensors[y] = Tensor(y, (1, 1, 1, c), "int8", t.quant)
        self.rms[y] = self.rms[x]  # each channel's mean: about as spread, measured
        return self._op("avg_pool2d", (x,), y, Pool2DAttrs((h, w), (h, w)), f"{h}x{w}x{c} -> {c}")

    def softmax(self, x: str) -> str:
        y = self._activation(f"t{len(self.ops)}", self.tensors[x].shape, 1 / 256, -128)
        return self._op("softmax", (x,), y, SoftmaxAttrs(), str(self.tensors[x].shape[-1]))

    def graph(self, output: str) -> Graph:
        g = Graph(self.tensors, self.ops, self.inputs, [output], {"source": f"mlperf_shapes {self.name}"})
        g.validate()
        return g


def kws(b: Builder) -> str:
    """DS-CNN: conv 10x4 s2 to 64, 4 x (depthwise 3x3, pointwise 64), average pool, FC 12, softmax."""
    x = b.conv(b.input(49, 10, 1), 64, (10, 4), 2)
    for _ in range(4):
        x = b.conv(b.conv(x, 64, depthwise=True), 64, (1, 1))
    return b.softmax(b.fc(b.global_avg_pool(x), 12, "none"))


def ic(b: Builder) -> str:
    """ResNet-8: conv 3x3 16; residual stacks of 16, 32 (s2), 64 (s2); average pool 8x8; FC 10, softmax."""
    x = b.conv(b.input(32, 32, 3), 16)
    for channels, stride in ((16, 1), (32, 2), (64, 2)):
        y = b.conv(b.conv(x, channels, stride=stride), channels, activation="none")
        shortcut = x if stride == 1 else b.conv(x, channels, (1, 1), stride, "none")
        x = b.add(y, shortcut)
    return b.softmax(b.fc(b.global_avg_pool(x), 10, "none"))


def vww(b: Builder) -> str:
    """MobileNetV1 0.25 at 96x96: conv 3x3 s2 to 8, 13 depthwise-pointwise pairs, average pool, FC 2."""
    x = b.conv(b.input(96, 96, 3), 8, stride=2, activation="relu6")
    for channels, stride in ((16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2), *[(128, 1)] * 5,
                             (256, 2), (256, 1)):
        x = b.conv(b.conv(x, None, stride=stride, activation="relu6", depthwise=True), channels, (1, 1),
                   activation="relu6")
    return b.softmax(b.fc(b.global_avg_pool(x), 2, "none"))


def ad(b: Builder) -> str:
    """FC autoencoder: 640-128-128-128-128-8-128-128-128-128-640, ReLU on all but the last layer."""
    x = b.input(640)
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = b.fc(x, units)
    return b.fc(x, 640, "none")


WORKLOADS = {"kws": kws, "ic": ic, "vww": vww, "ad": ad}


def layer_kind(op: Op, graph: Graph) -> str:
    """The op kind, with the kernel size for convolutions (1x1 pointwise apart from 3x3)."""
    if op.kind in ("conv2d", "depthwise_conv2d"):
        _, kh, kw, _ = graph.tensors[op.inputs[1]].shape
        return f"{op.kind} {kh}x{kw}"
    return op.kind


def ratio(cycles: int, count: int) -> str:
    return f"{cycles / count:.2f}" if count else ""


def breakdown(name: str, builder: Builder, deployment, m, layers: bool) -> None:
    """Where the cycles go: per layer kind, then (layers) per step. cyc/MAC for the ops with MACs,
    cyc/out (cycles per output element) for all."""
    graph, total = deployment.graph, m.cycles
    ops = {op.name: op for op in graph.ops}
    outputs = {op.name: int(np.prod(graph.tensors[op.outputs[0]].shape)) for op in graph.ops}
    kinds = defaultdict(lambda: [0, 0, 0, 0])  # kind -> [count, cycles, MACs, output elements]
    for step in m.ops:
        k = kinds[layer_kind(ops[step.name], graph)]
        for i, value in enumerate((1, step.cycles, builder.macs[step.name], outputs[step.name])):
            k[i] += value
    macs = sum(builder.macs.values())
    print(f"\n{name} on {m.board.name}: {total:,} cycles, {macs:,} MACs, {total / macs:.2f} cycles/MAC")
    print(f"| {'layer kind':22} | {'ops':>3} | {'cycles':>11} | {'share':>6} | {'MACs':>10} | {'cyc/MAC':>7} | "
          f"{'cyc/out':>7} |")
    print(f"|{'-' * 24}|{'-' * 4}:|{'-' * 12}:|{'-' * 7}:|{'-' * 11}:|{'-' * 8}:|{'-' * 8}:|")
    for kind, (count, cycles, kind_macs, outs) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        print(f"| {kind:22} | {count:>3} | {cycles:>11,} | {cycles / total:>6.1%} | {kind_macs:>10,} | "
              f"{ratio(cycles, kind_macs):>7} | {ratio(cycles, outs):>7} |")
    if not layers:
        return
    print(f"\n| {'step':22} | {'shape':34} | {'kernels':24} | {'cycles':>10} | {'share':>6} | {'MACs':>9} | "
          f"{'cyc/MAC':>7} | {'cyc/out':>7} |")
    print(f"|{'-' * 24}|{'-' * 36}|{'-' * 26}|{'-' * 11}:|{'-' * 7}:|{'-' * 10}:|{'-' * 8}:|{'-' * 8}:|")
    for step, meas in zip(deployment.steps, m.ops):
        kernels = ",".join(dict.fromkeys(call.kernel for call in step.calls)) or "(none)"
        op_macs = builder.macs[step.name]
        print(f"| {step.name:22} | {builder.shapes[step.name]:34} | {kernels:24} | {meas.cycles:>10,} | "
              f"{meas.cycles / total:>6.1%} | {op_macs:>9,} | {ratio(meas.cycles, op_macs):>7} | "
              f"{ratio(meas.cycles, outputs[step.name]):>7} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS), help="comma-separated (default: %(default)s)")
    ap.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default: %(default)s)")
    ap.add_argument("--layers", action="store_true", help="every step's cycles on the F746 (or the first board)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    boards = [get_board(name) for name in args.boards.split(",")]
    names = args.workloads.split(",")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workloads {unknown}; known: {', '.join(WORKLOADS)}")
    detail = next((b for b in boards if b.name == BREAKDOWN_BOARD), boards[0])
    print(f"kernels: {RUNTIME_C}", file=sys.stderr)

    results, details = {}, []
    with tempfile.TemporaryDirectory(prefix="mlperf-shapes-") as workdir:  # this process's firmware copies
        for name in names:
            builder = Builder(name, np.random.default_rng(args.seed))
            graph = builder.graph(WORKLOADS[name](builder))
            deployment = deploy(graph, MemoryOptions(sparse_weights=False))
            x = random_inputs(graph, np.random.default_rng(args.seed))
            for board in boards:
                print(f"{name} on {board.name}...", end=" ", file=sys.stderr, flush=True)
                start = time.perf_counter()
                _, m = BoardRunner(deployment, board, workdir=workdir).run(x)
                print(f"{m.cycles / 1e6:.2f} M cycles ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
                results[name, board.name] = m
                if board is detail:
                    details.append((name, builder, deployment, m))

    header = ["workload", "MMAC"] + [f"{b.name} {unit}" for b in boards for unit in ("Mcyc", "ms")] + \
             ["Plumerai F746 Mcyc (ms)", "X-CUBE-AI H7A3 Mcyc", "ours F746 / Plumerai"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for name, builder, *_ in details:
        row = [name.upper(), f"{sum(builder.macs.values()) / 1e6:.2f}"]
        for b in boards:
            m = results[name, b.name]
            row += [f"{m.cycles / 1e6:.2f}", f"{m.latency_ms:.2f}"]
        plumerai = PLUMERAI_F746[name]
        ours = results.get((name, BREAKDOWN_BOARD))
        row += [f"{plumerai[0]:.2f} ({plumerai[1]:.2f})", f"{XCUBE_H7A3[name]:.2f}",
                f"{ours.cycles / 1e6 / plumerai[0]:.2f}x" if ours else "-"]
        print("| " + " | ".join(row) + " |")
    for detail_args in details:
        breakdown(*detail_args, layers=args.layers)


if __name__ == "__main__":
    main()

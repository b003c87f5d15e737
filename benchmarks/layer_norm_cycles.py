"""Integer LayerNorm (layer_norm_s8) against a float32 LayerNorm in C, in the emulator on the M4 and
M7 boards: cycles per token for each square-root variant, plain and DSP paths, and the speedup over
float; then each variant's error against float64 LayerNorm in output LSBs.

    python benchmarks/layer_norm_cycles.py

Activations: normal, heavy-tailed (Laplace with a few outlier channels), and real: the inputs of
every LayerNorm of the shipped ViT (vit-fmnist-lowrank, PTQ-exported) on 200 Fashion-MNIST test
images, against float64 LayerNorm with the model's float gamma and beta.
"""
from __future__ import annotations

import tempfile

import numpy as np

from mcusim.boards import get_board
from mcusim.models import datasets, zoo
from mcusim.models.evaluate import graph_inputs
from mcusim.models.export import calibrate, export
from mcusim.models.interpreter import run_all
from mcusim.models.kernels import EmulatedKernels, execute
from mcusim.models.ops.layer_norm import LayerNormParams, layer_norm_call, layer_norm_s8
from mcusim.toolchain import RUNTIME_C

SHAPES = [(49, 64), (64, 192), (16, 384)]  # (tokens, channels)
VARIANTS = [("exact", 0), ("newton-4", 4), ("newton-3", 3), ("newton-1", 1)]
INPUT_SCALE, INPUT_ZP, EPS = 0.05, 3, 1e-5
FLOAT_PARAMS = np.dtype([("input_scale", "<f4"), ("input_zp", "<i4"), ("output_scale", "<f4"), ("output_zp", "<i4"),
                         ("eps", "<f4"), ("tokens", "<i4"), ("channels", "<i4")])


def activations(kind: str, tokens: int, channels: int, rng) -> np.ndarray:
    if kind == "normal":
        real = rng.normal(0, 1.5, (tokens, channels))
    else:
        real = rng.laplace(0, 0.8, (tokens, channels))
        real[:, rng.choice(channels, max(1, channels // 32), replace=False)] *= 5.0
    return np.clip(np.round(real / INPUT_SCALE) + INPUT_ZP, -128, 127).astype(np.int8)


def layer_norm_case(x: np.ndarray, rng, sqrt_iterations: int):
    """Float gamma/beta, their export (gamma int8 per channel, beta int32 at gamma_scale 2^-k), the
    float64 LayerNorm quantized to the output, and the integer parameters."""
    channels = x.shape[1]
    gamma = rng.uniform(0.5, 1.5, channels).astype(np.float32)
    beta = rng.uniform(-0.3, 0.3, channels).astype(np.float32)
    xf = INPUT_SCALE * (x.astype(np.float64) - INPUT_ZP)
    yf = gamma * (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + EPS) + beta
    out_scale = float(np.float32((yf.max() - yf.min()) / 255))
    out_zp = int(np.clip(round(-128 - yf.min() / out_scale), -128, 127))
    expected = np.clip(np.round(yf / out_scale) + out_zp, -128, 127)
    gamma_scale = (gamma / 127).astype(np.float32)
    p = LayerNormParams.from_quantization(INPUT_SCALE, gamma_scale, out_scale, out_zp, channels, EPS,
                                          sqrt_iterations=sqrt_iterations)
    g = np.round(gamma / gamma_scale).astype(np.int8)
    b = np.round(beta / (gamma_scale * 2.0 ** -p.scale_bits)).astype(np.int32)
    return gamma, beta, out_scale, out_zp, expected, p, g, b


def float_cycles(kernels: EmulatedKernels, x, gamma, beta, out_scale, out_zp) -> int:
    tokens, channels = x.shape
    params = np.array([(INPUT_SCALE, INPUT_ZP, out_scale, out_zp, EPS, tokens, channels)], FLOAT_PARAMS)
    with kernels.scratch():
        args = [kernels.put(a) for a in (params, gamma, beta, x)]
        kernels.call("layer_norm_f32", *args, kernels.alloc(x.size))
    return kernels.emulator.last_call.cycles


def real_layer_norms(name: str = "vit-fmnist-lowrank", images: int = 200):
    """Yield (op name, int8 input [rows, C], integer params with sqrt_iterations to be set, gamma and
    beta as exported, float64 expected output) for each LayerNorm of the shipped model's graph."""
    from mcusim.models.train import images as model_images, load_checkpoint

    entry = zoo.get(name)
    model, _ = load_checkpoint(entry.checkpoint)
    graph = export(model, calibrate(model, model_images(entry, datasets.load(entry.dataset, "train")[0][:512])))
    values = run_all(graph, [graph_inputs(graph, datasets.load(entry.dataset, "test")[0][:images])])
    for op in (op for op in graph.ops if op.kind == "layer_norm"):
        x, gamma_t, beta_t, y = (graph.tensors[n] for n in (*op.inputs, op.outputs[0]))
        norm = model.get_submodule(op.name)
        rows = values[x.name].reshape(-1, x.shape[-1])
        xf = x.quant.scale[0] * (rows.astype(np.float64) - x.quant.zero_point[0])
        gamma, beta = (t.detach().double().numpy() for t in (norm.weight, norm.bias))
        yf = gamma * (xf - xf.mean(-1, keepdims=True)) / np.sqrt(xf.var(-1, keepdims=True) + norm.eps) + beta
        expected = np.clip(np.round(yf / y.quant.scale[0]) + y.quant.zero_point[0], -128, 127)
        yield op.name, rows, (x, gamma_t, y, op.attrs), gamma_t.data, beta_t.data, expected


def main() -> None:
    rng = np.random.default_rng(0)
    print(f"{'board':10} {'path':6} {'tokens x C':11} {'variant':9} {'cycles/token':>12} {'vs float32':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for board_name in ("stm32f427", "stm32f746"):
            for dsp in (False, True):
                kernels = EmulatedKernels(get_board(board_name), dsp, tmp,
                                          extra_sources=[RUNTIME_C / "examples" / "layer_norm_f32.c"])
                for tokens, channels in SHAPES:
                    x = activations("normal", tokens, channels, rng)
                    gamma, beta, out_scale, out_zp, _, _, _, _ = layer_norm_case(x, rng, 0)
                    base = float_cycles(kernels, x, gamma, beta, out_scale, out_zp)
                    shape, path = f"{tokens}x{channels}", "dsp" if dsp else "plain"
                    print(f"{board_name:10} {path:6} {shape:11} {'float32':9} {base / tokens:>12,.0f} {1:>10.1f}")
                    for name, iterations in VARIANTS:
                        *_, p, g, b = layer_norm_case(x, np.random.default_rng(1), iterations)
                        execute(kernels, layer_norm_call(x.shape, g, b, p), input=x)
                        cycles = kernels.emulator.last_call.cycles
                        print(f"{board_name:10} {path:6} {shape:11} {name:9} {cycles / tokens:>12,.0f} "
                              f"{base / cycles:>10.1f}")
    print(f"\nerror against float64 LayerNorm, output LSBs, 196 tokens x 192 channels")
    print(f"{'activations':12} {'variant':9} {'max':>4} {'mean':>7}")
    for kind in ("normal", "heavy-tail"):
        x = activations(kind, 196, 192, rng)
        for name, iterations in VARIANTS:
            *_, expected, p, g, b = layer_norm_case(x, np.random.default_rng(2), iterations)
            error = np.abs(layer_norm_s8(x, g, b, p) - expected)
            print(f"{kind:12} {name:9} {error.max():>4.0f} {error.mean():>7.4f}")
    print(f"\nerror against float64 LayerNorm on real activations (vit-fmnist-lowrank, 200 test images)")
    print(f"{'layer':14} {'rows x C':9} {'variant':9} {'max':>4} {'mean':>7}")
    for layer, rows, (x, gamma_t, y, attrs), g, b, expected in real_layer_norms():
        for name, iterations in VARIANTS:
            p = LayerNormParams.from_quantization(x.quant.scale[0], gamma_t.quant.scale, y.quant.scale[0],
                                                  y.quant.zero_point[0], rows.shape[1], attrs.eps, attrs.scale_bits,
                                                  iterations)
            error = np.abs(layer_norm_s8(rows, g, b, p) - expected)
            print(f"{layer:14} {f'{rows.shape[0]}x{rows.shape[1]}':9} {name:9} {error.max():>4.0f} "
                  f"{error.mean():>7.4f}")


if __name__ == "__main__":
    main()

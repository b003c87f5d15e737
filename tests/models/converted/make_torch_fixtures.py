"""Make the PyTorch-converted fixtures beside this file: a small CNN and a small transformer encoder
(LayerNorm, multi-head attention, GELU) in PyTorch, trained for a few epochs on scikit-learn's digits
(8 x 8), converted to a float .tflite by litert-torch, then quantized to full-integer int8 by
ai-edge-quantizer's static recipe (int8 weights per channel, int8 activations, calibrated on 200
training images). The files keep float32 inputs and outputs (QUANTIZE and DEQUANTIZE at the edges).

litert-torch's own PT2E route (quantize_pt2e, then litert_torch.convert) writes a QDQ model instead:
float convolutions between DEQUANTIZE and QUANTIZE, which no int8 runtime runs as integer ops and
`mcusim import` refuses by name. Quantize the float .tflite as below.

litert-torch and ai-edge-quantizer are not dependencies of mcusim; the files are committed, and this
script is how they were made (litert-torch 0.10.0, ai-edge-quantizer 0.10.0, torch CPU):

    python3 -m venv /tmp/ltenv && /tmp/ltenv/bin/pip install litert-torch==0.10.0 scikit-learn
    /tmp/ltenv/bin/python tests/models/converted/make_torch_fixtures.py
"""
from pathlib import Path

import litert_torch
import torch
from ai_edge_quantizer import quantizer, recipe
from ai_edge_quantizer.utils import tfl_interpreter_utils
from sklearn.datasets import load_digits
from torch import nn

HERE = Path(__file__).resolve().parent


def digits():
    """Images (N, 1, 8, 8) scaled to [0, 1] and labels, the first 1,500 for training."""
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32)[:, None]
    y = torch.tensor(data.target)
    return x[:1500], y[:1500], x[1500:], y[1500:]


class Encoder(nn.Module):
    """Patches of 2 x 2 -> 16 tokens of 32, one pre-norm encoder block (2 heads, MLP 64 with GELU),
    mean of the tokens, 10 classes."""

    def __init__(self):
        super().__init__()
        self.patches = nn.Conv2d(1, 32, 2, stride=2)
        self.position = nn.Parameter(torch.randn(16, 32) * 0.02)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(32), nn.LayerNorm(32), nn.LayerNorm(32)
        self.qkv, self.proj = nn.Linear(32, 96), nn.Linear(32, 32)
        self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        x = self.patches(x).flatten(2).transpose(1, 2) + self.position    # (B, 16, 32)
        q, k, v = self.qkv(self.norm1(x)).reshape(-1, 16, 3, 2, 16).permute(2, 0, 3, 1, 4)
        attention = torch.softmax(q @ k.transpose(-2, -1) * 0.25, dim=-1)  # (B, 2, 16, 16)
        x = x + self.proj((attention @ v).transpose(1, 2).reshape(-1, 16, 32))
        x = x + self.mlp(self.norm2(x))
        return self.head(self.norm3(x).mean(dim=1))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1, groups=16),
                         nn.Conv2d(16, 32, 1), nn.ReLU6(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 10))


def train(model, x, y, epochs):
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


def convert(model, x_train) -> bytes:
    """float .tflite by litert-torch, then static int8 by ai-edge-quantizer."""
    converted = litert_torch.convert(model, (x_train[:1],)).model_content()
    q = quantizer.Quantizer(converted, recipe.static_wi8_ai8())
    runner = tfl_interpreter_utils.create_tfl_interpreter(converted, allocate_tensors=False).get_signature_runner()
    name = next(iter(runner.get_input_details()))  # the input argument's name in the signature
    samples = [{name: image[None].numpy()} for image in x_train[:200]]
    calibration = q.calibrate({tfl_interpreter_utils.DEFAULT_SIGNATURE_KEY: samples})
    return q.quantize(calibration).quantized_model


def main():
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = digits()
    for name, build, epochs in (("torch_vit", Encoder, 30), ("torch_cnn", cnn, 10)):
        model = train(build(), x_train, y_train, epochs)
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean()
        (HERE / f"{name}.tflite").write_bytes(convert(model, x_train))
        print(f"{name}: float test accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()

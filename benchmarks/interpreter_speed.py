"""Reference-interpreter throughput: the 6-op int8 CNN of tests/models/test_tflite_import.py (12x12x3
input: conv3x3 -> depthwise3x3/2 -> maxpool -> reshape -> FC -> softmax), one image per run; then
each registered model's exported graph, 100 images stacked per run (what `mcusim eval` does).

    python benchmarks/interpreter_speed.py [--images 1000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mcusim.models.interpreter import run
from mcusim.models.tflite_import import import_tflite

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the model comes from the tests
from tests.models.tflite_models import small_cnn  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnn.tflite"
        path.write_bytes(small_cnn(0))
        graph = import_tflite(path)
    images = np.random.default_rng(0).integers(-128, 128, (args.images, 1, 12, 12, 3), dtype=np.int8)
    start = time.perf_counter()
    for x in images:
        run(graph, [x])
    seconds = time.perf_counter() - start
    print(f"reference interpreter: {args.images} images in {seconds:.2f} s = {args.images / seconds:,.0f} images/s")
    models_throughput()


def models_throughput(images: int = 200, batch: int = 100) -> None:
    from mcusim.models import zoo
    from mcusim.models.export import untrained_graph

    for name in zoo.names():
        graph = untrained_graph(zoo.get(name).config)
        x = np.random.default_rng(0).integers(-128, 128, (images, *graph.tensors["input"].shape[1:]), dtype=np.int8)
        start = time.perf_counter()
        for i in range(0, images, batch):
            run(graph, [x[i:i + batch]])
        seconds = time.perf_counter() - start
        print(f"{name:20} {len(graph.ops):>4} ops, batches of {batch}: {images / seconds:,.0f} images/s")


if __name__ == "__main__":
    main()

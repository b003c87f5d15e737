"""Every registered config builds, runs forward, quantizes (torch.ao observers) and exports to a valid
int8 Graph; the reference interpreter's logits agree with torch's fake-quantized model; layers that
cannot be quantized are named in the error."""
import numpy as np
import pytest
import torch

from mcusim.models import zoo
from mcusim.models.evaluate import graph_inputs
from mcusim.models.export import calibrate, export, fake_quantized
from mcusim.models.interpreter import run
from mcusim.models.nn import QuantizationError, build
from mcusim.models.train import images


def random_images(entry, count, seed=0):
    s, c = entry.config.image_size, entry.config.channels
    return np.random.default_rng(seed).integers(0, 256, (count, s, s, c), dtype=np.uint8)


def quantized(name, count=16):
    """(entry, model, qparams, graph, uint8 images) for a freshly initialized model."""
    entry = zoo.get(name)
    torch.manual_seed(0)
    model = build(entry.config).eval()
    x = random_images(entry, count)
    qparams = calibrate(model, images(entry, x), observer="minmax")
    return entry, model, qparams, export(model, qparams, {"model": name}), x


@pytest.mark.parametrize("name", zoo.names())
def test_config_builds_runs_quantizes_and_exports(name):
    entry, model, qparams, graph, x = quantized(name)
    assert model(images(entry, x[:3])).shape == (3, entry.config.num_classes)
    graph.validate()
    assert graph.tensors[graph.inputs[0]].shape == (1, entry.config.image_size, entry.config.image_size, 1)
    assert graph.tensors[graph.outputs[0]].shape == (1, entry.config.num_classes)
    assert run(graph, [graph_inputs(graph, x[:2])])[0].shape == (2, entry.config.num_classes)


SHIPPED = [pytest.param(n, marks=[] if zoo.get(n).dataset == "digits" else [pytest.mark.fashion_mnist])
           for n in zoo.names() if zoo.get(n).checkpoint is not None]


@pytest.fixture(scope="module", params=SHIPPED)
def shipped(request):
    """(entry, model, qparams, graph, test images, test labels) of a shipped checkpoint, calibrated
    on 256 training images of its dataset."""
    from mcusim.models import datasets
    from mcusim.models.train import load_checkpoint

    entry = zoo.get(request.param)
    model, _ = load_checkpoint(entry.checkpoint)
    qparams = calibrate(model, images(entry, datasets.load(entry.dataset, "train")[0][:256]))
    x, y = datasets.load(entry.dataset, "test")
    return entry, model, qparams, export(model, qparams), x[:300], y[:300]


def test_int8_logits_agree_with_the_fake_quantized_model(shipped):
    """On 32 test images. Fake quantization rounds each op's output as the graph does, but the integer
    kernels differ from the float ops between those roundings (LayerNorm's integer square root, GELU's
    table, softmax's fixed point, requantization's double rounding) and the differences grow through
    the layers. Stated tolerance: int8 logits within 10 % of the logits' range of the fake-quantized
    ones, the same class on at least 30 of the 32 images."""
    entry, model, qparams, graph, x, _ = shipped
    fake = fake_quantized(model, qparams, images(entry, x[:32])).numpy()
    out = graph.tensors[graph.outputs[0]]
    q = run(graph, [graph_inputs(graph, x[:32])])[0].astype(np.float64)
    logits = (q - out.quant.zero_point[0]) * out.quant.scale[0]
    assert np.abs(logits - fake).max() <= 0.10 * (fake.max() - fake.min())
    assert (logits.argmax(1) == fake.argmax(1)).sum() >= 30


def test_shipped_checkpoints_keep_their_accuracy(shipped):
    """On the first 300 test images: float at least 85 %, int8 within 2 points of float."""
    from mcusim.models.evaluate import accuracy as int8_accuracy
    from mcusim.models.train import accuracy as float_accuracy

    entry, model, _, graph, x, y = shipped
    reference = float_accuracy(model, images(entry, x), y)
    assert reference >= 0.85 and abs(int8_accuracy(graph, x, y) - reference) <= 0.02


def test_batched_interpretation_equals_one_sample_at_a_time():
    _, _, _, graph, x = quantized("vit-digits")
    inputs = graph_inputs(graph, x[:5])
    batched = run(graph, [inputs])[0]
    np.testing.assert_array_equal(batched, np.concatenate([run(graph, [inputs[i:i + 1]])[0] for i in range(5)]))


def test_a_graph_that_mixes_axis_0_refuses_batches():
    from mcusim.models.graph import Graph, GraphError, Op, Quant, Tensor
    from mcusim.models.ops.mean import MeanAttrs

    q = Quant((0.1,), (0,))
    graph = Graph({"x": Tensor("x", (3, 4), "int8", q), "m": Tensor("m", (4,), "int8", q)},
                  [Op("mean", ("x",), ("m",), MeanAttrs((0,)))], ["x"], ["m"])
    x = np.arange(24, dtype=np.int8).reshape(6, 4)
    assert run(graph, [x[:3]])[0].shape == (4,)
    with pytest.raises(GraphError, match="mixes its axis 0"):
        run(graph, [x])


def test_nan_weights_name_the_layer():
    entry = zoo.get("vit-digits")
    model = build(entry.config).eval()
    with torch.no_grad():
        model.blocks[1].fc1.full.weight[0, 0] = float("nan")
    with pytest.raises(QuantizationError, match=r"layer 'blocks.1.fc1'.*NaN"):
        calibrate(model, images(entry, random_images(entry, 4)), observer="minmax")


def test_a_layer_outside_the_trace_is_named():
    entry, model, qparams, _, _ = quantized("vit-digits")
    model.extra = torch.nn.Linear(3, 3)
    with pytest.raises(QuantizationError, match=r"layer 'extra' \(Linear\) is not part of the exported graph"):
        export(model, qparams)


def test_batchnorm_folds_into_the_conv():
    """A conv + BatchNorm with non-trivial statistics computes the same in float (unfolded) and in
    the folded form that export and fake quantization use."""
    from mcusim.models.nn import TorchContext

    entry = zoo.get("cnn-fmnist")
    torch.manual_seed(1)
    model = build(entry.config).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    x = images(entry, random_images(entry, 4))
    with torch.no_grad():
        unfolded = model(x)
        folded = model.trace(TorchContext("observe", {}, observer_kind="minmax"), x)
    torch.testing.assert_close(folded, unfolded, rtol=1e-4, atol=1e-5)

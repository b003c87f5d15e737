"""Ops named for people (models/names.py): the short name `mcusim check` prints beside each op, and
the op a `--memory-opts` target names (an index, a name, a short name or a unique suffix)."""
import numpy as np
import pytest

from mcusim.models.graph import Graph, Op, Quant, Tensor
from mcusim.models.names import SHORT_WIDTH, TargetError, find_op, short_names
from mcusim.models.ops.fully_connected import FullyConnectedAttrs

SCOPE = "functional_5_1/"


def chain(op_names: list[str], outputs: list[str]) -> Graph:
    """Fully connected layers 4 -> 4 in a chain, with these op names and output tensor names."""
    q = Quant((0.05,), (0,))
    tensors = {"x": Tensor("x", (1, 4), "int8", q)}
    ops, previous = [], "x"
    for i, (name, out) in enumerate(zip(op_names, outputs)):
        tensors[f"w{i}"] = Tensor(f"w{i}", (4, 4), "int8", Quant((0.01,) * 4, (0,) * 4, 0), np.ones((4, 4), np.int8))
        tensors[out] = Tensor(out, (1, 4), "int8", q)
        ops.append(Op("fully_connected", (previous, f"w{i}"), (out,), FullyConnectedAttrs(), name))
        previous = out
    g = Graph(tensors, ops, ["x"], [previous])
    g.validate()
    return g


def fused(layer: str) -> str:
    """A converter's fused tensor name: the layer's ops joined by ';', all under one scope."""
    return ";".join(f"{SCOPE}{layer}/{part}" for part in ("Relu", "BiasAdd", "MatMul", "BiasAdd/ReadVariableOp"))


@pytest.fixture
def imported() -> Graph:
    """As `mcusim import` names things: every op by its TFLite op code, tensors by fused names."""
    return chain(["FULLY_CONNECTED"] * 3, [fused("dense"), fused("dense_1"), fused("dense_12")])


def test_imported_ops_are_named_by_their_output_without_the_shared_scope(imported):
    assert short_names(imported) == ["dense/Relu", "dense_1/Relu", "dense_12/Relu"]


def test_own_unique_op_names_are_kept_and_long_names_cut_by_segments():
    long = "encoder/" + "block_16_project_BN/" * 3 + "FusedBatchNormV3"
    g = chain(["stem", "dup", "dup", "x" * 80], ["a", "b", "c", long])
    names = short_names(g)
    assert names[:3] == ["stem", "b", "c"]  # a name two ops share does not name either: their outputs do
    assert names[3] == "xxxxxxxxxxxxxxx..xxxxxxxxxxxxxxx" and len(names[3]) == SHORT_WIDTH
    g = chain(["CONV_2D"], [long])
    assert short_names(g) == ["../FusedBatchNormV3"]  # the one segment that fits after the cut
    assert all(len(n) <= SHORT_WIDTH for n in short_names(g))


def test_targets_by_index_name_short_name_and_suffix(imported):
    assert find_op(imported, "op2") == find_op(imported, "2") == 2
    assert find_op(imported, fused("dense_1")) == 1           # the full name
    assert find_op(imported, "dense_1/Relu") == 1             # the short name `check` prints
    assert find_op(imported, "dense_12/MatMul") == 2          # a unique suffix of a ';' part
    assert find_op(imported, "FULLY_CONNECTED", [1]) == 1      # ambiguous, but one of the choices


@pytest.mark.parametrize("target, message", [
    ("op7", r"no op op7: the graph has ops 0 to 2; choices: op0 fully_connected dense/Relu, "),
    ("nothing", r"no op is named 'nothing'; choices: op0 fully_connected dense/Relu, op1 "),
    ("Relu", r"'Relu' names 3 ops \(op0 .*\); give the op index \(opN\) or a longer name"),
])
def test_a_bad_target_lists_the_choices_compactly(imported, target, message):
    with pytest.raises(TargetError, match=message) as e:
        find_op(imported, target)
    assert "\n" not in str(e.value) and "ReadVariableOp" not in str(e.value)


def test_a_long_choice_list_is_cut():
    g = chain([f"layer{i}" for i in range(40)], [f"t{i}" for i in range(40)])
    with pytest.raises(TargetError) as e:
        find_op(g, "x" * 5000)
    text = str(e.value)
    assert len(text) < 400 and "op0 fully_connected layer0" in text and "op39 fully_connected layer39 (40 in all)" \
        in text and "layer20" not in text

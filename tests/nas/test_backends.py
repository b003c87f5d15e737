"""The evaluation backends: a candidate the toolchain cannot deploy is a record, not a failed search;
an unknown backend is refused. (That every backend measures what one process measures: test_search.)"""
import pytest

from mcusim.errors import McusimError, UsageError
from mcusim.nas.backends import evaluate_safely, open_backend
from mcusim.nas.spaces import arch_hash

from .conftest import TINY


class _Refusing:
    space = TINY

    def evaluate(self, arch):
        raise McusimError("kernel fully_connected_s8: a dimension outside its legal range")


def test_an_undeployable_candidate_is_recorded_as_not_fitting():
    arch = TINY.largest()
    record = evaluate_safely(_Refusing(), arch)
    assert record["hash"] == arch_hash(TINY, arch) and record["arch"] == arch.to_json()
    assert record["fits"] is False and record["accuracy"] is None and record["measured"] is None
    assert record["violations"] == ["not deployable: kernel fully_connected_s8: a dimension outside its legal range"]


def test_an_unknown_backend_is_refused():
    with pytest.raises(UsageError, match="backend 'dask': use one of local, ray"):
        open_backend("dask", None, 2)

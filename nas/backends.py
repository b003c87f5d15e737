"""Where a search's candidates are evaluated: in this process, in a pool of processes, or on Ray.

    with open_backend("local", spec, workers=2) as backend:
        for arch, record in backend.map_unordered(archs):   # in the order evaluations finish
            ...

Backends: `local` evaluates in this process (one worker) or in a pool of spawned processes, each
holding its own Evaluator (the supernet and data loaded once, cores / workers threads each); `ray`
runs the Evaluators as Ray actors, one per worker (a local Ray, or the cluster RAY_ADDRESS names).
Every backend records a candidate the toolchain cannot deploy as not fitting (evaluate_safely)
instead of failing the search. Each worker process keeps its temporary files (the firmware copies of
models/runner.py) in a folder of its own, so that workers never write one file at once.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from mcusim.errors import McusimError, UsageError

from .evaluate import EvalSpec, Evaluator
from .spaces import Arch, arch_hash

BACKENDS = ("local", "ray")


def check_backend(name: str) -> None:
    if name not in BACKENDS:
        raise UsageError(f"backend {name!r}: use one of {', '.join(BACKENDS)}")


def open_backend(name: str, spec: EvalSpec, workers: int):
    """The backend `name` (one of BACKENDS) with `workers` Evaluators of `spec`; a context manager."""
    check_backend(name)
    if name == "ray":
        return _Ray(spec, workers)
    return _Inline(spec) if workers == 1 else _Pool(spec, workers)


def evaluate_safely(evaluator: Evaluator, arch: Arch) -> dict:
    """evaluator.evaluate(arch); a candidate the toolchain cannot deploy (an McusimError: a layer with
    no int8 form, a kernel outside its legal range) is recorded as not fitting, with the reason."""
    try:
        return evaluator.evaluate(arch)
    except McusimError as e:
        return {"hash": arch_hash(evaluator.space, arch), "arch": arch.to_json(), "params": None, "accuracy": None,
                "int8_accuracy": None, "measured": None, "analytic": None, "bit_exact": None, "fits": False,
                "violations": [f"not deployable: {e}"], "seconds": None}


class _Inline:
    def __init__(self, spec: EvalSpec):
        self.evaluator = Evaluator(spec)

    def map_unordered(self, archs):
        for arch in archs:
            yield arch, evaluate_safely(self.evaluator, arch)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_WORKER: dict = {}  # the Evaluator of a pool worker process (one per process)


def _private_tempdir() -> None:
    """This worker process's temporary files go to a new folder of its own (removed at its exit)."""
    tempfile.tempdir = tempfile.mkdtemp(prefix="mcusim-worker-")
    atexit.register(shutil.rmtree, tempfile.tempdir, ignore_errors=True)


def _init_worker(spec: EvalSpec, threads: int) -> None:
    import torch
    from threadpoolctl import threadpool_limits

    _private_tempdir()
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    _WORKER["evaluator"] = Evaluator(spec)


def _evaluate_in_worker(arch: dict) -> dict:
    return evaluate_safely(_WORKER["evaluator"], Arch(arch))


class _Pool:
    def __init__(self, spec: EvalSpec, workers: int):
        threads = max(1, (os.cpu_count() or 1) // workers)
        self.pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_worker,
                                        initargs=(spec, threads))

    def map_unordered(self, archs):
        futures = {self.pool.submit(_evaluate_in_worker, dict(arch)): arch for arch in archs}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)
        return False


class _Ray:
    """Evaluators as Ray actors, one per worker; candidates handed to whichever is free."""

    def __init__(self, spec: EvalSpec, workers: int):
        import ray

        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS")
            ray.init(address=address, **({} if address else {"num_cpus": workers}), include_dashboard=False,
                     log_to_driver=False)
        remote = ray.remote(num_cpus=1)(_RayEvaluator)
        self.ray, self.actors = ray, [remote.remote(spec) for _ in range(workers)]

    def map_unordered(self, archs):
        queue, running = list(archs), {}  # running: object ref -> (actor, arch)
        while queue or running:
            busy = {actor for actor, _ in running.values()}
            for actor in self.actors:
                if queue and actor not in busy:
                    arch = queue.pop(0)
                    running[actor.evaluate.remote(dict(arch))] = (actor, arch)
            ready, _ = self.ray.wait(list(running), num_returns=1)
            for ref in ready:
                _, arch = running.pop(ref)
                yield arch, self.ray.get(ref)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for actor in self.actors:  # at once after a failure; otherwise as it exits (its atexit handlers run)
            if exc[0] is None:
                actor.__ray_terminate__.remote()
            else:
                self.ray.kill(actor)
        return False


class _RayEvaluator:
    def __init__(self, spec: EvalSpec):
        import torch

        _private_tempdir()
        torch.set_num_threads(1)
        self.evaluator = Evaluator(spec)

    def evaluate(self, arch: dict) -> dict:
        return evaluate_safely(self.evaluator, Arch(arch))

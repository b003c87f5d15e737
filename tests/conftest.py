"""Shared test set-up: hypothesis profiles and the gates on Debian packages.

Profiles: `ci` (derandomized, used when CI is set), `dev` (default), `heavy` and `soak` (local runs;
`make soak` runs the host tests under soak: 25k examples per path, 50k per kernel), `fuzz` (`make
fuzz`: the long mutation campaign of tests/fuzzing.py):
select with HYPOTHESIS_PROFILE. Tests that need arm-none-eabi-gcc carry the `toolchain` mark, tests
that read Fashion-MNIST the `fashion_mnist` mark; they are skipped only where the package is absent,
and MCUSIM_REQUIRE_PACKAGES=1 (set by `make test`, which installs both) turns that skip into an error
so CI can never pass without running them.
"""
import os
import shutil

import pytest
from hypothesis import settings

from mcusim.models.datasets import FASHION_MNIST

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("heavy", max_examples=5000, deadline=None)
settings.register_profile("soak", max_examples=25_000, deadline=None)
settings.register_profile("fuzz", max_examples=10_000, deadline=None)  # `make fuzz`: tests/fuzzing.py
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)

# mark -> what is missing for its tests, or None
MISSING = {
    "toolchain": None if shutil.which("arm-none-eabi-gcc") else "arm-none-eabi-gcc",
    "fashion_mnist": None if (FASHION_MNIST / "t10k-labels-idx1-ubyte.gz").exists() else "dataset-fashion-mnist",
}


def pytest_collection_modifyitems(config, items):
    for mark, missing in MISSING.items():
        if missing is None:
            continue
        if os.environ.get("MCUSIM_REQUIRE_PACKAGES"):
            raise pytest.UsageError(f"{missing} is required (MCUSIM_REQUIRE_PACKAGES is set) but not installed")
        skip = pytest.mark.skip(reason=f"{missing} not installed; `make test` installs it")
        for item in items:
            if mark in item.keywords:
                item.add_marker(skip)

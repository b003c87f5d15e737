"""Shared test set-up: hypothesis profiles and the cross-compiler gate.

Profiles: `ci` (derandomized, used when CI is set), `dev` (default), `heavy` and `soak` (local runs;
`make soak` runs the host tests under soak: 25k examples per path, 50k per kernel):
select with HYPOTHESIS_PROFILE. Tests that need arm-none-eabi-gcc carry the `toolchain` mark; they
are skipped only where the compiler is absent, and MCUSIM_REQUIRE_TOOLCHAIN=1 (set by `make test`)
turns that skip into an error so CI can never pass without running them.
"""
import os
import shutil

import pytest
from hypothesis import settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("heavy", max_examples=5000, deadline=None)
settings.register_profile("soak", max_examples=25_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

HAVE_TOOLCHAIN = shutil.which("arm-none-eabi-gcc") is not None


def pytest_collection_modifyitems(config, items):
    if HAVE_TOOLCHAIN:
        return
    if os.environ.get("MCUSIM_REQUIRE_TOOLCHAIN"):
        raise pytest.UsageError("arm-none-eabi-gcc is required (MCUSIM_REQUIRE_TOOLCHAIN is set) but not on PATH")
    skip = pytest.mark.skip(reason="arm-none-eabi-gcc not installed; `make test` installs it")
    for item in items:
        if "toolchain" in item.keywords:
            item.add_marker(skip)

# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
# Each sets up what it needs, idempotently: the Arm toolchain (Debian packages), a .venv with mcusim
# installed editable with its extras, and the native block hook compiled by that install.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench soak toolchain venv clean

demo: toolchain venv
	$(BIN)/mcusim demo --workdir $(VENV)

test: toolchain venv
	MCUSIM_REQUIRE_TOOLCHAIN=1 $(BIN)/python -m pytest

# The long local fuzz run behind the figures in the notes: the host-build kernel tests under the
# `soak` profile (25k examples per path, 50k per kernel), the emulated ones under `heavy` (1000 per
# board/path configuration, 3000 per kernel). Hours on two cores; prints hypothesis' statistics.
soak: toolchain venv
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest tests/kernels -k host_equals --hypothesis-show-statistics -q
	HYPOTHESIS_PROFILE=heavy $(BIN)/python -m pytest tests/kernels -k emulated_equals --hypothesis-show-statistics -q

bench: toolchain venv
	$(BIN)/python benchmarks/emulation_speed.py

toolchain:
	@scripts/install-toolchain.sh

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py mcusim/native/blockhook.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info mcusim/_blockhook*.so .pytest_cache .hypothesis

# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
# Each sets up what it needs, idempotently: the Arm toolchain (Debian packages), a .venv with mcusim
# installed editable with its extras, and the native block hook compiled by that install.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench toolchain venv clean

demo: toolchain venv
	$(BIN)/mcusim demo --workdir $(VENV)

test: toolchain venv
	MCUSIM_REQUIRE_TOOLCHAIN=1 $(BIN)/python -m pytest

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

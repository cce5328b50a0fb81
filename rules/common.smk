# Configuration and the registry: every generated rule, the scorecard and the report read PAPERS and RUNS.
import json
import os
import sys

from replicate import spec as S

try:
    S.validate_config(config, os.path.join(workflow.basedir, "config", "schema.yaml"))
    S.check_assets(config)
    PAPERS, RUNS = S.registry(config)
except S.ConfigError as _err:
    sys.exit(f"{_err}\n(configuration: {', '.join(map(str, workflow.configfiles)) or 'config/config.yaml'})")

CTX = S.Context(config)
DATA, MODELS, RESULTS, FIGURES, LOGS = CTX.DATA, CTX.MODELS, CTX.RESULTS, CTX.FIGURES, CTX.LOGS
SEED = CTX.SEED
TASKS = CTX.TASKS
SCORECARD = f"{FIGURES}/scorecard.md"
TARGET_OUTPUTS = [p for paper in PAPERS.values() for t in paper.targets for p in t.outputs(FIGURES, RESULTS).values()]

wildcard_constraints:
    seed=r"\d+",


def params_json(obj):
    """Rule params as one JSON argument (sorted: stable rerun triggers)."""
    return "'" + json.dumps(obj, sort_keys=True).replace("'", "'\\''") + "'"


onstart:
    # assets a configured job needs (local data folders, nltk data): checked before the first job, not in dry runs
    S.check_local_data(config)
    for _paper in PAPERS.values():
        for _check in _paper.checks:
            _check()

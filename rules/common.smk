import json

from snakemake.utils import validate

validate(config, "../config/schema.yaml")

PATHS = config["paths"]
DATA, MODELS, RESULTS, FIGURES, LOGS = (PATHS[k] for k in ("data", "models", "results", "figures", "logs"))
SEED = config["seed"]
SCORECARD = f"{FIGURES}/scorecard.md"

wildcard_constraints:
    seed=r"\d+",
    table=r"table\d+",
    fig=r"fig\d+",


def check_model_key(key, where):
    if key not in config["models"]:
        raise ValueError(f"config error at {where}: {key!r} is not a key of 'models' (known: {sorted(config['models'])})")
    return config["models"][key]


def params_json(obj):
    """Rule params as one JSON argument (sorted: stable rerun triggers)."""
    return "'" + json.dumps(obj, sort_keys=True).replace("'", "'\\''") + "'"


# cross-references are checked here, before any job runs
check_model_key(config["training"]["finetune"]["model"], "training.finetune.model")
check_model_key(config["abnar2020flow"]["fig4"]["model"], "abnar2020flow.fig4.model")
_t3 = config["abnar2020flow"]["table3"]["model"]
check_model_key(_t3["finetune"] if isinstance(_t3, dict) else _t3, "abnar2020flow.table3.model")
if config["data"]["sentiment"]["source"] == "local" and "label_first" not in config["data"]["sentiment"]:
    raise ValueError("config error at data.sentiment: source 'local' needs label_first (true: label<TAB>sentence)")


TARGETS = {}  # paper key -> list of figure stems, filled by each paper's rule file
NOT_RUN = {}  # paper key -> stems the configuration cannot produce: a "not run" scorecard row each, no figure


def all_targets():
    out = []
    for paper in config["papers"]:
        for stem in TARGETS[paper]:
            out += [f"{FIGURES}/{paper}/{stem}.png", f"{FIGURES}/{paper}/{stem}.pdf", f"{FIGURES}/{paper}/{stem}.csv"]
    return out


def verdicts():
    return [f"{RESULTS}/{paper}/{stem}.verdict.json" for paper in config["papers"]
            for stem in TARGETS[paper] + NOT_RUN.get(paper, [])]

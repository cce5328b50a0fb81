import json
import os

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
TASKS = config["data"]["tasks"]  # classification tasks: name -> data spec
for _name, _spec in TASKS.items():
    if _spec["source"] == "local" and "label_first" not in _spec:
        raise ValueError(f"config error at data.tasks.{_name}: source 'local' needs label_first (true: label<TAB>sentence)")
    if _spec["source"] == "local" and "path" not in _spec:
        raise ValueError(f"config error at data.tasks.{_name}: source 'local' needs path (a folder of TSV files)")
    if _spec["source"] == "hub" and "id" not in _spec:
        raise ValueError(f"config error at data.tasks.{_name}: source 'hub' needs id (a datasets id, e.g. glue)")


def check_task(task, where):
    if task not in TASKS:
        raise ValueError(f"config error at {where}: {task!r} is not a key of data.tasks (known: {sorted(TASKS)})")
    return task


def task_files(task):
    return [f"{DATA}/tasks/{task}/{s}" for s in ("train.tsv", "valid.tsv", "test.tsv", "stats.json")]


def task_note(task):
    spec = TASKS[task]
    where = {"gensim": "Pang & Lee sentences from the gensim wheel", "agreement": "agreement prefixes (Linzen recipe)",
             "local": spec.get("path", ""), "hub": f"{spec.get('id', '')} {spec.get('subset', '')}".strip()}[spec["source"]]
    return f"{task} ({where})"


ONSTART_CHECKS = []  # callables run before the first job (not in dry runs): assets a job needs, e.g. nltk data


onstart:
    for _check in ONSTART_CHECKS:
        _check()


TARGETS = {}  # paper key -> list of figure stems, filled by each paper's rule file
NOT_RUN = {}  # paper key -> target stems this configuration does not produce (scorecard rows "not run")


def all_targets():
    out = []
    for paper in config["papers"]:
        for stem in TARGETS[paper]:
            out += [f"{FIGURES}/{paper}/{stem}.png", f"{FIGURES}/{paper}/{stem}.pdf", f"{FIGURES}/{paper}/{stem}.csv"]
    return out


def verdicts():
    return [f"{RESULTS}/{paper}/{stem}.verdict.json" for paper in config["papers"] for stem in TARGETS[paper]] + [
        f"{RESULTS}/{paper}/{stem}.notrun.verdict.json" for paper in config["papers"] for stem in NOT_RUN.get(paper, [])
    ]

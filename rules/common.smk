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
TASKS = config["data"]["tasks"]  # classification and regression tasks: name -> data spec
REGRESSION_METRICS = ("corr",)  # as replicate.stats.REGRESSION_METRICS: such a task has float labels (STS-B)


def task_is_regression(task):
    return TASKS[task].get("metric") in REGRESSION_METRICS


def _check_task_spec(name, spec):
    where = f"config error at data.tasks.{name}"
    cols = spec.get("text_columns")
    if spec["source"] == "local":
        if "path" not in spec:
            raise ValueError(f"{where}: source 'local' needs path (a folder of TSV files)")
        by_number = cols is not None or "label_column" in spec
        if by_number and "label_first" in spec:
            raise ValueError(f"{where}: give either label_first (a two-column TSV) or text_columns + label_column "
                             "(column numbers), not both")
        if by_number and not (cols and all(isinstance(c, int) for c in cols) and isinstance(spec.get("label_column"), int)):
            raise ValueError(f"{where}: a local many-column TSV needs text_columns (1 or 2 column numbers) and "
                             "label_column (a column number; negative counts from the end), e.g. STS-B dev.tsv: "
                             "text_columns: [-3, -2], label_column: -1")
        if not by_number and "label_first" not in spec:
            raise ValueError(f"{where}: source 'local' needs label_first (true: label<TAB>sentence), or text_columns "
                             "and label_column for a many-column TSV")
    if spec["source"] == "hub":
        if "id" not in spec:
            raise ValueError(f"{where}: source 'hub' needs id (a datasets id, e.g. glue)")
        if cols is not None and (len(cols) != 2 or not all(isinstance(c, str) for c in cols)):
            raise ValueError(f"{where}: source 'hub' takes text_columns as two column names, e.g. [sentence1, sentence2]")
        if "label_column" in spec and not isinstance(spec["label_column"], str):
            raise ValueError(f"{where}: source 'hub' takes label_column as a column name")
    if spec.get("metric") in REGRESSION_METRICS and spec["source"] not in ("local", "hub"):
        raise ValueError(f"{where}: metric {spec['metric']!r} makes a regression task (float scores, e.g. STS-B), "
                         f"but source {spec['source']!r} has class labels; use source local or hub")


for _name, _spec in TASKS.items():
    _check_task_spec(_name, _spec)


def check_task(task, where, regression_ok=True):
    """``task`` must be a key of data.tasks; ``regression_ok=False``: a target that needs class labels
    (argmax over classes, a majority class, a label log-likelihood) refuses a regression task."""
    if task not in TASKS:
        raise ValueError(f"config error at {where}: {task!r} is not a key of data.tasks (known: {sorted(TASKS)})")
    if not regression_ok and task_is_regression(task):
        raise ValueError(f"config error at {where}: {task!r} is a regression task (metric "
                         f"{TASKS[task]['metric']!r}) but this target needs class labels; choose a classification task")
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

"""Paper / Run / Target records and the registry that every consumer reads.

A paper is declared once, in ``replicate/papers/<key>/spec.py``, by ``declare(ctx) -> Paper``:
its runs (the expensive passes: a function of the package on a model and data, writing results
files) and its targets (one table or figure: the run outputs it reads, the function that turns
them into a figure, a data file and our values; the claim it is judged on lives in the paper's
``printed.yaml``).  The Snakemake rules, the CLI, the scorecard, the report and the tests all read
:func:`registry`; none of them names a target.

This module imports no torch (nor anything heavy): Snakemake reads it at parse time.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]  # the repository (config/, rules/, figures/)


def _yaml(text: str):
    """``yaml.safe_load`` through libyaml's parser where PyYAML has it (the same values, several times faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


SCRATCH = "_scratch"  # models/<model>_scratch/<task>/seed<k>: the same architecture fine-tuned from random init
REGRESSION_METRICS = ("corr",)  # a task with one of these metrics has float labels (STS-B)


class ConfigError(ValueError):
    """A configuration that cannot run: the message names the key and what is allowed."""


@dataclass
class Run:
    """An expensive pass: ``func(args, outputs, params)`` writes ``outputs``.

    ``inputs`` are the files Snakemake waits for; ``args`` the paths handed to the function
    (a model directory rather than its ``config.json``), the inputs themselves when not given.
    """

    name: str
    func: str  # "module:function"
    outputs: dict
    inputs: dict = field(default_factory=dict)
    args: dict | None = None
    params: dict = field(default_factory=dict)
    threads: int = 1
    mem_mb: int = 2000
    owner: str = ""  # paper key, or "shared" for a run that several papers read
    priority: int = 1  # Snakemake's: data and models 2, runs 1, targets 0; a model trained as a run takes 2

    @property
    def rule(self) -> str:
        return f"{self.owner}_{self.name}"

    def call(self) -> dict:
        """What the CLI needs to run it (the rules pass this as one JSON argument)."""
        return {"owner": self.owner, "name": self.name, "func": self.func,
                "args": self.args if self.args is not None else self.inputs, "outputs": self.outputs, "params": self.params}


@dataclass
class Target:
    """One table or figure of a paper: ``func(args, params, out, printed) -> result`` draws
    ``out['png']`` (+ pdf), writes ``out['csv']`` (and any ``extra`` outputs) and returns our values;
    :func:`replicate.verdicts.judge` turns them and the claim of ``printed.yaml`` into the scorecard row.

    A target this configuration cannot produce has ``not_run`` (the reason, and which configuration
    runs it) and no function: its scorecard row still appears.
    """

    id: str
    func: str | None = None
    inputs: dict = field(default_factory=dict)
    args: dict | None = None
    params: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # further outputs, name -> path (e.g. a summary csv)
    model: str = ""  # scorecard notes: the model and the data behind our number
    data: str = ""
    method: str = ""  # report label: the method(s) the target shows
    not_run: str | None = None
    threads: int = 1
    mem_mb: int = 2000
    paper: str = ""  # set by the registry

    def outputs(self, figures: str, results: str) -> dict:
        verdict = {"verdict": f"{results}/{self.paper}/{self.id}.verdict.json"}
        if self.not_run is not None:
            return verdict
        base = f"{figures}/{self.paper}/{self.id}"
        return {"png": f"{base}.png", "pdf": f"{base}.pdf", "csv": f"{base}.csv", **self.extra,
                "caption": f"{results}/{self.paper}/{self.id}.caption.rst", **verdict}

    def call(self, figures: str, results: str) -> dict:
        return {"paper": self.paper, "id": self.id, "func": self.func,
                "args": self.args if self.args is not None else self.inputs,
                "outputs": self.outputs(figures, results), "params": self.params, "model": self.model,
                "data": self.data, "method": self.method, "not_run": self.not_run}


@dataclass
class Paper:
    key: str
    title: str
    runs: list
    targets: list
    summary: dict = field(default_factory=dict)  # scorecard "models and data" rows: name -> (metrics file, paper's number)
    checks: list = field(default_factory=list)  # callables run before the first job: assets a job needs

    def target(self, tid: str) -> Target:
        for t in self.targets:
            if t.id == tid:
                return t
        raise KeyError(f"{self.key} has no target {tid!r} (known: {', '.join(t.id for t in self.targets)})")


class Context:
    """What a paper's ``declare`` needs of the configuration: paths, seed, the data and model
    helpers shared by every paper, and the shared runs (declared once, whoever asks first)."""

    def __init__(self, config: dict):
        self.config = config
        paths = config["paths"]
        self.DATA, self.MODELS, self.RESULTS, self.FIGURES, self.LOGS = (
            paths[k] for k in ("data", "models", "results", "figures", "logs"))
        self.SEED = config["seed"]
        self.TASKS = config["data"]["tasks"]
        self.shared: dict[str, Run] = {}

    # ------------------------------------------------------------------ models and tasks

    def model_key(self, key: str, where: str) -> dict:
        if key not in self.config["models"]:
            raise ConfigError(f"config error at {where}: {key!r} is not a key of 'models' (known: "
                              f"{sorted(self.config['models'])})")
        return self.config["models"][key]

    def model_note(self, key: str) -> str:
        spec = self.config["models"][key]
        return f"{key} ({spec.get('id', spec.get('package', spec.get('path', '')))})"

    def is_regression(self, task: str) -> bool:
        return self.TASKS[task].get("metric") in REGRESSION_METRICS

    def task(self, task: str, where: str, regression_ok: bool = True) -> str:
        """``task`` must be a key of data.tasks; ``regression_ok=False``: a target that needs class labels."""
        if task not in self.TASKS:
            raise ConfigError(f"config error at {where}: {task!r} is not a key of data.tasks (known: {sorted(self.TASKS)})")
        if not regression_ok and self.is_regression(task):
            raise ConfigError(f"config error at {where}: {task!r} is a regression task (metric "
                              f"{self.TASKS[task]['metric']!r}) but this target needs class labels; choose a "
                              "classification task")
        return task

    def task_dir(self, task: str) -> str:
        return f"{self.DATA}/tasks/{task}"

    def task_files(self, task: str) -> list:
        return [f"{self.task_dir(task)}/{s}" for s in ("train.tsv", "valid.tsv", "test.tsv", "stats.json")]

    def task_note(self, task: str) -> str:
        spec = self.TASKS[task]
        where = {"gensim": "Pang & Lee sentences from the gensim wheel", "agreement": "agreement prefixes (Linzen recipe)",
                 "local": spec.get("path", ""), "hub": f"{spec.get('id', '')} {spec.get('subset', '')}".strip()}
        return f"{task} ({where[spec['source']]})"

    def finetuned(self, model: str, task: str, where: str = "model") -> str:
        """Directory of ``model`` fine-tuned here on ``task`` (``<model>_scratch``: from random init)."""
        self.model_key(model[: -len(SCRATCH)] if model.endswith(SCRATCH) else model, where)
        return f"{self.MODELS}/{model}/{task}/seed{self.SEED}"

    @property
    def agreement_dir(self) -> str:
        return f"{self.DATA}/agreement"

    @property
    def agreement_files(self) -> list:
        return [f"{self.agreement_dir}/{s}" for s in ("train.tsv", "valid.tsv", "test.tsv", "vocab.json", "stats.json")]

    @property
    def sva_model(self) -> str:
        return f"{self.MODELS}/agreement_transformer/agreement/seed{self.SEED}"

    # ------------------------------------------------------------------ shared runs

    def share(self, run: Run) -> Run:
        """Declare a run that several papers read; the first declaration wins (they must agree)."""
        run.owner = "shared"
        if run.name in self.shared and self.shared[run.name].call() != run.call():
            raise ConfigError(f"shared run {run.name!r} is declared twice with different settings")
        return self.shared.setdefault(run.name, run)


def merge(base: dict, over: dict) -> dict:
    """``over`` on top of ``base``, key by key (as Snakemake's ``--configfile`` updates the default)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def load_config(*files) -> dict:
    """config/config.yaml with each of ``files`` merged on top, as ``snakemake --configfile FILE`` does."""
    config = _yaml((ROOT / "config" / "config.yaml").read_text())
    for f in files:
        if f and Path(f).resolve() != (ROOT / "config" / "config.yaml").resolve():
            config = merge(config, _yaml(Path(f).read_text()) or {})
    return config


def check_assets(config: dict) -> None:
    """Missing local data that a configured job would need, and cross-references between the shared
    sections: one clear error before any job runs."""
    if config["training"]["finetune"]["model"] not in config["models"]:
        raise ConfigError(f"config error at training.finetune.model: {config['training']['finetune']['model']!r} is "
                          f"not a key of 'models' (known: {sorted(config['models'])})")
    for name, task in config["data"]["tasks"].items():
        check_task_spec(name, task)


def check_local_data(config: dict) -> None:
    """Local folders that configured tasks read must exist: checked before the first job (not in dry runs,
    which only resolve the DAG)."""
    for name, task in config["data"]["tasks"].items():
        if task["source"] == "local" and not os.path.isdir(task.get("path", "")):
            raise ConfigError(
                f"config error at data.tasks.{name}.path: {task.get('path')!r} is not a folder (paths are relative to "
                f"{os.getcwd()}). Point it at a folder of GLUE-style TSV files, e.g. ../shared/data/sst2 where the "
                "suite's shared data folder exists, or download the GLUE task and unpack it")


def check_task_spec(name: str, spec: dict) -> None:
    """The combinations of a data.tasks entry that the schema does not express."""
    where = f"config error at data.tasks.{name}"
    cols = spec.get("text_columns")
    if spec["source"] == "local":
        if "path" not in spec:
            raise ConfigError(f"{where}: source 'local' needs path (a folder of TSV files)")
        by_number = cols is not None or "label_column" in spec
        if by_number and "label_first" in spec:
            raise ConfigError(f"{where}: give either label_first (a two-column TSV) or text_columns + label_column "
                              "(column numbers), not both")
        if by_number and not (cols and all(isinstance(c, int) for c in cols) and isinstance(spec.get("label_column"), int)):
            raise ConfigError(f"{where}: a local many-column TSV needs text_columns (1 or 2 column numbers) and "
                              "label_column (a column number; negative counts from the end), e.g. STS-B dev.tsv: "
                              "text_columns: [-3, -2], label_column: -1")
        if not by_number and "label_first" not in spec:
            raise ConfigError(f"{where}: source 'local' needs label_first (true: label<TAB>sentence), or text_columns "
                              "and label_column for a many-column TSV")
    if spec["source"] == "hub":
        if "id" not in spec:
            raise ConfigError(f"{where}: source 'hub' needs id (a datasets id, e.g. glue)")
        if cols is not None and (len(cols) != 2 or not all(isinstance(c, str) for c in cols)):
            raise ConfigError(f"{where}: source 'hub' takes text_columns as two column names, e.g. [sentence1, sentence2]")
        if "label_column" in spec and not isinstance(spec["label_column"], str):
            raise ConfigError(f"{where}: source 'hub' takes label_column as a column name")
    if spec.get("metric") in REGRESSION_METRICS and spec["source"] not in ("local", "hub"):
        raise ConfigError(f"{where}: metric {spec['metric']!r} makes a regression task (float scores, e.g. STS-B), "
                          f"but source {spec['source']!r} has class labels; use source local or hub")


def printed_path(key: str) -> str:
    return str(Path(__file__).parent / "papers" / key / "printed.yaml")


def printed(key: str) -> dict:
    """The paper's printed numbers and claims (``papers/<key>/printed.yaml``)."""
    return _yaml(Path(printed_path(key)).read_text())


def declare(config: dict, key: str, ctx: Context | None = None) -> Paper:
    ctx = ctx or Context(config)
    try:
        module = importlib.import_module(f"replicate.papers.{key}.spec")
    except ModuleNotFoundError as err:
        raise ConfigError(f"config error at papers: no paper package replicate.papers.{key} ({err})") from None
    paper = module.declare(ctx)
    entries = printed(key)
    for run in paper.runs:
        run.owner = key
    for t in paper.targets:
        t.paper = key
        if t.id not in entries:
            raise ConfigError(f"{key}/{t.id} has no entry in papers/{key}/printed.yaml")
    return paper


def registry(config: dict) -> tuple[dict, list]:
    """``({key: Paper}, runs)`` for the configured papers; ``runs`` are every run to generate a rule
    for: the papers' own and the shared ones they asked for, each once."""
    ctx = Context(config)
    papers = {key: declare(config, key, ctx) for key in config["papers"]}
    runs = list(ctx.shared.values()) + [r for p in papers.values() for r in p.runs]
    names = [r.rule for r in runs]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(f"runs declared twice: {sorted(dup)}")
    return papers, runs


def validate_config(config: dict, schema_path: str | os.PathLike) -> None:
    """Validate against ``config/schema.yaml`` (with the per-paper fragments it ``$ref``s) and raise
    one :class:`ConfigError` that names the key and what is allowed, not a dump of the schema."""
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    schema_path = Path(schema_path).resolve()

    def retrieve(uri: str):  # the per-paper fragments, by file URI (relative $refs resolve against their file)
        from urllib.parse import unquote, urlparse

        path = Path(unquote(urlparse(uri).path))
        if not path.exists() and "/src/replicate/" in path.as_posix():  # a workflow copied without src/: the package's
            path = Path(__file__).parent / path.as_posix().split("/src/replicate/", 1)[1]
        return DRAFT202012.create_resource(_yaml(path.read_text()))

    schema = {"$id": schema_path.as_uri(), **_yaml(schema_path.read_text())}
    validator = jsonschema.Draft202012Validator(schema, registry=Registry(retrieve=retrieve))
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if not errors:
        return
    lines = []
    for err in errors[:3]:
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        lines.append(f"config error at {where}: {_explain(err)}")
    if len(errors) > 3:
        lines.append(f"... and {len(errors) - 3} more")
    raise ConfigError("\n".join(lines))


def _explain(err) -> str:
    if err.validator == "additionalProperties":
        allowed = sorted((err.schema.get("properties") or {}).keys())
        extra = sorted(set(err.instance) - set(allowed))
        return f"unknown key(s) {', '.join(map(repr, extra))}; allowed: {', '.join(allowed)}"
    if err.validator == "enum":
        return f"{err.instance!r} is not one of {err.validator_value}"
    if err.validator in ("oneOf", "anyOf") and err.context:
        best = min(err.context, key=lambda e: len(list(e.absolute_path)))
        return f"{err.instance!r} does not fit: {best.message}"
    message = err.message
    return message if len(message) < 300 else message[:300] + " ..."

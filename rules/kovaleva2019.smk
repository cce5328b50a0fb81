# Kovaleva, Romanov, Rogers & Rumshisky (2019), Revealing the Dark Secrets of BERT.
# One fine-tuned classifier per task (kovaleva2019.tasks) and its random-init twin (table1); one analysis
# per task (sweeps + one attention pass per model); one CNN over every task's pattern maps (figs 1-2).
KOVALEVA = config["kovaleva2019"]
TARGETS["kovaleva2019"] = ["table1", "fig1", "fig2", "fig3", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9"]

KO_BASE = KOVALEVA["finetune"]
check_model_key(KO_BASE, "kovaleva2019.finetune")
check_model_key(KOVALEVA["pretrained"], "kovaleva2019.pretrained")
KO_TASKS = [check_task(t, "kovaleva2019.tasks") for t in KOVALEVA["tasks"]]
if len(set(KO_TASKS)) != len(KO_TASKS):
    raise ValueError(f"config error at kovaleva2019.tasks: a task is listed twice: {KO_TASKS}")
KO_METRIC = {t: TASKS[t].get("metric", "accuracy") for t in KO_TASKS}
KO_NOTE = (f"{KO_BASE} fine-tuned here on " + ", ".join(task_note(t) for t in KO_TASKS)
           + " (stand-ins for BERT-base on GLUE)")
_KO_PATTERNS = KOVALEVA["patterns"]
if _KO_PATTERNS["examples"] < 2:
    raise ValueError("config error at kovaleva2019.patterns.examples: need at least 2 sentences per task "
                     "(one to train the CNN, one held out)")


def ko_model(task, scratch=False):
    return f"{MODELS}/{KO_BASE}{SCRATCH if scratch else ''}/{task}/seed{SEED}"


def ko_params(**extra):
    """Params of the analysis-derived steps: the kovaleva2019 config without the FrameNet part (figs 3-4 have their
    own rules, and a FrameNet setting must not re-run the sweeps)."""
    cfg = {k: v for k, v in KOVALEVA.items() if k != "framenet"}
    return {**cfg, "paper": "kovaleva2019", "seed": SEED, "tasks": KO_TASKS, "metrics": KO_METRIC,
            "model_note": KO_NOTE, "data_note": "test splits", **extra}


rule kovaleva_analysis:
    input:
        model=lambda w: f"{ko_model(w.task)}/config.json",
        data=lambda w: task_files(w.task),
    output:
        json=f"{RESULTS}/kovaleva2019/{{task}}/analysis.json",
        npz=f"{RESULTS}/kovaleva2019/{{task}}/maps.npz",
    wildcard_constraints:
        task="|".join(KO_TASKS),
    params:
        cfg=lambda w: params_json({**{k: v for k, v in KOVALEVA.items() if k not in ("cnn", "tasks", "framenet")},
                                   "paper": "kovaleva2019", "seed": SEED, "metric": KO_METRIC[w.task],
                                   "pretrained": config["models"][KOVALEVA["pretrained"]]}),
        model=lambda w: ko_model(w.task),
        data=lambda w: f"{DATA}/tasks/{w.task}",
    log:
        f"{LOGS}/kovaleva2019/{{task}}/analysis.log",
    benchmark:
        f"{LOGS}/bench/kovaleva2019/{{task}}/analysis.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-analysis --threads {threads} --in model={params.model} data={params.data} "
        "--out json={output.json} npz={output.npz} --params {params.cfg} > {log} 2>&1"


rule kovaleva_patterns:
    input:
        npz=expand(f"{RESULTS}/kovaleva2019/{{task}}/maps.npz", task=KO_TASKS),
        json=expand(f"{RESULTS}/kovaleva2019/{{task}}/analysis.json", task=KO_TASKS),
    output:
        json=f"{RESULTS}/kovaleva2019/patterns.json",
    params:
        cfg=params_json(ko_params()),
        args=" ".join([f"npz_{t}={RESULTS}/kovaleva2019/{t}/maps.npz" for t in KO_TASKS]
                      + [f"json_{t}={RESULTS}/kovaleva2019/{t}/analysis.json" for t in KO_TASKS]),
    log:
        f"{LOGS}/kovaleva2019/patterns.log",
    benchmark:
        f"{LOGS}/bench/kovaleva2019/patterns.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate kovaleva-patterns --threads {threads} --in {params.args} --out json={output.json} "
        "--params {params.cfg} > {log} 2>&1"


# Figs 3-4: FrameNet frame-semantic heads of the pre-trained encoder (card §4.5): the shipped hand-written
# sentences (default), a file in their format (local), or FrameNet 1.7 through nltk (paper scale).
KO_FN = KOVALEVA["framenet"]
from replicate.framenet import read_examples as _ko_fn_read

_KO_FN_IDS = {r.id for r in _ko_fn_read()}
for _k in ("example", "illustration"):
    if KO_FN[_k] not in _KO_FN_IDS:
        raise ValueError(f"config error at kovaleva2019.framenet.{_k}: {KO_FN[_k]!r} is not an id of the shipped "
                         f"sentences (src/replicate/resources/framenet_examples.tsv; known: {sorted(_KO_FN_IDS)})")
if KO_FN["source"] == "local":
    if "path" not in KO_FN or not os.path.isfile(KO_FN["path"]):
        raise ValueError(f"config error at kovaleva2019.framenet.path: {KO_FN.get('path')!r} is not a file (source: local "
                         "needs a TSV in the format of src/replicate/resources/framenet_examples.tsv)")
    KO_FN_INPUT = {"sentences": KO_FN["path"]}
elif KO_FN["source"] == "examples":
    from replicate.framenet import EXAMPLES as _KO_FN_EXAMPLES

    KO_FN_INPUT = {"sentences": str(_KO_FN_EXAMPLES)}  # edits to the shipped file rerun the step
else:  # nltk: FrameNet 1.7 must be installed before any job runs (checked in onstart: dry runs need no data)
    KO_FN_INPUT = {}

    def _check_framenet():
        if not os.path.exists(f"{RESULTS}/kovaleva2019/framenet.json"):
            from replicate.framenet import check_nltk_framenet

            check_nltk_framenet()

    ONSTART_CHECKS.append(_check_framenet)
KO_FN_PARAMS = {"paper": "kovaleva2019_framenet", "framenet": KO_FN, "seed": SEED,
                "pretrained": config["models"][KOVALEVA["pretrained"]],
                "model_note": f"{KOVALEVA['pretrained']} pre-trained (not fine-tuned) on "
                              + ("FrameNet 1.7 (nltk)" if KO_FN["source"] == "nltk" else
                                 "hand-written FrameNet-style sentences (NOT FrameNet data)"),
                "data_note": {"nltk": "FrameNet 1.7 exemplars", "examples": "shipped framenet_examples.tsv",
                              "local": KO_FN.get("path", "")}[KO_FN["source"]]}


rule kovaleva_framenet:
    input:
        **KO_FN_INPUT,
    output:
        json=f"{RESULTS}/kovaleva2019/framenet.json",
    params:
        cfg=params_json(KO_FN_PARAMS),
        args=" ".join(f"{k}={v}" for k, v in KO_FN_INPUT.items()),
    log:
        f"{LOGS}/kovaleva2019/framenet.log",
    benchmark:
        f"{LOGS}/bench/kovaleva2019/framenet.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate kovaleva-framenet --threads {threads} --in {params.args} --out json={output.json} "
        "--params {params.cfg} > {log} 2>&1"


rule kovaleva_framenet_target:
    input:
        json=f"{RESULTS}/kovaleva2019/framenet.json",
    output:
        png=f"{FIGURES}/kovaleva2019/{{target}}.png",
        pdf=f"{FIGURES}/kovaleva2019/{{target}}.pdf",
        csv=f"{FIGURES}/kovaleva2019/{{target}}.csv",
        maps=f"{FIGURES}/kovaleva2019/{{target}}_maps.csv",
        verdict=f"{RESULTS}/kovaleva2019/{{target}}.verdict.json",
    wildcard_constraints:
        target="fig3|fig4",
    params:
        cfg=lambda w: params_json({**KO_FN_PARAMS, "target": w.target}),
    log:
        f"{LOGS}/kovaleva2019/{{target}}.log",
    benchmark:
        f"{LOGS}/bench/kovaleva2019/{{target}}.tsv"
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-target --in json={input.json} --out png={output.png} csv={output.csv} "
        "maps={output.maps} verdict={output.verdict} --params {params.cfg} > {log} 2>&1"


def ko_target_inputs(w):
    """name -> JSON file read by the target (the name is the key in ``res``)."""
    if w.target == "table1":
        return {**{f"ft_{t}": f"{ko_model(t)}/metrics.json" for t in KO_TASKS},
                **{f"scratch_{t}": f"{ko_model(t, scratch=True)}/metrics.json" for t in KO_TASKS}}
    if w.target in ("fig1", "fig2"):
        return {"patterns": f"{RESULTS}/kovaleva2019/patterns.json"}
    return {t: f"{RESULTS}/kovaleva2019/{t}/analysis.json" for t in KO_TASKS}


rule kovaleva_target:
    input:
        unpack(ko_target_inputs),
    output:
        png=f"{FIGURES}/kovaleva2019/{{target}}.png",
        pdf=f"{FIGURES}/kovaleva2019/{{target}}.pdf",
        csv=f"{FIGURES}/kovaleva2019/{{target}}.csv",
        verdict=f"{RESULTS}/kovaleva2019/{{target}}.verdict.json",
    wildcard_constraints:
        target="|".join(t for t in TARGETS["kovaleva2019"] if t not in ("fig3", "fig4")),
    params:
        cfg=lambda w: params_json(ko_params(target=w.target)),
        args=lambda w: " ".join(f"{k}={v}" for k, v in ko_target_inputs(w).items()),
    log:
        f"{LOGS}/kovaleva2019/{{target}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-target --in {params.args} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"

# Michel, Levy & Neubig (2019), Are Sixteen Heads Really Better than One?
MICHEL = config["michel2019"]
TARGETS["michel2019"] = ["fig1", "table3", "table6", "fig3", "fig6", "table4"]
NOT_RUN["michel2019"] = ["table1", "table2", "table5", "fig4", "fig5"]

_MI = MICHEL["model"]
check_model_key(_MI["finetune"], "michel2019.model.finetune")
check_task(_MI["task"], "michel2019.model.task", regression_ok=False)  # accuracy, table6's label log-likelihood
MICHEL_MODEL = f"{MODELS}/{_MI['finetune']}/{_MI['task']}/seed{SEED}"
MICHEL_NOTE = f"{_MI['finetune']} fine-tuned here on {task_note(_MI['task'])} (stand-in for BERT-base MNLI)"
for _k, _t in enumerate(MICHEL["curve_tasks"]):
    check_task(_t, f"michel2019.curve_tasks[{_k}]")

# fig2: one model's per-head effects on two domains, either the source corpora of an agreement task's
# instances (split_by: source) or the test splits of two data.tasks (split_by: task, e.g. MNLI-m / -mm).
_F2 = MICHEL["fig2"]
if _F2 is not None:
    TARGETS["michel2019"].append("fig2")
    check_model_key(_F2["model"]["finetune"], "michel2019.fig2.model.finetune")
    check_task(_F2["model"]["task"], "michel2019.fig2.model.task", regression_ok=False)  # scored by accuracy
    if _F2["split_by"] == "source":
        if TASKS[_F2["model"]["task"]]["source"] != "agreement":
            raise ValueError("config error at michel2019.fig2: split_by 'source' needs a model fine-tuned on an "
                             f"agreement task; data.tasks.{_F2['model']['task']}.source is not 'agreement'")
        _known = config["data"]["agreement"].get("corpora", [])
        if config["data"]["agreement"]["source"] != "rebuild" or not set(_F2["domains"]) <= set(_known):
            raise ValueError(f"config error at michel2019.fig2.domains: {_F2['domains']} must be corpora of the rebuilt "
                             f"agreement data (data.agreement.source: rebuild, corpora: {_known})")
        _F2_DATA = rules.prepare_agreement.output + task_files(_F2["model"]["task"])
    else:
        for _k, _t in enumerate(_F2["domains"]):
            check_task(_t, f"michel2019.fig2.domains[{_k}]", regression_ok=False)
        _F2_DATA = [f for t in _F2["domains"] for f in task_files(t)]
    _F2_MODEL = f"{MODELS}/{_F2['model']['finetune']}/{_F2['model']['task']}/seed{SEED}"
else:
    NOT_RUN["michel2019"].append("fig2")


def michel_curves_from_analysis(task):
    """fig6 reads the main model's curves from its analysis (same method, scored by accuracy)."""
    return task == _MI["task"] and TASKS[task].get("metric", "accuracy") == "accuracy"


_MICHEL_SHARED = ("importance_examples", "abs_level", "step", "random_orders", "batch_size", "max_length")


def michel_params(keys=None, **extra):
    """The rule's params JSON: the michel2019 config (only ``keys`` of it plus the shared method keys, when
    given: a change elsewhere does not re-run the job), the seed and ``extra``."""
    cfg = ({k: v for k, v in MICHEL.items() if k != "mt"} if keys is None else  # mt: the translation rules' own
           {k: MICHEL[k] for k in (*_MICHEL_SHARED, *keys) if k in MICHEL})
    return params_json({**cfg, "paper": "michel2019", "seed": SEED, **extra})


rule michel_analysis:
    input:
        model=f"{MICHEL_MODEL}/config.json",
        data=task_files(_MI["task"]),
    output:
        json=f"{RESULTS}/michel2019/analysis.json",
    params:
        cfg=michel_params(),
        model=MICHEL_MODEL,
        data=f"{DATA}/tasks/{_MI['task']}",
    log:
        f"{LOGS}/michel2019/analysis.log",
    benchmark:
        f"{LOGS}/bench/michel2019/analysis.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-analysis --threads {threads} --in model={params.model} data={params.data} "
        "--out json={output.json} --params {params.cfg} > {log} 2>&1"


rule michel_curves:
    input:
        model=f"{MODELS}/{_MI['finetune']}/{{task}}/seed{SEED}/config.json",
        data=lambda w: task_files(w.task),
    output:
        json=f"{RESULTS}/michel2019/curves/{{task}}.json",
    wildcard_constraints:
        task="|".join(t for t in MICHEL["curve_tasks"] if not michel_curves_from_analysis(t)) or "^$",
    params:
        cfg=lambda w: michel_params(("examples",), task=w.task, metric=TASKS[w.task].get("metric", "accuracy")),
        model=lambda w: f"{MODELS}/{_MI['finetune']}/{w.task}/seed{SEED}",
        data=lambda w: f"{DATA}/tasks/{w.task}",
    log:
        f"{LOGS}/michel2019/curves_{{task}}.log",
    benchmark:
        f"{LOGS}/bench/michel2019/curves_{{task}}.tsv"
    threads: 2
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-curves --threads {threads} --in model={params.model} data={params.data} "
        "--out json={output.json} --params {params.cfg} > {log} 2>&1"


if _F2 is not None:

    rule michel_domains:
        input:
            model=f"{_F2_MODEL}/config.json",
            data=_F2_DATA,
        output:
            json=f"{RESULTS}/michel2019/domains.json",
        params:
            cfg=michel_params(("fig2",)),
            args=" ".join([f"model={_F2_MODEL}"] + (
                [f"agreement={DATA}/agreement", f"exclude={DATA}/tasks/{_F2['model']['task']}"]
                if _F2["split_by"] == "source" else [f"{t}={DATA}/tasks/{t}" for t in _F2["domains"]])),
        log:
            f"{LOGS}/michel2019/domains.log",
        benchmark:
            f"{LOGS}/bench/michel2019/domains.tsv"
        threads: 2
        resources:
            mem_mb=3000,
        conda:
            "../envs/replicate.yaml"
        shell:
            "python -m replicate head-domains --threads {threads} --in {params.args} --out json={output.json} "
            "--params {params.cfg} > {log} 2>&1"


# Timings are not reproducible: table4's speed columns are left out of tests/test_reproduce.py.
rule michel_timing:
    input:
        model=f"{MICHEL_MODEL}/config.json",
        data=task_files(_MI["task"]),
        analysis=rules.michel_analysis.output.json,
    output:
        json=f"{RESULTS}/michel2019/timing.json",
    params:
        cfg=michel_params(("table4",)),
        model=MICHEL_MODEL,
        data=f"{DATA}/tasks/{_MI['task']}",
    log:
        f"{LOGS}/michel2019/timing.log",
    benchmark:
        f"{LOGS}/bench/michel2019/timing.tsv"
    threads: MICHEL["table4"]["threads"]
    resources:
        mem_mb=3000,
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-timing --threads {threads} --in model={params.model} data={params.data} "
        "analysis={input.analysis} --out json={output.json} --params {params.cfg} > {log} 2>&1"


# ----------------------------------------------------------------------------- translation targets
# tables 1, 2, 5 and figs 1(a), 2(a), 3(a), 4, 5: a toy MarianMTModel trained here (default) or a hub Marian model
_MT = MICHEL.get("mt")
MT_TARGETS = ["table1", "table2", "table5", "fig1a", "fig3a", "fig4"]
if _MT is not None:
    if _MT["model"]["source"] == "toy" and ("toy_model" not in _MT or _MT["data"]["source"] != "toy"):
        raise ValueError("config error at michel2019.mt: model {source: toy} needs toy_model and data.source: toy")
    _MT_FIG5 = bool(_MT["fig5_epochs"]) and _MT["model"]["source"] == "toy"
    if _MT["fig5_epochs"] and not _MT_FIG5:
        raise ValueError("config error at michel2019.mt.fig5_epochs: checkpoints exist only for a toy model trained here")
    if _MT_FIG5 and max(_MT["fig5_epochs"]) > _MT["toy_model"]["epochs"]:
        raise ValueError(f"config error at michel2019.mt.fig5_epochs: {_MT['fig5_epochs']} beyond toy_model.epochs")
    MT_TARGETS += (["fig2a"] if _MT["data"].get("domain2") else []) + (["fig5"] if _MT_FIG5 else [])
    TARGETS["michel2019"] += MT_TARGETS
    NOT_RUN["michel2019"] = [t for t in NOT_RUN["michel2019"] if t not in MT_TARGETS] + (
        [] if "fig2a" in MT_TARGETS else ["fig2a"])
    MT_DATA = f"{DATA}/mt"
    MT_MODEL = f"{MODELS}/mt_toy/reverse/seed{SEED}" if _MT["model"]["source"] == "toy" else None
    _MT_KEYS = ("importance_examples", "beams", "max_new_tokens", "bleu_tokenize", "batch_size", "bootstrap", "random_orders")

    def mt_params(**extra):
        """The analysis params: the mt config without the targets' tolerances, plus the shared method keys."""
        return params_json({**{k: _MT[k] for k in _MT_KEYS}, "data": _MT["data"], "seed": SEED,
                            "abs_level": MICHEL["abs_level"], "step": MICHEL["step"], **extra})

    rule michel_mt_data:
        output:
            valid=f"{MT_DATA}/valid.tsv",
            stats=f"{MT_DATA}/stats.json",
        params:
            cfg=params_json({"data": _MT["data"], "seed": SEED, "importance_examples": _MT["importance_examples"]}),
        log:
            f"{LOGS}/michel2019/mt_data.log",
        benchmark:
            f"{LOGS}/bench/michel2019/mt_data.tsv"
        conda:
            "../envs/replicate.yaml"
        shell:
            "python -m replicate mt-prepare --out dir={MT_DATA} --params {params.cfg} > {log} 2>&1"

    if MT_MODEL is not None:

        rule michel_mt_train:
            input:
                rules.michel_mt_data.output,
            output:
                config=f"{MT_MODEL}/config.json",
                metrics=f"{MT_MODEL}/metrics.json",
            params:
                cfg=params_json({"toy_model": _MT["toy_model"], "fig5_epochs": _MT["fig5_epochs"], "seed": SEED}),
                out=MT_MODEL,
            log:
                f"{LOGS}/michel2019/mt_train.log",
            benchmark:
                f"{LOGS}/bench/michel2019/mt_train.tsv"
            threads: 2
            resources:
                mem_mb=2000,
            conda:
                "../envs/replicate.yaml"
            shell:
                "python -m replicate mt-train --threads {threads} --in data={MT_DATA} --out dir={params.out} "
                "--params {params.cfg} > {log} 2>&1"

    def mt_model_args():
        return f"model={MT_MODEL}" if MT_MODEL else ""

    rule michel_mt_analysis:
        input:
            data=rules.michel_mt_data.output,
            model=[f"{MT_MODEL}/config.json"] if MT_MODEL else [],
        output:
            json=f"{RESULTS}/michel2019/mt_analysis.json",
        params:
            cfg=mt_params(mt_model_spec=_MT["model"]),
            model=mt_model_args(),
        log:
            f"{LOGS}/michel2019/mt_analysis.log",
        benchmark:
            f"{LOGS}/bench/michel2019/mt_analysis.tsv"
        threads: 2
        resources:
            mem_mb=3000,
        conda:
            "../envs/replicate.yaml"
        shell:
            "python -m replicate mt-analysis --threads {threads} --in data={MT_DATA} {params.model} "
            "--out json={output.json} --params {params.cfg} > {log} 2>&1"

    if _MT_FIG5:

        rule michel_mt_epochs:
            input:
                data=rules.michel_mt_data.output,
                model=f"{MT_MODEL}/config.json",
            output:
                json=f"{RESULTS}/michel2019/mt_epochs.json",
            params:
                cfg=mt_params(epochs=_MT["fig5_epochs"]),
            log:
                f"{LOGS}/michel2019/mt_epochs.log",
            benchmark:
                f"{LOGS}/bench/michel2019/mt_epochs.tsv"
            threads: 2
            resources:
                mem_mb=3000,
            conda:
                "../envs/replicate.yaml"
            shell:
                "python -m replicate mt-analysis --threads {threads} --in data={MT_DATA} model={MT_MODEL} "
                "--out json={output.json} --params {params.cfg} > {log} 2>&1"
else:
    MT_TARGETS = []
    NOT_RUN["michel2019"] += ["fig1a", "fig2a", "fig3a"]


def michel_notes(target):
    """The scorecard's model / data notes of a target."""
    if _MT is not None and target in MT_TARGETS:
        if MT_MODEL is None:
            return {"model_note": f"{_MT['model'].get('id', _MT['model'].get('path'))} (Marian; stand-in for the WMT14 "
                                  "En-Fr big Transformer)", "data_note": f"{_MT['data'].get('id')} {_MT['data'].get('subset')}"}
        tm = _MT["toy_model"]
        return {"model_note": f"toy MarianMTModel {tm['layers']}+{tm['layers']} layers x {tm['heads']} heads, d={tm['d_model']}, "
                              f"trained here {tm['epochs']} epochs to reverse word order (stand-in for WMT/IWSLT)",
                "data_note": f"gensim Wikipedia sentences of {_MT['data']['min_words']}-{_MT['data']['max_words']} words "
                             f"(Lee news: 2nd domain); greedy decoding, sacrebleu tokenize={_MT['bleu_tokenize']}"}
    if target == "fig6":
        return {"model_note": f"{_MI['finetune']} fine-tuned here on each task (stand-in for BERT-base on SST-2/CoLA/MRPC)",
                "data_note": "test splits of " + ", ".join(task_note(t) for t in MICHEL["curve_tasks"])}
    if target == "fig2":
        where = ("held-out agreement sentences by source corpus: " if _F2["split_by"] == "source" else "test splits: ")
        return {"model_note": f"{_F2['model']['finetune']} fine-tuned here on {task_note(_F2['model']['task'])}",
                "data_note": where + " vs ".join(_F2["domains"])}
    return {"model_note": MICHEL_NOTE, "data_note": f"{task_note(_MI['task'])} test split"}


def michel_target_inputs(w):
    """The results file(s) each target reads: one ``json``, or one file per curve task (fig6)."""
    if w.target == "fig6":  # the main model's curves come from its analysis (same method, scored by accuracy)
        return {t: rules.michel_analysis.output.json if michel_curves_from_analysis(t) else
                f"{RESULTS}/michel2019/curves/{t}.json" for t in MICHEL["curve_tasks"]}
    if _MT is not None and w.target in MT_TARGETS:
        return {"json": f"{RESULTS}/michel2019/mt_{'epochs' if w.target == 'fig5' else 'analysis'}.json"}
    return {"json": {"fig2": f"{RESULTS}/michel2019/domains.json",
                     "table4": f"{RESULTS}/michel2019/timing.json"}.get(w.target, rules.michel_analysis.output.json)}


rule michel_target:
    input:
        unpack(michel_target_inputs),
    output:
        png=f"{FIGURES}/michel2019/{{target}}.png",
        pdf=f"{FIGURES}/michel2019/{{target}}.pdf",
        csv=f"{FIGURES}/michel2019/{{target}}.csv",
        verdict=f"{RESULTS}/michel2019/{{target}}.verdict.json",
    wildcard_constraints:
        target="|".join(TARGETS["michel2019"]),
    params:
        cfg=lambda w: params_json({**{k: v for k, v in MICHEL.items() if k != "mt" or w.target in MT_TARGETS},
                                   "paper": "michel2019", "target": w.target, **michel_notes(w.target)}),
        args=lambda w, input: " ".join(f"{k}={v}" for k, v in input.items()),
    log:
        f"{LOGS}/michel2019/{{target}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate head-target --in {params.args} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"


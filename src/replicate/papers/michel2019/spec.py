"""michel2019: the runs and targets of one configuration (see the package docstring)."""

from __future__ import annotations

from replicate.spec import ConfigError, Paper, Run, Target

KEY = "michel2019"
PKG = f"replicate.papers.{KEY}"
BERT_TARGETS = ("fig1", "table3", "table6", "fig3", "fig6", "table4")
MT_TARGETS = ("table1", "table2", "table5", "fig1a", "fig3a", "fig4", "fig2a", "fig5")
# run params: the method keys every classifier run reads; each run adds its own (a change elsewhere re-runs nothing)
SHARED = ("importance_examples", "abs_level", "step", "random_orders", "batch_size", "max_length")
MT_KEYS = ("importance_examples", "beams", "max_new_tokens", "bleu_tokenize", "batch_size", "bootstrap", "random_orders")

_MT_OFF = ("disabled in this configuration (michel2019.mt: null); config/config.yaml runs it on a toy MarianMTModel "
           "trained here (word reversal of Wikipedia sentences) and config/paper.yaml on Helsinki-NLP/opus-mt-en-fr "
           "with WMT14 newstest2013/2014 (stand-in for the fairseq WMT14 En-Fr big model)")
NOT_RUN = {
    "table1": f"WMT ΔBLEU per encoder head: {_MT_OFF}",
    "table2": f"WMT, one head kept per layer for Enc-Enc/Enc-Dec/Dec-Dec: {_MT_OFF}",
    "table5": f"WMT held-out head choice (newstest2013 -> newstest2014): {_MT_OFF}",
    "fig4": f"WMT pruning curves per attention type: {_MT_OFF}",
    "fig1a": f"WMT single-head BLEU histogram: {_MT_OFF}",
    "fig3a": f"WMT pruning curve by I_h and oracle: {_MT_OFF}",
    "fig2a": "no second translation domain in this configuration (michel2019.mt.data.domain2: null; MTNT is not on "
             f"the hub): give a data set spec, or see the default (Lee news vs Wikipedia); otherwise {_MT_OFF}",
    "fig5": "IWSLT14 De-En 6x8 Transformer trained 40 epochs, pruning curves at epochs 1-40: checkpoints exist only "
            "for the toy model trained here (michel2019.mt.model: {source: toy}, fig5_epochs); the IWSLT training "
            f"recipe is not in the DAG; {_MT_OFF}",
    "fig2": "disabled in this configuration (michel2019.fig2: null); the default runs an agreement-corpus stand-in "
            "(Wikipedia vs Lee news) and config/paper.yaml MNLI-m vs MNLI-mm",
}


def _pick(cfg: dict, keys) -> dict:
    return {k: cfg[k] for k in keys if k in cfg}


# report labels: the method each target shows
METHOD = {
    'fig1': 'single-head masking',
    'fig1a': 'single-head masking',
    'table1': 'single-head masking',
    'table2': 'all heads but one masked per layer',
    'table3': 'all heads but one masked per layer',
    'table5': 'all heads but one masked per layer',
    'table6': 'all heads but one masked per layer',
    'fig2': 'single-head masking on two domains',
    'fig2a': 'single-head masking on two domains',
    'fig3': 'pruning by head importance I_h',
    'fig3a': 'pruning by head importance I_h',
    'fig4': 'pruning by head importance I_h',
    'fig6': 'pruning by head importance I_h',
    'fig5': 'pruning by I_h over training epochs',
    'table4': 'removing pruned heads: inference speed',
}


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    res = f"{ctx.RESULTS}/{KEY}"
    mi = cfg["model"]
    ctx.model_key(mi["finetune"], f"{KEY}.model.finetune")
    task = ctx.task(mi["task"], f"{KEY}.model.task", regression_ok=False)  # accuracy, table6's label log-likelihood
    model = ctx.finetuned(mi["finetune"], task)
    for k, t in enumerate(cfg["curve_tasks"]):
        ctx.task(t, f"{KEY}.curve_tasks[{k}]")
    note = {"model": f"{mi['finetune']} fine-tuned here on {ctx.task_note(task)} (stand-in for BERT-base MNLI)",
            "data": f"{ctx.task_note(task)} test split"}

    def params(*keys, **extra):
        return {**_pick(cfg, (*SHARED, *keys)), "seed": ctx.SEED, **extra}

    analysis = Run("analysis", f"{PKG}.runs:analysis", inputs={"model": f"{model}/config.json", "data": ctx.task_files(task)},
                   args={"model": model, "data": ctx.task_dir(task)}, outputs={"json": f"{res}/analysis.json"},
                   params=params("examples", "heldout_examples", "model"), mem_mb=3000)
    importance = Run("importance", f"{PKG}.runs:importance", inputs=analysis.inputs, args=analysis.args,
                     outputs={"json": f"{res}/importance.json"}, params=params("examples", "model"), mem_mb=3000)
    runs = [analysis, importance]
    curve_inputs = {}
    for t in cfg["curve_tasks"]:
        metric = ctx.TASKS[t].get("metric", "accuracy")
        if t == task and metric == "accuracy":  # the main model's curves come from its analysis (same method)
            curve_inputs[t] = importance.outputs["json"]
            continue
        m = ctx.finetuned(mi["finetune"], t)
        runs.append(Run(f"curves_{t}", f"{PKG}.runs:curves", inputs={"model": f"{m}/config.json", "data": ctx.task_files(t)},
                        args={"model": m, "data": ctx.task_dir(t)}, outputs={"json": f"{res}/curves/{t}.json"},
                        params=params("examples", task=t, metric=metric), mem_mb=3000))
        curve_inputs[t] = runs[-1].outputs["json"]
    table4 = cfg["table4"]
    runs.append(Run("timing", f"{PKG}.runs:timing",
                    inputs={"model": f"{model}/config.json", "data": ctx.task_files(task), "importance": importance.outputs["json"]},
                    args={"model": model, "data": ctx.task_dir(task), "importance": importance.outputs["json"]},
                    outputs={"json": f"{res}/timing.json"}, params=params("table4"), threads=table4["threads"], mem_mb=3000))

    def bert(tid, inputs, keys=(), **notes):
        return Target(tid, f"{PKG}.targets:{tid}", inputs=inputs, model=notes.get("model", note["model"]),
                      data=notes.get("data", note["data"]),
                      params={"model_note": notes.get("model", note["model"]), **_pick(cfg, keys)})

    one = {"json": analysis.outputs["json"], "importance": importance.outputs["json"]}
    targets = [bert("fig1", one, ("flat_tolerance",)), bert("table3", one, ("keep_one_tolerance",)),
               bert("table6", one, ("keep_one_tolerance",)), bert("fig3", one, ("flat_tolerance",)),
               bert("fig6", curve_inputs, ("flat_tolerance", "curve_tasks"),
                    model=f"{mi['finetune']} fine-tuned here on each task (stand-in for BERT-base on SST-2/CoLA/MRPC)",
                    data="test splits of " + ", ".join(ctx.task_note(t) for t in cfg["curve_tasks"])),
               bert("table4", {"json": f"{res}/timing.json"})]

    # fig2: one model's per-head effects on two domains, either the source corpora of an agreement task's
    # instances (split_by: source) or the test splits of two data.tasks (split_by: task, e.g. MNLI-m / -mm)
    f2 = cfg["fig2"]
    if f2 is None:
        targets.append(Target("fig2", not_run=NOT_RUN["fig2"]))
    else:
        ctx.model_key(f2["model"]["finetune"], f"{KEY}.fig2.model.finetune")
        t2 = ctx.task(f2["model"]["task"], f"{KEY}.fig2.model.task", regression_ok=False)  # scored by accuracy
        m2 = ctx.finetuned(f2["model"]["finetune"], t2)
        if f2["split_by"] == "source":
            if ctx.TASKS[t2]["source"] != "agreement":
                raise ConfigError(f"config error at {KEY}.fig2: split_by 'source' needs a model fine-tuned on an "
                                  f"agreement task; data.tasks.{t2}.source is not 'agreement'")
            agr = ctx.config["data"]["agreement"]
            known = agr.get("corpora", [])
            if agr["source"] != "rebuild" or not set(f2["domains"]) <= set(known):
                raise ConfigError(f"config error at {KEY}.fig2.domains: {f2['domains']} must be corpora of the rebuilt "
                                  f"agreement data (data.agreement.source: rebuild, corpora: {known})")
            data, args = ctx.agreement_files + ctx.task_files(t2), {"agreement": ctx.agreement_dir, "exclude": ctx.task_dir(t2)}
            where = "held-out agreement sentences by source corpus: "
        else:
            for k, t in enumerate(f2["domains"]):
                ctx.task(t, f"{KEY}.fig2.domains[{k}]", regression_ok=False)
            data = [f for t in f2["domains"] for f in ctx.task_files(t)]
            args, where = {"tasks": {t: ctx.task_dir(t) for t in f2["domains"]}}, "test splits: "
        runs.append(Run("domains", f"{PKG}.runs:domains", inputs={"model": f"{m2}/config.json", "data": data},
                        args={"model": m2, **args}, outputs={"json": f"{res}/domains.json"}, params=params("fig2"),
                        mem_mb=3000))
        targets.append(bert("fig2", {"json": f"{res}/domains.json"}, model=f"{f2['model']['finetune']} fine-tuned "
                            f"here on {ctx.task_note(t2)}", data=where + " vs ".join(f2["domains"])))

    mt_runs, mt_targets = _mt(ctx, cfg, res)
    summary = {f"{mi['finetune']} fine-tuned ({task})": (
        f"{model}/metrics.json", "michel2019: BERT-base fine-tuned on MNLI (dev-m accuracy ~0.83, read off fig1(b) [approx])")}
    for t in targets + mt_targets:
        t.method = METHOD.get(t.id, "")
    return Paper(KEY, "Michel, Levy & Neubig (2019), Are Sixteen Heads Really Better than One?",
                 runs + mt_runs, targets + mt_targets, summary=summary)


def _mt(ctx, cfg: dict, res: str) -> tuple[list, list]:
    """Tables 1, 2, 5 and figs 1(a), 2(a), 3(a), 4, 5: a toy MarianMTModel trained here (default) or a hub Marian model."""
    mt = cfg.get("mt")
    if mt is None:
        return [], [Target(t, not_run=NOT_RUN[t]) for t in MT_TARGETS]
    toy = mt["model"]["source"] == "toy"
    if toy and ("toy_model" not in mt or mt["data"]["source"] != "toy"):  # also in schema.yaml
        raise ConfigError(f"config error at {KEY}.mt: model {{source: toy}} needs toy_model and data.source: toy")
    held = mt["data"].get("held_out")  # toy data only: hub splits are separate sets
    if mt["data"]["source"] == "toy" and held is not None and max(mt["data"]["valid"], mt["data"]["test"]) > held:
        raise ConfigError(f"config error at {KEY}.mt.data: valid ({mt['data']['valid']}) and test ({mt['data']['test']}) "
                          f"must be at most held_out ({held}), the block each is taken from")
    fig5 = bool(mt["fig5_epochs"]) and toy
    if mt["fig5_epochs"] and not fig5:
        raise ConfigError(f"config error at {KEY}.mt.fig5_epochs: checkpoints exist only for a toy model trained here")
    if fig5 and max(mt["fig5_epochs"]) > mt["toy_model"]["epochs"]:
        raise ConfigError(f"config error at {KEY}.mt.fig5_epochs: {mt['fig5_epochs']} beyond toy_model.epochs "
                          f"(allowed: 1-{mt['toy_model']['epochs']})")
    data_dir = f"{ctx.DATA}/mt"
    prepare = Run("mt_prepare", f"{PKG}.mt_runs:prepare",
                  outputs={"valid": f"{data_dir}/valid.tsv", "stats": f"{data_dir}/stats.json"},
                  params={"data": mt["data"], "seed": ctx.SEED, "importance_examples": mt["importance_examples"]})
    runs = [prepare]
    data = list(prepare.outputs.values())
    model = f"{ctx.MODELS}/mt_toy/reverse/seed{ctx.SEED}" if toy else None
    if toy:
        runs.append(Run("mt_train", f"{PKG}.mt_runs:train", inputs={"data": data}, args={"data": data_dir},
                        outputs={"config": f"{model}/config.json", "metrics": f"{model}/metrics.json"},
                        params={"toy_model": mt["toy_model"], "fig5_epochs": mt["fig5_epochs"], "seed": ctx.SEED},
                        mem_mb=2000))
    analysis_params = {**_pick(mt, MT_KEYS), "data": mt["data"], "seed": ctx.SEED, "abs_level": cfg["abs_level"],
                       "step": cfg["step"]}
    inputs = {"data": data, **({"model": f"{model}/config.json"} if toy else {})}
    args = {"data": data_dir, "model": model if toy else mt["model"]}
    runs.append(Run("mt_analysis", f"{PKG}.mt_runs:analysis", inputs=inputs, args=args,
                    outputs={"json": f"{res}/mt_analysis.json"}, params={**analysis_params, "mt_model_spec": mt["model"]},
                    mem_mb=3000))
    if fig5:
        runs.append(Run("mt_epochs", f"{PKG}.mt_runs:epochs", inputs=inputs, args=args,
                        outputs={"json": f"{res}/mt_epochs.json"}, params={**analysis_params, "epochs": mt["fig5_epochs"]},
                        mem_mb=3000))
    if toy:
        tm = mt["toy_model"]
        model_note = (f"toy MarianMTModel {tm['layers']}+{tm['layers']} layers x {tm['heads']} heads, d={tm['d_model']}, "
                      f"trained here {tm['epochs']} epochs to reverse word order (stand-in for WMT/IWSLT)")
        data_note = (f"gensim Wikipedia sentences of {mt['data']['min_words']}-{mt['data']['max_words']} words "
                     f"(Lee news: 2nd domain); greedy decoding, sacrebleu tokenize={mt['bleu_tokenize']}")
    else:
        model_note = (f"{mt['model'].get('id', mt['model'].get('path'))} (Marian; stand-in for the WMT14 En-Fr big "
                      "Transformer)")
        data_note = f"{mt['data'].get('id')} {mt['data'].get('subset')}"
    tparams = {"model_note": model_note, "stand_in": mt["data"]["source"] == "toy",
               **_pick(mt, ("alpha", "bootstrap", "near_tolerance", "flat_tolerance"))}
    produced = {"fig2a": bool(mt["data"].get("domain2")), "fig5": fig5}
    targets = []
    for t in MT_TARGETS:
        if not produced.get(t, True):
            targets.append(Target(t, not_run=NOT_RUN[t]))
            continue
        json = f"{res}/mt_{'epochs' if t == 'fig5' else 'analysis'}.json"
        targets.append(Target(t, f"{PKG}.mt_targets:{t}", inputs={"json": json}, params=tparams, model=model_note,
                              data=data_note))
    return runs, targets

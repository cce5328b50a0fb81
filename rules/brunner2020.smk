# Brunner et al. (2020), On Identifiability in Transformers, and Pascual et al. (2021), Telling
# BERT's Full Story (which reuses Brunner's hidden-token attribution: one shared HTA run).
BRUNNER = config["brunner2020"]
PASCUAL = config["pascual2021"]
TARGETS["brunner2020"] = ["nullspace", "fig1", "fig6", "fig2", "fig3", "fig4", "fig5"]
TARGETS["pascual2021"] = ["fig1", "fig2", "fig3", "fig4", "fig5"]
NOT_RUN["pascual2021"] = ["table1"]

IDF_MODEL = check_model_key(BRUNNER["model"], "brunner2020.model")
IDF_NOTE = f"{BRUNNER['model']} ({IDF_MODEL.get('id', IDF_MODEL.get('package', IDF_MODEL.get('path', '')))})"
PAIRS = f"{DATA}/pairs/wikipedia.jsonl"
HTA = f"{RESULTS}/hta/{BRUNNER['model']}.npz"
_ATTENTION_FIGS = {"nullspace": "nullspace", "fig1": "fig1", "fig6": "fig6", "fig2": "fig2"}


rule prepare_pairs:
    output:
        pairs=PAIRS,
    params:
        cfg=params_json({**BRUNNER["pairs"], "model": IDF_MODEL}),
    log:
        f"{LOGS}/data/pairs.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare-pairs --out pairs={output.pairs} --params {params.cfg} > {log} 2>&1"


rule hta_run:
    input:
        pairs=PAIRS,
    output:
        npz=HTA,
    params:
        cfg=params_json({**BRUNNER["hta"], "model": IDF_MODEL, "seed": SEED}),
    log:
        f"{LOGS}/hta/{BRUNNER['model']}.log",
    benchmark:
        f"{LOGS}/bench/hta/{BRUNNER['model']}.tsv"
    threads: 2
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate hta --threads {threads} --in pairs={input.pairs} --out npz={output.npz} "
        "--params {params.cfg} > {log} 2>&1"


def _data_note(stem):
    if stem in _ATTENTION_FIGS:
        s = BRUNNER[stem]
        return f"Wikipedia sentence pairs (gensim sample, spaCy split), {s.get('min_tokens', '')}-{s.get('max_tokens', '')} tokens"
    h = BRUNNER["hta"]
    return f"{h['n_pairs']} Wikipedia sentence pairs, {h['min_tokens']}-{h['max_tokens']} tokens"


ruleorder: brunner_attention_figure > hta_figure  # brunner2020/fig2 (probes) reads the pairs, not the HTA run


rule brunner_attention_figure:
    input:
        pairs=PAIRS,
    output:
        png=f"{FIGURES}/brunner2020/{{stem}}.png",
        pdf=f"{FIGURES}/brunner2020/{{stem}}.pdf",
        csv=f"{FIGURES}/brunner2020/{{stem}}.csv",
        verdict=f"{RESULTS}/brunner2020/{{stem}}.verdict.json",
    wildcard_constraints:
        stem="nullspace|fig1|fig6|fig2",
    params:
        cfg=lambda w: params_json({**BRUNNER[w.stem], "paper": "brunner2020", "figure": w.stem, "model": IDF_MODEL,
                                   "seed": SEED, "model_note": IDF_NOTE, "data_note": _data_note(w.stem)}),
    log:
        f"{LOGS}/brunner2020/{{stem}}.log",
    benchmark:
        f"{LOGS}/bench/brunner2020/{{stem}}.tsv"
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate paper-figure --threads 1 --in pairs={input.pairs} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"


def _hta_params(paper, stem):
    section = BRUNNER.get(stem, {}) if paper == "brunner2020" else PASCUAL
    return params_json({**section, "paper": paper, "figure": stem, "model_note": IDF_NOTE, "data_note": _data_note(stem)})


rule hta_figure:
    input:
        hta=HTA,
    output:
        png=f"{FIGURES}/{{paper}}/{{stem}}.png",
        pdf=f"{FIGURES}/{{paper}}/{{stem}}.pdf",
        csv=f"{FIGURES}/{{paper}}/{{stem}}.csv",
        verdict=f"{RESULTS}/{{paper}}/{{stem}}.verdict.json",
    wildcard_constraints:
        paper="brunner2020|pascual2021",
        stem="fig[12345]",
    params:
        cfg=lambda w: _hta_params(w.paper, w.stem),
    log:
        f"{LOGS}/{{paper}}/{{stem}}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate paper-figure --in hta={input.hta} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"

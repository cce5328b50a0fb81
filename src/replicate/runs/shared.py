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

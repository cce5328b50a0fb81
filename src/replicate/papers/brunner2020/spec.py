"""brunner2020: which runs and targets, on which model and data (see ``printed.yaml`` for the claims)."""

from __future__ import annotations

from replicate.runs import shared
from replicate.spec import Paper, Target

KEY = "brunner2020"
TITLE = "Brunner et al. (2020), On Identifiability in Transformers"
PAIRS_TARGETS = ("nullspace", "fig1", "fig6", "fig2")  # read the pairs and run the model themselves
HTA_TARGETS = ("fig3", "fig4", "fig5")  # read the shared HTA run


# report labels: the method each target shows
METHOD = {
    'nullspace': 'null space of the value matrix; alternative attention (linear programme)',
    'fig1': 'raw vs effective attention',
    'fig6': 'raw vs effective attention',
    'fig2': 'token identifiability: linear and MLP probes (L2, cosine), nearest neighbour',
    'fig3': 'hidden-token attribution (Jacobian norms)',
    'fig4': 'hidden-token attribution by offset',
    'fig5': 'hidden-token attribution by token type',
}


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    model = ctx.model_key(cfg["model"], f"{KEY}.model")
    pairs = shared.pairs(ctx).outputs["pairs"]
    hta = shared.hta(ctx).outputs["npz"]
    note = ctx.model_note(cfg["model"])
    targets = []
    for tid in PAIRS_TARGETS:
        params = {**cfg[tid], "model": model, "seed": ctx.SEED}
        data = (shared.pairs_note(params["min_tokens"], params["max_tokens"]) if tid != "fig6" else
                f"Wikipedia sentence pairs (gensim sample, spaCy split), the pair nearest {params['example_tokens']} tokens")
        extra = {"rows": f"{ctx.FIGURES}/{KEY}/nullspace_rows.csv"} if tid == "nullspace" else {}
        targets.append(Target(tid, func=f"replicate.papers.{KEY}.targets:{tid}", inputs={"pairs": pairs},
                              params={**params, "note": f"{note}; {data}"}, extra=extra, model=note, data=data))
    for tid in HTA_TARGETS:
        data = shared.hta_note(ctx)
        targets.append(Target(tid, func=f"replicate.papers.{KEY}.targets:{tid}", inputs={"hta": hta},
                              params={**cfg.get(tid, {}), "note": f"{note}; {data}"}, model=note, data=data))
    for t in targets:
        t.method = METHOD.get(t.id, "")
    return Paper(KEY, TITLE, runs=[], targets=targets)

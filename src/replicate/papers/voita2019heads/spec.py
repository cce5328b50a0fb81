"""voita2019heads: which runs and targets, on which model and data (see ``printed.yaml`` for the claims).

Every run reads the shared translation model (``replicate.runs.shared.translation``: a small MarianMTModel trained
here on the LibreOffice help pairs of ``data.parallel``).  One ``prune`` run per lambda and attention set (each its
own Snakemake job) and one ``scratch`` run per from-scratch configuration."""

from __future__ import annotations

from replicate.runs import shared
from replicate.spec import ConfigError, Paper, Run, Target

KEY = "voita2019heads"
TITLE = ("Voita, Talbot, Moiseev, Sennrich & Titov (2019), Analyzing Multi-Head Self-Attention: Specialized Heads "
         "Do the Heavy Lifting, the Rest Can Be Pruned")
PKG = f"replicate.papers.{KEY}"

METHOD = {
    "fig1": "LRP head relevance (z+), head confidence, head functions",
    "fig2": "LRP head relevance, head functions (other language pairs)",
    "fig3": "dependency offset distribution (positional baseline)",
    "table1": "syntactic heads: best head per relation vs offset baseline",
    "fig4": "syntactic heads: best head per relation vs offset baseline",
    "fig5": "rare-token head attention maps",
    "fig6": "Concrete / Hard Concrete densities",
    "fig7": "Hard Concrete L0 pruning of encoder heads (BLEU vs heads)",
    "fig8": "functions of the heads kept by L0 pruning",
    "table2": "L0 pruning of all attention types vs the same configuration from scratch",
    "fig9": "L0 pruning: active heads per attention type",
    "fig10": "L0 pruning: active heads per decoder layer",
}
NOT_RUN = {"fig2": "needs translation models of WMT EN-DE and EN-FR (the default trains one model, on the "
                   "configured pair); config/paper.yaml names the opus-mt models to analyse"}


def lam_tag(lam: float) -> str:
    return f"{lam:g}".replace(".", "p")


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    data, model = shared.parallel(ctx), shared.translation(ctx)
    data_dir, model_dir = shared.parallel_dir(ctx), shared.translation_dir(ctx)
    tr = ctx.config["training"]["translation"]
    inputs = {"model": model.outputs["config"], "data": list(data.outputs.values())}
    args = {"model": model_dir, "data": data_dir}
    res = f"{ctx.RESULTS}/{KEY}"
    note = shared.translation_note(ctx)
    a = cfg["analysis"]
    analysis = Run("analysis", f"{PKG}.runs:analysis", inputs=inputs, args=args, outputs={"json": f"{res}/analysis.json"},
                   params={**a, "max_len": tr["max_len"], "seed": ctx.SEED, "threads": 1}, mem_mb=3000)
    runs = [analysis]
    p = cfg["pruning"]
    common = {k: v for k, v in p.items() if k not in ("encoder_lambdas", "all_lambdas", "scratch_lambdas")}
    common |= {"max_len": tr["max_len"], "batch_size": tr["batch_size"], "label_smoothing": tr["label_smoothing"],
               "max_new_tokens": tr["max_new_tokens"], "bleu_tokenize": tr["bleu_tokenize"], "seed": ctx.SEED}
    prune = {"encoder": {}, "all": {}}
    for types, key in (("encoder", "encoder_lambdas"), ("all", "all_lambdas")):
        for lam in p[key]:
            r = Run(f"prune_{types}_{lam_tag(lam)}", f"{PKG}.runs:prune", inputs=inputs, args=args,
                    outputs={"json": f"{res}/prune/{types}_{lam_tag(lam)}.json"},
                    params={**common, "types": types, "lam": lam}, threads=p["threads"], mem_mb=3000)
            runs.append(r)
            prune[types][lam] = r.outputs["json"]
    ref = Run("prune_encoder_ref", f"{PKG}.runs:prune", inputs=inputs, args=args,
              outputs={"json": f"{res}/prune/encoder_ref.json"},
              params={**common, "types": "encoder", "lam": 0.0, "reference": True}, threads=p["threads"], mem_mb=3000)
    runs.append(ref)
    scratch = {}
    for lam in p["scratch_lambdas"]:
        if lam not in prune["all"]:
            raise ConfigError(f"config error at {KEY}.pruning.scratch_lambdas: {lam} is not one of all_lambdas "
                              f"{p['all_lambdas']} (the from-scratch model copies that run's kept heads)")
        r = Run(f"scratch_{lam_tag(lam)}", f"{PKG}.runs:scratch", inputs={**inputs, "pruned": prune["all"][lam]},
                args={**args, "pruned": prune["all"][lam]}, outputs={"json": f"{res}/prune/scratch_{lam_tag(lam)}.json"},
                params={**tr, "seed": ctx.SEED}, threads=tr["threads"], mem_mb=3000)
        runs.append(r)
        scratch[lam] = r.outputs["json"]

    an = {"analysis": analysis.outputs["json"]}
    metrics = {"metrics": model.outputs["metrics"]}
    enc = {f"enc_{lam_tag(l)}": f for l, f in prune["encoder"].items()}
    alls = {f"all_{lam_tag(l)}": f for l, f in prune["all"].items()}
    scr = {f"scratch_{lam_tag(l)}": f for l, f in scratch.items()}
    pdata = f"{a['sentences']} held-out source sentences (test split, spaCy {a['spacy_model']} parses)"
    sweep = lambda lams: "lambda " + ", ".join(f"{l:g}" for l in lams)  # noqa: E731
    targets = [
        Target("fig1", f"{PKG}.targets:fig1", inputs=an, model=note, data=pdata),
        Target("fig2", not_run=NOT_RUN["fig2"]),
        Target("fig3", f"{PKG}.targets:fig3", inputs=an, model=note, data=pdata),
        Target("table1", f"{PKG}.targets:table1", inputs=an, model=note, data=pdata),
        Target("fig4", f"{PKG}.targets:fig4", inputs=an, model=note, data=pdata),
        Target("fig5", f"{PKG}.targets:fig5", inputs=an, model=note, data=pdata),
        Target("fig6", f"{PKG}.targets:fig6", model="closed forms", data="none"),
        Target("fig7", f"{PKG}.targets:fig7", inputs={**metrics, "reference": ref.outputs["json"], **enc}, model=note,
               data=f"test split; encoder gates, decoder frozen, {sweep(p['encoder_lambdas'])}"),
        Target("fig8", f"{PKG}.targets:fig8", inputs={**an, **enc}, model=note,
               data=f"encoder gates, {sweep(p['encoder_lambdas'])}; functions from {pdata}"),
        Target("table2", f"{PKG}.targets:table2", inputs={**metrics, **alls, **scr}, model=note,
               data=f"test split; gates on all attention types, {sweep(p['all_lambdas'])}; from scratch: "
                    f"{sweep(p['scratch_lambdas'])}"),
        Target("fig9", f"{PKG}.targets:fig9", inputs=alls, model=note, data=f"all attention types, {sweep(p['all_lambdas'])}"),
        Target("fig10", f"{PKG}.targets:fig10", inputs=alls, model=note, data=f"all attention types, {sweep(p['all_lambdas'])}"),
    ]
    for t in targets:
        t.method = METHOD[t.id]
        if t.func:
            t.params = {**t.params, "model_note": t.model, "data_note": t.data}
    return Paper(KEY, TITLE, runs=runs, targets=targets)

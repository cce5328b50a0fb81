"""voita2019evolution: which runs and targets, on which models and data (see ``printed.yaml`` for the claims).

Three models with one architecture, one initialisation seed and the same English text, differing only in their
objective: the shared translation model's encoder (``runs.shared.translation``), and a left-to-right LM and a masked
LM trained here (``runs:train_lm``) on the English side of the shared parallel corpus.  Each model's layer states
are extracted once (``extract_<model>``) and every target reads those files; fig5 reads the influence runs."""

from __future__ import annotations

from replicate.runs import shared
from replicate.spec import Paper, Run, Target

KEY = "voita2019evolution"
TITLE = "Voita, Sennrich & Titov (2019), The Bottom-up Evolution of Representations in the Transformer"
PKG = f"replicate.papers.{KEY}"

METHOD = {
    "fig1": "mutual information (k-means)", "fig2": "mutual information (k-means)", "fig3": "PWCCA",
    "fig4": "PWCCA (change by frequency)", "fig5": "PWCCA (influence by frequency)", "fig6": "PWCCA (influence)",
    "fig7": "nearest neighbours", "fig8": "t-SNE", "fig9": "nearest neighbours (position)", "fig10": "t-SNE",
    "fig11": "nearest neighbours", "fig12": "nearest neighbours (stand-in tags)",
    "fig13": "nearest neighbours (stand-in tags)", "fig14": "t-SNE", "fig15": "PWCCA (change by POS)",
}
KNN = ("fig7", "fig9", "fig11", "fig12", "fig13")
TSNE = ("fig8", "fig10", "fig14")


def declare(ctx) -> Paper:
    cfg = ctx.config[KEY]
    seed = ctx.SEED
    par, mt = shared.parallel(ctx), shared.translation(ctx)
    data_dir = shared.parallel_dir(ctx)
    data_in = {k: par.outputs[k] for k in ("train", "dev", "test", "src_spm", "tgt_spm")}
    arch = ctx.config["training"]["translation"]
    res, mod = f"{ctx.RESULTS}/{KEY}", f"{ctx.MODELS}/{KEY}"
    runs = []
    # model name -> (file Snakemake waits for, path handed to the run, kind)
    models = {"mt": (mt.outputs["config"], mt.outputs["config"].rsplit("/", 1)[0], "mt")}

    def lm_run(name, objective, s, token_dropout=0.0):
        path = f"{mod}/{name}/seed{s}/model.pt"
        runs.append(Run(f"train_{name}", f"{PKG}.runs:train_lm", inputs=data_in, args={"data": data_dir},
                        outputs={"model": path, "metrics": f"{mod}/{name}/seed{s}/metrics.json"},
                        params={"arch": arch, "training": cfg["training"], "seed": s, "objective": objective,
                                "token_dropout": token_dropout, "threads": 1}, mem_mb=3000))
        models[name] = (path, path, objective)

    lm_run("lm", "lm", seed)
    lm_run("mlm", "mlm", seed)
    extra = cfg["extra_models"]
    if extra.get("init_seed") is not None:
        lm_run("lm_init", "lm", extra["init_seed"])
        lm_run("mlm_init", "mlm", extra["init_seed"])

    smp = f"{res}/sample.npz"
    runs.append(Run("sample", f"{PKG}.runs:sample", inputs=data_in, args={"data": data_dir}, outputs={"npz": smp},
                    params={**cfg["sample"], "max_len": arch["max_len"], "seed": seed}))
    states = {}
    for name, (wait, path, kind) in models.items():
        states[name] = f"{res}/states_{name}.npz"
        runs.append(Run(f"extract_{name}", f"{PKG}.runs:extract", inputs={"sample": smp, "model": wait, **data_in},
                        args={"sample": smp, "model": path, "data": data_dir}, outputs={"npz": states[name]},
                        params={"kind": kind, "batch_size": 64, "seed": seed, "threads": 1,
                                # masked draws (fig2, fig8) of the main MLM only; the init. models serve fig3
                                "mlm_draws": 0 if name.endswith("_init") else cfg["mlm_draws"]}))
    influence = {}
    for name in ("mt", "lm", "mlm"):
        wait, path, kind = models[name]
        influence[name] = f"{res}/influence_{name}.json"
        runs.append(Run(f"influence_{name}", f"{PKG}.runs:influence", inputs={"model": wait, **data_in},
                        args={"model": path, "data": data_dir}, outputs={"json": influence[name]},
                        params={**cfg["influence"], "groups": cfg["groups"], "kind": kind, "max_len": arch["max_len"],
                                "seed": seed, "batch_size": 64, "threads": 1}))

    note = (f"{shared.translation_note(ctx)} (encoder); LM and MLM: its encoder architecture and initialisation "
            f"(seed {seed}), {cfg['training']['steps']} steps on the English side")
    params = {k: cfg[k] for k in ("mi", "pwcca", "groups", "change", "influence", "knn", "tsne")}
    params.update(seed=seed, note=note, spacy_model=cfg["sample"]["spacy_model"])
    base = {"sample": smp, **{f"states_{m}": states[m] for m in ("mt", "lm", "mlm")}}
    data_note = (f"{cfg['sample']['n_sentences']} held-out English sentences of the shared LibreOffice help corpus "
                 f"({ctx.config['data']['parallel']['pair']}), sentencepiece tokens")
    targets = []
    for tid in ("fig1", "fig2", "fig3", "fig4", "fig7", "fig8", "fig9", "fig10", "fig11", "fig12", "fig13", "fig14", "fig15"):
        inputs = dict(base)
        if tid == "fig3":
            inputs.update({f"states_{m}": states[m] for m in states if m.endswith("_init")})
        targets.append(Target(tid, f"{PKG}.targets:{tid}", inputs=inputs, params=params, model=note, data=data_note))
    targets.append(Target("fig5", f"{PKG}.targets:fig5", inputs={f"influence_{m}": p for m, p in influence.items()},
                          params=params, model=note, data="training sentences of the shared corpus"))
    targets.append(Target("fig6", not_run=(
        "needs a translation model and an LM retrained with 10% random-token input dropout and fig5's influence "
        "analysis repeated on them; the shared translation trainer (owned by voita2019heads) has no token-dropout "
        "option and a second translation model is beyond this paper's time budget; the LM half alone "
        "(replicate.models.encoder_lm.token_dropout exists) cannot show the figure's MT/LM contrast, and fig5 finds "
        "no layer-1 rare-token influence peak in our LM for dropout to remove"), model=note))
    for t in targets:
        t.method = METHOD.get(t.id, "")
    targets.sort(key=lambda t: int(t.id[3:]))
    return Paper(KEY, TITLE, runs=runs, targets=targets)

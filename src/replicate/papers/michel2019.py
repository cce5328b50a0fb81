"""Michel, Levy & Neubig (2019), Are Sixteen Heads Really Better than One?: which methods,
on which model and data, produce which target, and the numbers the paper printed.

Printed numbers are transcribed from ``shared/reference/michel2019.md`` (§3) with the card's
marker.  Methods live in :mod:`replicate.heads`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from .. import heads, sources
from ..data import read_sentences
from ..instrument import Instrument

KEY = "michel2019"

PAPER = {
    "fig1": {"what": "histogram of the score with one head masked (BERT MNLI-m: accuracy ~0.824-0.838 [approx])",
             "claim": "most heads sit near the baseline, and a few removals increase the score [exact]"},
    "table3": {"what": "BERT MNLI-m, best delta accuracy per layer when only one head is kept [exact]",
               "deltas": [-0.01, 0.10, -0.14, -0.53, -0.29, -0.52, 0.05, -0.72, -0.96, 0.07, -0.19, -0.12]},
    "table6": {"what": "BERT, best single head chosen on 5,000 MNLI training examples, delta on MNLI-m dev [exact]",
               "deltas": [-0.01, -0.02, -0.26, -0.53, -0.29, -0.52, 0.05, -0.72, -0.96, 0.07, -0.19, -0.15]},
    "fig3": {"what": "accuracy vs % heads pruned in I_h order and oracle order (BERT MNLI-m)",
             "claim": "up to 40% (BERT) of heads pruned with no noticeable loss, then a sharp fall; I_h order "
                      "works better than the oracle order [exact]"},
}

# Targets that the default scale cannot produce, with the reason and the configuration that would.
NOT_RUN = {
    "table1": "WMT14 En-Fr big Transformer (fairseq checkpoint) and newstest2013: not available offline; "
              "paper scale needs the 2019 fairseq fork (card §9)",
    "table2": "WMT (as table1): paper scale with the fairseq WMT14 En-Fr model",
    "table5": "WMT held-out head selection (newstest2013 -> newstest2014): paper scale with the fairseq model",
    "fig4": "WMT pruning by attention type (Enc-Enc/Enc-Dec/Dec-Dec): an encoder-decoder model is needed; paper scale",
    "fig5": "IWSLT14 De-En trained 40 epochs with pruning curves per epoch: data not offline; paper scale (GPU)",
    "fig2": "cross-domain correlation (MNLI-m vs MNLI-mm, newstest vs MTNT): the default has one in-domain "
            "sentiment test set; paper scale (config/paper.yaml, MNLI) would run it",
    "fig6": "App. B curves on SST-2/CoLA/MRPC/IWSLT: the default's sentiment curve is fig3; SST-2/CoLA need the "
            "local GLUE TSVs (data.tasks: source local) and IWSLT needs paper scale",
    "table4": "speed-up of removing pruned heads' weights: the removal is implemented and tested "
              "(heads.prune_heads equals gating at zero) but the timing table is not in the DAG yet",
}


def finetuned_path(models_dir: str, spec: dict, seed: int) -> str:
    return f"{models_dir}/{spec['finetune']}/{spec['task']}/seed{seed}"


def analysis(model_dir, data_dir, params: dict) -> dict:
    """Everything the targets need in one pass over the fine-tuned classifier."""
    torch.manual_seed(params["seed"])
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    inst = Instrument(model)
    test = read_sentences(f"{data_dir}/test.tsv")
    train = read_sentences(f"{data_dir}/train.tsv")
    rng = np.random.default_rng(params["seed"])
    if params.get("examples") and len(test) > params["examples"]:
        test = [test[i] for i in sorted(rng.choice(len(test), params["examples"], replace=False))]
    if len(train) > params["importance_examples"]:
        train = [train[i] for i in sorted(rng.choice(len(train), params["importance_examples"], replace=False))]
    bs, ml = params["batch_size"], params["max_length"]
    test_b, train_b = heads.make_batches(tok, test, ml, bs), heads.make_batches(tok, train, ml, bs)
    held = train[: params["heldout_examples"]]  # table6: the head is chosen on these training sentences
    held_b = heads.make_batches(tok, held, ml, bs)
    L, H = inst.n_layers, inst.n_heads
    out = {"n_layers": L, "n_heads": H, "n_test": len(test), "n_importance": len(train)}
    t0 = time.perf_counter()
    cache = heads.LayerCache(model, inst, test_b)
    out["baseline"] = heads.accuracy(cache.logits(0), heads.labels_of(test_b))
    out["single"] = heads.sweep(model, inst, cache, heads.single_head_configs(L, H, "mask"))
    out["time_single_sweep_s"] = time.perf_counter() - t0
    out["keep_one_test"] = heads.sweep(model, inst, cache, heads.all_but_one_configs(L, H))
    train_cache = heads.LayerCache(model, inst, held_b)
    out["n_heldout"] = len(held)
    out["baseline_train"] = heads.accuracy(train_cache.logits(0), heads.labels_of(held_b))
    out["keep_one_train"] = heads.sweep(model, inst, train_cache, heads.all_but_one_configs(L, H))
    del train_cache
    t0 = time.perf_counter()
    imp = heads.head_importance(model, inst, train_b, abs_level=params["abs_level"])
    out["time_importance_s"] = time.perf_counter() - t0
    out["importance"] = imp.tolist()
    conf = heads.attention_confidence(inst, model, train_b)
    out["confidence"] = conf.tolist()
    fractions = [round(x, 4) for x in np.arange(0, 1 + 1e-9, params["step"])]
    out["fractions"] = fractions
    oracle = np.asarray(out["baseline"]) - np.asarray(out["single"]).reshape(L, H)  # loss of accuracy when masked
    orders = {"importance": heads.pruning_order(imp), "oracle": heads.pruning_order(oracle),
              "confidence": heads.pruning_order(conf)}
    for k in range(params["random_orders"]):
        orders[f"random{k}"] = heads.pruning_order(imp, np.random.default_rng(params["seed"] + 1000 + k))
    t0 = time.perf_counter()
    out["curves"] = {name: heads.pruning_curve(model, inst, cache, order, fractions, baseline=out["baseline"])
                     for name, order in orders.items()}
    out["time_curves_s"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- targets


def _heatmap_note(res):
    return f"{res['n_layers']}x{res['n_heads']} heads, {res['n_test']} test sentences"


def fig1(res: dict, params: dict, png, csv) -> dict:
    from .. import plots

    L, H = res["n_layers"], res["n_heads"]
    base = res["baseline"]
    df = pd.DataFrame([(l + 1, h + 1, res["single"][l * H + h]) for l in range(L) for h in range(H)],
                      columns=["layer", "head", "accuracy_masked"])
    df["delta"] = df.accuracy_masked - base
    df["baseline"] = base
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(5.5, 3.6))
    step = 1.0 / res["n_test"]
    lo, hi = df.accuracy_masked.min() - step, df.accuracy_masked.max() + step
    ax.hist(df.accuracy_masked, bins=np.arange(lo - step / 2, hi + step, step), color="#1f77b4", edgecolor="white")
    ax.axvline(base, color="black", ls="--", label=f"unmasked baseline {base:.3f}")
    ax.set_xlabel("accuracy with one head masked")
    ax.set_ylabel("number of heads")
    ax.set_title(f"michel2019/fig1(b) style: single-head masking\n({plots.wrap_note(params['model_note'])})", fontsize=9)
    ax.legend(fontsize=8)
    plots.save(fig, png)
    tol = params["flat_tolerance"]
    near = float((df.delta.abs() <= tol + 1e-9).mean())
    up = int((df.delta > 1e-9).sum())
    holds = near >= 0.5 and up >= 1
    return {"paper": "BERT MNLI-m: single-head-masked accuracy ~0.824-0.838 around the baseline; most heads near "
                     "the baseline, a few removals help [approx/exact]",
            "ours": f"baseline {base:.3f}; masked {df.accuracy_masked.min():.3f}-{df.accuracy_masked.max():.3f}; "
                    f"{near:.0%} of heads within ±{tol}; {up} heads raise the score",
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"finding: most heads redundant at test time (≥50% within ±{tol} and ≥1 head raising the score)"
                      f"; single-head sweep {res['time_single_sweep_s']:.1f} s (layer-cached)"}


def _keep_one(res, key, base_key):
    L, H = res["n_layers"], res["n_heads"]
    return np.asarray(res[key]).reshape(L, H) - res[base_key]


def table3(res: dict, params: dict, png, csv, held_out: bool = False) -> dict:
    from .. import plots

    L = res["n_layers"]
    test_d = _keep_one(res, "keep_one_test", "baseline")
    if held_out:
        choose = _keep_one(res, "keep_one_train", "baseline_train").argmax(1)
    else:
        choose = test_d.argmax(1)
    best = test_d[np.arange(L), choose]
    target = "table6" if held_out else "table3"
    paper = PAPER[target]["deltas"]
    df = pd.DataFrame({"layer": range(1, L + 1), "kept_head": choose + 1, "delta_accuracy": best.round(6),
                       "chosen_on": "train" if held_out else "test"})
    df.to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.4))
    ax.bar(df.layer, 100 * df.delta_accuracy, color="#1f77b4", label="ours (MiniLM, 6 layers)")
    ax.plot(np.linspace(1, L, len(paper)), paper, "s--", color="#d62728", mfc="none",
            label="paper (BERT-base, 12 layers, rescaled to depth)")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("layer")
    ax.set_ylabel("Δ accuracy (%), one head kept")
    ax.set_title(f"michel2019/{target}: best single head kept per layer"
                 + (" (chosen on training sentences)" if held_out else "") + f"\n({plots.wrap_note(params['model_note'])})", fontsize=9)
    ax.legend(fontsize=8)
    plots.save(fig, png)
    tol = params["keep_one_tolerance"]
    ok = float((best >= -tol - 1e-9).mean())
    holds = ok >= 0.5
    return {"paper": "Δ% per layer " + ", ".join(f"{x:+.2f}" for x in paper)
                     + ("; held-out choice: no significant change in 100% of BERT layers" if held_out else ""),
            "ours": "Δ% per layer " + ", ".join(f"{100 * x:+.2f}" for x in best),
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"finding: most layers can be cut to one head at test time; ours: {ok:.0%} of layers within "
                      f"-{100 * tol:.1f} points (criterion ≥50%); no significance test at this test-set size"
                      + (f"; kept head chosen on {res['n_heldout']} training sentences, where the fine-tuned model "
                         f"scores {res['baseline_train']:.3f}" if held_out else "")}


def table6(res: dict, params: dict, png, csv) -> dict:
    """Table 6: as table 3, with the kept head chosen on held-out training sentences."""
    return table3(res, params, png, csv, held_out=True)


def _flat_until(curve, fractions, base, tol):
    flat = 0.0
    for f, s in zip(fractions, curve):
        if s >= base - tol - 1e-9:
            flat = f
        else:
            break
    return flat


def fig3(res: dict, params: dict, png, csv) -> dict:
    from .. import plots

    fr = res["fractions"]
    curves = res["curves"]
    rand = np.asarray([v for k, v in curves.items() if k.startswith("random")])
    rows = []
    for name in ("importance", "oracle", "confidence"):
        rows += [(name, f, s) for f, s in zip(fr, curves[name])]
    rows += [("random_mean", f, s) for f, s in zip(fr, rand.mean(0))]
    rows += [("random_std", f, s) for f, s in zip(fr, rand.std(0))]
    df = pd.DataFrame(rows, columns=["order", "fraction_pruned", "accuracy"]).round(6)
    df.to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.8))
    pct = 100 * np.asarray(fr)
    ax.plot(pct, curves["importance"], "-o", color="#1f77b4", label="I_h order (Michel)")
    ax.plot(pct, curves["oracle"], "--s", color="#2ca02c", label="oracle (single-head Δ)")
    ax.plot(pct, curves["confidence"], "-.^", color="#9467bd", label="attention confidence")
    ax.plot(pct, rand.mean(0), ":", color="#7f7f7f", label=f"random (mean of {len(rand)})")
    ax.fill_between(pct, rand.mean(0) - rand.std(0), rand.mean(0) + rand.std(0), color="#7f7f7f", alpha=0.15, lw=0)
    ax.set_xlabel("% heads pruned")
    ax.set_ylabel("accuracy")
    ax.set_title(f"michel2019/fig3(b) style: pruning by importance\n({plots.wrap_note(params['model_note'])})", fontsize=9)
    ax.legend(fontsize=8)
    plots.save(fig, png)
    base, tol = res["baseline"], params["flat_tolerance"]
    flat = {k: _flat_until(curves[k], fr, base, tol) for k in ("importance", "oracle", "confidence")}
    auc = {k: float(np.mean(curves[k])) for k in ("importance", "oracle", "confidence")}
    auc["random"] = float(rand.mean())
    holds = flat["importance"] >= 0.2 and auc["importance"] >= auc["random"]
    return {"paper": "BERT: ~40% of heads prunable with no noticeable loss, then a sharp fall; I_h ≥ oracle [exact]",
            "ours": f"no loss beyond {tol} up to: I_h {flat['importance']:.0%}, oracle {flat['oracle']:.0%}, "
                    f"confidence {flat['confidence']:.0%}; mean accuracy over the curve: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in auc.items()),
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"finding: a large share prunable by I_h (criterion ≥20% within {tol}) and I_h beats random; "
                      f"I_h computed once on {res['n_importance']} training sentences (per-token |.|, per-layer l2); "
                      f"I_h vs oracle: {'I_h ≥ oracle' if auc['importance'] >= auc['oracle'] else 'oracle better'}"}


PAPER_NOT_RUN = {
    "table1": "WMT ΔBLEU per encoder head from 36.05: only 8 of 96 significant, half of them positive [exact]",
    "table2": "WMT one head kept per layer: Enc-Dec L6 -13.56*, Enc-Enc L1 -1.31* [exact]",
    "table5": "WMT held-out choice: Enc-Dec L6 -18.89* [exact]",
    "fig4": "Enc-Dec attention degrades fastest (>60% pruned catastrophic) [exact]",
    "fig5": "IWSLT: from epoch 10 on, 40% of heads prunable keeping 85-90% of BLEU [exact]",
    "fig2": "Pearson r = 0.56 (WMT vs MTNT), 0.68 (MNLI-m vs MNLI-mm) [exact]",
    "fig6": "SST-2 60%, CoLA and MRPC 50% of heads prunable without noticeable impact [exact]",
    "table4": "50% pruned: +17.5% examples/s at batch 16 and 64, +1.9% at batch 1 (GTX 1080Ti) [exact]",
}

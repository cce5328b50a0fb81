"""michel2019 targets on the fine-tuned classifier: figs 1(b), 2(b), 3(b), 6 and tables 3, 4, 6.

Each ``fn(args, params, out, entry)`` reads its run's JSON (``args['json']``; fig6: one per curve task),
draws ``out['png']``, writes ``out['csv']`` and returns our values; the claims are in ``printed.yaml``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.methods.pruning import prunable_share
from replicate.methods.stats import pearson


def merged(analysis: dict, importance: dict) -> dict:
    """The two halves of the main model's analysis as one record (curves in the order I_h, confidence,
    oracle, random ...)."""
    curves = dict(importance["curves"])
    ordered = {k: curves.pop(k) for k in ("importance", "confidence") if k in curves}
    return {**analysis, **importance, "baseline": analysis["baseline"],
            "curves": {**ordered, **analysis["curves"], **curves}}


def _load(args: dict) -> dict:
    """The run's record; the main model's two analysis halves (sweeps, importance) merged into one."""
    res = json.loads(Path(args["json"]).read_text())
    if "importance" in args:
        res = merged(res, json.loads(Path(args["importance"]).read_text()))
    return res


def fig1(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 1(b): histogram of the accuracy with one head masked."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
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
    return {"values": {"share_within_tolerance": near, "heads_raising_score": up},
            "ours": f"baseline {base:.3f}; masked {df.accuracy_masked.min():.3f}-{df.accuracy_masked.max():.3f}; "
                    f"{near:.0%} of heads within ±{tol}; {up} heads raise the score",
            "detail": f"share of heads within ±{tol} (michel2019.flat_tolerance) of the baseline (single-head sweep "
                      "layer-cached)"}


def _keep_one(res, key, base_key):
    L, H = res["n_layers"], res["n_heads"]
    return np.asarray(res[key]).reshape(L, H) - res[base_key]


def _table3(res: dict, params: dict, png, csv, entry: dict, held_out: bool) -> dict:
    from replicate import plots

    L = res["n_layers"]
    test_d = _keep_one(res, "keep_one_test", "baseline")
    if held_out:
        acc = np.asarray(res["keep_one_train"]).reshape(L, -1)
        loglik = np.asarray(res.get("keep_one_train_loglik", np.zeros(acc.size))).reshape(L, -1)
        choose = np.array([np.lexsort((-loglik[l], -acc[l]))[0] for l in range(L)])  # best accuracy, then likelihood
    else:
        choose = test_d.argmax(1)
    best = test_d[np.arange(L), choose]
    target = "table6" if held_out else "table3"
    paper = entry["values"]["deltas"]
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
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.35 * (hi - lo))  # a strip above the data for the legend
    ax.legend(fontsize=8, loc="upper left")
    plots.save(fig, png)
    tol = params["keep_one_tolerance"]
    ok = float((best >= -tol - 1e-9).mean())
    return {"values": {"share_layers_within_tolerance": ok},
            "ours": "Δ% per layer " + ", ".join(f"{100 * x:+.2f}" for x in best),
            "detail": f"ours: {ok:.0%} of layers within -{100 * tol:.1f} points (michel2019.keep_one_tolerance); no "
                      "significance test at this test-set size"
                      + (f"; kept head chosen on {res['n_heldout']} training sentences, where the fine-tuned model "
                         f"scores {res['baseline_train']:.3f} (accuracy ties broken by the gold labels' mean "
                         f"log-likelihood)" if held_out else "")}


def table3(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 3: in each layer keep only the best head (chosen and scored on test)."""
    return _table3(_load(args), params, out["png"], out["csv"], entry, held_out=False)


def table6(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 6: as table 3, with the kept head chosen on held-out training sentences."""
    return _table3(_load(args), params, out["png"], out["csv"], entry, held_out=True)


def curve_summary(curves: dict, fractions, base, tol, names) -> tuple[dict, dict]:
    """Figs 3(a), 3(b): for each named pruning curve, the share prunable within ``tol`` of ``base`` and the mean
    score over the curve (plus the mean of the ``random*`` curves)."""
    rand = np.asarray([v for k, v in curves.items() if k.startswith("random")])
    flat = {k: prunable_share(curves[k], fractions, base, tol) for k in names}
    auc = {k: float(np.mean(curves[k])) for k in names}
    auc["random"] = float(rand.mean())
    return flat, auc


def fig3(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 3(b): accuracy vs % heads pruned in I_h, oracle, confidence and random orders."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
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
    tol = params["flat_tolerance"]
    flat, auc = curve_summary(curves, fr, res["baseline"], tol, ("importance", "oracle", "confidence"))
    return {"values": {"prunable_importance": flat["importance"], "mean_importance": auc["importance"],
                       "mean_random": auc["random"], "mean_oracle": auc["oracle"]},
            "ours": f"no loss beyond {tol} up to: I_h {flat['importance']:.0%}, oracle {flat['oracle']:.0%}, "
                    f"confidence {flat['confidence']:.0%}; mean accuracy over the curve: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in auc.items()),
            "detail": f"prunable: within {tol} (michel2019.flat_tolerance) of the unpruned accuracy; I_h computed once on {res['n_importance']} training sentences (per-token |.|, per-layer l2); "
                      f"I_h vs oracle: {'I_h ≥ oracle' if auc['importance'] >= auc['oracle'] else 'oracle better'}"}


def fig2(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 2(b): cross-domain correlation of the single-head masking effects (and of I_h) on two domains."""
    from scipy import stats

    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    L, H = res["n_layers"], res["n_heads"]
    a, b = res["domains"]
    da, db = (res["by_domain"][d] for d in (a, b))
    df = pd.DataFrame({"layer": np.repeat(np.arange(1, L + 1), H), "head": np.tile(np.arange(1, H + 1), L)})
    for d, r in ((a, da), (b, db)):
        df[f"delta_{d}"] = np.asarray(r["single"]) - r["baseline"]
        df[f"importance_{d}"] = np.asarray(r["importance"]).ravel()
    df.round(6).to_csv(csv, index=False)
    r_delta = pearson(df[f"delta_{a}"], df[f"delta_{b}"], undefined=0.0)
    p_delta = float(stats.pearsonr(df[f"delta_{a}"], df[f"delta_{b}"]).pvalue) if r_delta else 1.0
    r_imp = pearson(df[f"importance_{a}"], df[f"importance_{b}"], undefined=0.0)
    step = 1.0 / res["n_per_domain"]
    plots.style()
    fig, axes = plots.plt.subplots(1, 2, figsize=(8.4, 3.9))
    ax = axes[0]
    jit = np.random.default_rng(0).uniform(-0.25, 0.25, size=(2, len(df))) * step  # ties: fixed jitter, a fraction of one sentence
    ax.scatter(100 * (df[f"delta_{a}"] + jit[0]), 100 * (df[f"delta_{b}"] + jit[1]), s=14, alpha=0.7, color="#1f77b4")
    lim = 100 * np.array([min(df[f"delta_{a}"].min(), df[f"delta_{b}"].min()) - step,
                          max(df[f"delta_{a}"].max(), df[f"delta_{b}"].max()) + step])
    ax.plot(lim, lim, color="black", lw=0.6, ls=":")
    ax.axhline(0, color="#999999", lw=0.5)
    ax.axvline(0, color="#999999", lw=0.5)
    ax.set_xlabel(f"Δ accuracy (%), head masked: {a}")
    ax.set_ylabel(f"Δ accuracy (%): {b}")
    ax.set_title(f"(a) single-head masking, r = {r_delta:.2f}\n(paper: MNLI-m vs -mm r = 0.68, WMT vs MTNT r = 0.56)",
                 fontsize=8)
    ax = axes[1]
    ax.scatter(df[f"importance_{a}"], df[f"importance_{b}"], s=14, alpha=0.7, color="#2ca02c")
    hi = float(max(df[f"importance_{a}"].max(), df[f"importance_{b}"].max())) * 1.05
    ax.plot([0, hi], [0, hi], color="black", lw=0.6, ls=":")
    ax.set_xlabel(f"I_h on {a} (per-layer l2-normalised)")
    ax.set_ylabel(f"I_h on {b}")
    ax.set_title(f"(b) head importance I_h, r = {r_imp:.2f}", fontsize=8)
    fig.suptitle(f"michel2019/fig2 style: cross-domain effect of masking one head, {res['n_per_domain']} held-out "
                 f"sentences per domain\n({plots.wrap_note(params['model_note'], 110)})", fontsize=9)
    fig.tight_layout()
    plots.save(fig, png)
    base = ", ".join(f"{d} {res['by_domain'][d]['baseline']:.3f}" for d in (a, b))
    return {"values": {"r_delta": r_delta, "p_delta": p_delta, "r_importance": r_imp},
            "ours": f"{a} vs {b} agreement sentences: r = {r_delta:.2f} (p = {p_delta:.1g}) for single-head Δ "
                    f"accuracy; r = {r_imp:.2f} for I_h",
            "detail": f"Pearson r over {L * H} heads; {res['n_per_domain']} held-out sentences per domain "
                      f"(none in the model's training or validation split; available {res['available']}); "
                      f"unmasked accuracy {base}; stand-in for MNLI-m vs MNLI-mm: the training mix is both corpora, "
                      f"so {b} is a minority genre, not an unseen one"}


def fig6(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """App. B: pruning curves by I_h (vs attention confidence and random) on every curve task."""
    from replicate import plots

    res = {k: json.loads(Path(v).read_text()) for k, v in args.items()}
    png, csv = out["png"], out["csv"]
    tasks = params["curve_tasks"]
    rows, ours, flats, margins = [], [], [], []
    plots.style()
    fig, axes = plots.plt.subplots(1, len(tasks), figsize=(3.6 * len(tasks) + 0.6, 3.6), squeeze=False)
    tol = params["flat_tolerance"]
    for ax, task in zip(axes[0], tasks):
        r = res[task]
        fr, cv = r["fractions"], r["curves"]
        rand = np.asarray([v for k, v in cv.items() if k.startswith("random")])
        for name in ("importance", "confidence"):
            rows += [(task, r["metric"], name, f, x) for f, x in zip(fr, cv[name])]
        rows += [(task, r["metric"], "random_mean", f, x) for f, x in zip(fr, rand.mean(0))]
        rows += [(task, r["metric"], "random_std", f, x) for f, x in zip(fr, rand.std(0))]
        pct = 100 * np.asarray(fr)
        ax.plot(pct, cv["importance"], "-o", ms=4, color="#1f77b4", label="I_h order")
        ax.plot(pct, cv["confidence"], "-.^", ms=4, color="#9467bd", label="attention confidence")
        ax.plot(pct, rand.mean(0), ":", color="#7f7f7f", label=f"random (mean of {len(rand)})")
        ax.fill_between(pct, rand.mean(0) - rand.std(0), rand.mean(0) + rand.std(0), color="#7f7f7f", alpha=0.15, lw=0)
        ax.axhline(r["baseline"] - tol, color="#d62728", lw=0.6, ls="--")
        ax.set_title(f"{task} ({r['n_test']} test sentences)", fontsize=9)
        ax.set_xlabel("% heads pruned")
        ax.set_ylabel(r["metric"])
        flat = prunable_share(cv["importance"], fr, r["baseline"], tol)
        auc_i, auc_r = float(np.mean(cv["importance"])), float(rand.mean())
        flats.append(flat)
        margins.append(auc_i - auc_r)
        ours.append(f"{task}: {flat:.0%} prunable by I_h (base {r['baseline']:.3f}; mean over the curve I_h "
                    f"{auc_i:.3f} vs random {auc_r:.3f})")
    axes[0][0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"michel2019/fig6 style: pruning by importance on several tasks (dashed: baseline − {tol})\n"
                 f"({plots.wrap_note(params['model_note'], 110)})", fontsize=9)
    fig.tight_layout()
    plots.save(fig, png)
    pd.DataFrame(rows, columns=["task", "metric", "order", "fraction_pruned", "score"]).round(6).to_csv(csv, index=False)
    return {"values": {"min_prunable_share": min(flats), "min_margin_over_random": min(margins)},
            "ours": "; ".join(ours),
            "detail": f"per task: prunable within {tol} (michel2019.flat_tolerance) of the unpruned score, and the "
                      "mean over the curve I_h minus random; the paper's SST-2/CoLA/MRPC/IWSLT need local GLUE TSVs or "
                      "paper scale (config michel2019.curve_tasks)"}


def table4(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 4: examples/s before and after removing the pruned heads' weights (CPU timings)."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    paper = {int(b): v for b, v in entry["values"]["speedup_pct"].items()}  # % more examples/s at 50% pruned
    df = pd.DataFrame(res["rows"])
    df["heads_pruned"] = res["n_pruned"]
    df["params_original"], df["params_pruned"] = res["params_original"], res["params_pruned"]
    df["max_logit_diff_vs_gated"] = res["max_logit_diff"]
    df["paper_speedup_pct"] = [paper.get(int(b)) for b in df.batch_size]
    df["speedup_pct"] = 100 * (df.speedup - 1)
    df = df[["batch_size", "examples", "heads_pruned", "params_original", "params_pruned", "max_logit_diff_vs_gated",
             "original_examples_per_s", "pruned_examples_per_s", "speedup", "speedup_pct", "paper_speedup_pct"]]
    df.round({"max_logit_diff_vs_gated": 6, "original_examples_per_s": 1, "pruned_examples_per_s": 1,
              "speedup": 3, "speedup_pct": 1}).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(5.6, 3.6))
    x = np.arange(len(df))
    ax.bar(x - 0.2, df.original_examples_per_s, 0.4, color="#7f7f7f", label="original")
    ax.bar(x + 0.2, df.pruned_examples_per_s, 0.4, color="#1f77b4", label=f"{res['n_pruned']}/{res['n_heads_total']} heads removed")
    for k, row in df.iterrows():
        note = f"{row.speedup_pct:+.0f}%" + (f"\n(paper {row.paper_speedup_pct:+.1f}%)" if pd.notna(row.paper_speedup_pct) else "")
        ax.text(k + 0.2, row.pruned_examples_per_s, note, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"batch {b}" for b in df.batch_size])
    ax.set_ylabel("examples / s (CPU)")
    ax.set_ylim(0, 1.5 * max(df.pruned_examples_per_s.max(), df.original_examples_per_s.max()))
    ax.set_title(f"michel2019/table4 style: inference speed, {res['threads']} CPU thread(s), median of "
                 f"{res['repeats']} passes over {res['n_examples']} sentences\n({plots.wrap_note(params['model_note'])})", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    plots.save(fig, png)
    return {"values": {"min_speedup": float(df.speedup.min())},
            "ours": f"{res['n_pruned']}/{res['n_heads_total']} heads removed: "
                    + ", ".join(f"batch {int(r.batch_size)} {r.speedup_pct:+.0f}% examples/s" for r in df.itertuples()),
            "detail": f"timings on this machine's CPU ({res['threads']} thread(s), {res['n_examples']} test "
                      f"sentences, median of {res['repeats']} passes) are not reproducible numbers; lowest-I_h heads, "
                      f"at least one kept per layer; parameters {res['params_original']:,} -> {res['params_pruned']:,}; "
                      f"pruned logits equal the gated model's to {res['max_logit_diff']:.1e}"}



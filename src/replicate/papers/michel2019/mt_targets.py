"""michel2019 translation targets: tables 1, 2, 5 and figs 1(a), 2(a), 3(a), 4, 5.

Each ``fn(args, params, out, entry)`` reads the MT analysis JSON (``args['json']``), draws ``out['png']``,
writes ``out['csv']`` and returns our values; the claims are in ``printed.yaml``.  Gate rows are the
attention layers of each type (``Instrument.kinds``): Enc-Enc, then Dec-Dec, then Enc-Dec.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from replicate.methods.stats import pearson
from replicate.papers.michel2019.targets import curve_summary


def _load(args: dict) -> dict:
    return json.loads(Path(args["json"]).read_text())


def _kinds(res) -> list[str]:
    """The attention types in gate-row order (Enc-Enc, Dec-Dec, Enc-Dec: ``Instrument.kinds``), from the run."""
    return list(dict.fromkeys(res["kinds"]))


def _grid(res, values):
    return np.asarray(values, dtype=float).reshape(res["n_rows"], res["n_heads"])


def _rows_of(res, kind):
    return [r for r, k in enumerate(res["kinds"]) if k == kind]


def _stand_in(params):
    return "toy stand-in: " if params["stand_in"] else ""


def table1(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 1: ΔBLEU for masking each encoder self-attention head, paired bootstrap significance."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    alpha, rows = params["alpha"], _rows_of(res, "Enc-Enc")
    delta = _grid(res, res["single"])[rows] - res["baseline"]
    pval = _grid(res, res["single_p"])[rows]
    L, H = delta.shape
    df = pd.DataFrame({"layer": np.repeat(np.arange(1, L + 1), H), "head": np.tile(np.arange(1, H + 1), L),
                       "delta_bleu": delta.ravel(), "p_value": pval.ravel(), "significant": (pval < alpha).ravel()})
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(1.0 + 0.55 * H, 1.2 + 0.5 * L))
    lim = max(float(np.abs(delta).max()), 0.01)
    im = ax.imshow(delta, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.grid(False)
    for (l, h), v in np.ndenumerate(delta):
        ax.text(h, l, f"{v:+.2f}" + ("*" if pval[l, h] < alpha else ""), ha="center", va="center", fontsize=7,
                color="white" if abs(v) > 0.6 * lim else "black")
    ax.set_xticks(range(H), range(1, H + 1))
    ax.set_yticks(range(L), range(1, L + 1))
    ax.set_xlabel("head")
    ax.set_ylabel("encoder layer")
    fig.colorbar(im, ax=ax, label="ΔBLEU")
    ax.set_title(f"michel2019/table1 style: ΔBLEU masking one Enc-Enc head (base {res['baseline']:.2f}; * p < {alpha})"
                 f"\n({plots.wrap_note(params['model_note'], 90)})", fontsize=8)
    plots.save(fig, png)
    sig = pval < alpha
    share_ns = 1 - float(sig.mean())
    return {"values": {"share_not_significant": share_ns, "significant": int(sig.sum()),
                       "significant_positive": int((sig & (delta > 0)).sum())},
            "ours": f"{int(sig.sum())} of {sig.size} encoder heads significant (p < {alpha}), {int((sig & (delta > 0)).sum())} "
                    f"of them positive; ΔBLEU from {res['baseline']:.2f}: min {delta.min():+.2f}, max {delta.max():+.2f}",
            "detail": f"{_stand_in(params)}share of encoder heads not significant (paper 92%); paired bootstrap over {res['n_valid']} sentences, "
                      f"{params['bootstrap']} resamples"}


def _keep_one(res, params, png, csv, paper: dict, held_out: bool):
    from replicate import plots

    alpha, H = params["alpha"], res["n_heads"]
    rows = []
    for kind in _kinds(res):
        for depth, r in enumerate(_rows_of(res, kind)):
            if held_out:
                d, p, head = res["keep_one_test"][r] - res["baseline_test"], res["keep_one_test_p"][r], res["chosen"][r]
            else:
                vals = np.asarray(res["keep_one"][r * H:(r + 1) * H])
                head = int(vals.argmax())
                d, p = vals[head] - res["baseline"], res["keep_one_p"][r * H + head]
            rows.append((kind, depth + 1, head + 1, d, p, p < alpha))
    df = pd.DataFrame(rows, columns=["attention", "layer", "kept_head", "delta_bleu", "p_value", "significant"])
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, axes = plots.plt.subplots(1, 3, figsize=(10, 3.4), sharey=True)
    for ax, kind in zip(axes, _kinds(res)):
        sub = df[df.attention == kind]
        L = len(sub)
        ax.bar(sub.layer, sub.delta_bleu, color=["#d62728" if s else "#1f77b4" for s in sub.significant])
        ax.plot(np.linspace(1, L, 6), paper[kind], "s--", color="#555555", mfc="none", label="paper (6 layers, rescaled)")
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(kind, fontsize=9)
        ax.set_xlabel("layer")
        ax.set_xticks(range(1, L + 1))
    axes[0].set_ylabel("ΔBLEU, one head kept" + (" (chosen on valid)" if held_out else ""))
    axes[0].legend(fontsize=7)
    fig.suptitle(f"michel2019/{'table5' if held_out else 'table2'} style: best single head kept per layer "
                 f"(red: p < {alpha})\n({plots.wrap_note(params['model_note'], 110)})", fontsize=9)
    fig.tight_layout()
    plots.save(fig, png)
    worse = df.significant & (df.delta_bleu < 0)
    share_ok = 1 - float(worse.mean())
    worst = df.loc[df.delta_bleu.idxmin()]
    return df, share_ok, worst


def table2(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 2: in each layer of each attention type keep only the best head (chosen and scored on valid)."""
    res = _load(args)
    df, share_ok, worst = _keep_one(res, params, out["png"], out["csv"], entry["values"], held_out=False)
    worst_by = df.groupby("attention").delta_bleu.min()
    return {"values": {"share_layers_without_drop": share_ok, "worst_enc_dec": float(worst_by["Enc-Dec"]),
                       "worst_self_attention": float(min(worst_by["Enc-Enc"], worst_by["Dec-Dec"]))},
            "ours": "; ".join(f"{k} " + ", ".join(f"{x:+.2f}" + ("*" if s else "") for x, s in
                                                  zip(df[df.attention == k].delta_bleu, df[df.attention == k].significant))
                              for k in _kinds(res)),
            "detail": f"{_stand_in(params)}ours: {share_ok:.0%} without a significant drop; worst {worst.attention} layer {worst.layer} "
                      f"({worst.delta_bleu:+.2f}); * p < {params['alpha']}, paired bootstrap"}


def table5(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Table 5: as table 2 with the kept head chosen on valid (newstest2013) and Δ measured on test (newstest2014)."""
    res = _load(args)
    df, share_ok, worst = _keep_one(res, params, out["png"], out["csv"], entry["values"], held_out=True)
    return {"values": {"share_layers_without_drop": share_ok},
            "ours": f"{share_ok:.0%} of layers without a significant drop on test; worst {worst.attention} layer "
                    f"{worst.layer} {worst.delta_bleu:+.2f} (base {res['baseline_test']:.2f})",
            "detail": f"{_stand_in(params)}chosen on {res['n_valid']} valid sentences, "
                      f"scored on {res['n_test']} test sentences; paired bootstrap p < {params['alpha']}"}


def fig1a(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 1(a): histogram of BLEU with one head masked, every head of every attention type."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    tol = params["near_tolerance"]
    df = pd.DataFrame({"attention": np.repeat(res["kinds"], res["n_heads"]),
                       "row": np.repeat(np.arange(res["n_rows"]), res["n_heads"]),
                       "head": np.tile(np.arange(1, res["n_heads"] + 1), res["n_rows"]),
                       "bleu_masked": res["single"]})
    df["delta"] = df.bleu_masked - res["baseline"]
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.6))
    ax.hist([df[df.attention == k].bleu_masked for k in _kinds(res)], bins=30, stacked=True, label=list(_kinds(res)))
    ax.axvline(res["baseline"], color="black", ls="--", lw=1, label="unmasked")
    ax.set_xlabel("BLEU with one head masked")
    ax.set_ylabel("heads")
    ax.legend(fontsize=8)
    ax.set_title(f"michel2019/fig1(a) style: {len(df)} heads\n({plots.wrap_note(params['model_note'], 80)})", fontsize=9)
    plots.save(fig, png)
    near = float((df.delta.abs() <= tol).mean())
    return {"values": {"share_within_tolerance": near, "heads_raising_bleu": int((df.delta > 0).sum())},
            "ours": f"base {res['baseline']:.2f}; {near:.0%} of heads within {tol} BLEU; {int((df.delta > 0).sum())} "
                    f"removals increase BLEU; range {df.bleu_masked.min():.2f}-{df.bleu_masked.max():.2f}",
            "detail": f"{_stand_in(params)}share of heads within {tol} BLEU (michel2019.mt.near_tolerance); "
                      f"{res['n_valid']} valid sentences"}


def fig2a(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 2(a): single-head ΔBLEU on the main set vs on a second domain."""
    from scipy import stats

    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    a = np.asarray(res["single"]) - res["baseline"]
    b = np.asarray(res["single_domain2"]) - res["baseline_domain2"]
    pd.DataFrame({"attention": np.repeat(res["kinds"], res["n_heads"]), "head": np.tile(np.arange(1, res["n_heads"] + 1), res["n_rows"]),
                  "delta_valid": a, "delta_domain2": b}).round(6).to_csv(csv, index=False)
    r = pearson(a, b, undefined=0.0)
    p = float(stats.pearsonr(a, b).pvalue) if r else 1.0
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(4.6, 4.2))
    for kind in _kinds(res):
        m = np.asarray(res["kinds"]).repeat(res["n_heads"]) == kind
        ax.scatter(a[m], b[m], s=14, alpha=0.75, label=kind)
    ax.axhline(0, color="#999999", lw=0.5)
    ax.axvline(0, color="#999999", lw=0.5)
    ax.set_xlabel(f"ΔBLEU, head masked: valid ({res['n_valid']} sentences)")
    ax.set_ylabel(f"ΔBLEU: second domain ({res['n_domain2']} sentences)")
    ax.legend(fontsize=7)
    ax.set_title(f"michel2019/fig2(a) style: r = {r:.2f} (paper 0.56)\n({plots.wrap_note(params['model_note'], 70)})", fontsize=8)
    plots.save(fig, png)
    return {"values": {"r_delta": r, "p_delta": p},
            "ours": f"r = {r:.2f} (p = {p:.1g}) over {len(a)} heads; base BLEU valid {res['baseline']:.2f}, "
                    f"domain 2 {res['baseline_domain2']:.2f}",
            "detail": f"{_stand_in(params)}Pearson r over every head" + (
                "; domain 2 = Lee news text reversed by the same rule, vs Wikipedia" if _stand_in(params) else "")}


def fig3a(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 3(a): BLEU vs % heads pruned in I_h order, oracle order and random orders."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    fr, cv = res["fractions"], res["curves"]
    rand = np.asarray([v for k, v in cv.items() if k.startswith("random")])
    rows = [(n, f, s) for n in ("importance", "oracle") for f, s in zip(fr, cv[n])]
    rows += [("random_mean", f, s) for f, s in zip(fr, rand.mean(0))]
    pd.DataFrame(rows, columns=["order", "fraction_pruned", "bleu"]).round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.8))
    pct = 100 * np.asarray(fr)
    ax.plot(pct, cv["importance"], "-o", label="I_h order")
    ax.plot(pct, cv["oracle"], "--s", label="oracle (single-head Δ)")
    ax.plot(pct, rand.mean(0), ":", color="#7f7f7f", label=f"random (mean of {len(rand)})")
    ax.set_xlabel("% heads pruned (all attention types)")
    ax.set_ylabel("BLEU")
    ax.legend(fontsize=8)
    ax.set_title(f"michel2019/fig3(a) style\n({plots.wrap_note(params['model_note'], 80)})", fontsize=9)
    plots.save(fig, png)
    tol = params["flat_tolerance"]
    flat, auc = curve_summary(cv, fr, res["baseline"], tol, ("importance", "oracle"))
    return {"values": {"prunable_importance": flat["importance"], "mean_importance": auc["importance"],
                       "mean_random": auc["random"], "mean_oracle": auc["oracle"]},
            "ours": f"within {tol} BLEU up to: I_h {flat['importance']:.0%}, oracle {flat['oracle']:.0%}; mean BLEU "
                    "over the curve: " + ", ".join(f"{k} {v:.1f}" for k, v in auc.items()),
            "detail": f"{_stand_in(params)}prunable: within {tol} BLEU (michel2019.mt.flat_tolerance); I_h once on {res['n_importance']} training "
                      f"pairs; I_h vs oracle: {'I_h ≥ oracle' if auc['importance'] >= auc['oracle'] else 'oracle better'}"}


def fig4(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 4: pruning each attention type separately (I_h order within the type)."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    fr, tc = res["fractions"], res["type_curves"]
    pd.DataFrame([(k, f, s) for k in _kinds(res) for f, s in zip(fr, tc[k])],
                 columns=["attention", "fraction_pruned", "bleu"]).round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.8))
    for k, mk in zip(_kinds(res), "o^s"):
        ax.plot(100 * np.asarray(fr), tc[k], f"-{mk}", label=k)
    ax.set_xlabel("% heads pruned within the attention type")
    ax.set_ylabel("BLEU")
    ax.legend(fontsize=8)
    ax.set_title(f"michel2019/fig4 style\n({plots.wrap_note(params['model_note'], 80)})", fontsize=9)
    plots.save(fig, png)
    mean = {k: float(np.mean(tc[k])) for k in _kinds(res)}
    at80 = {k: float(np.interp(0.8, fr, tc[k])) for k in _kinds(res)}
    return {"values": {"mean_enc_enc": mean["Enc-Enc"], "mean_dec_dec": mean["Dec-Dec"], "mean_enc_dec": mean["Enc-Dec"]},
            "ours": "mean BLEU over the curve: " + ", ".join(f"{k} {v:.1f}" for k, v in mean.items())
                    + "; with 20% of heads left: " + ", ".join(f"{k} {v:.1f}" for k, v in at80.items())
                    + f" (unpruned {res['baseline']:.1f})",
            "detail": f"{_stand_in(params)}mean BLEU over the pruning curve of each attention type"}


def fig5(args: dict, params: dict, out: dict, entry: dict) -> dict:
    """Fig 5: I_h pruning curves at several training epochs (relative to each epoch's unpruned BLEU)."""
    from replicate import plots

    res, png, csv = _load(args), out["png"], out["csv"]
    fr = res["fractions"]
    eps = sorted(res["by_epoch"], key=int)
    rows = [(int(e), f, s) for e in eps for f, s in zip(fr, res["by_epoch"][e]["curve"])]
    df = pd.DataFrame(rows, columns=["epoch", "fraction_pruned", "bleu"])
    df["relative"] = df.bleu / df.groupby("epoch").bleu.transform("first").clip(lower=1e-9)
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, axes = plots.plt.subplots(1, 2, figsize=(9, 3.6))
    for e in eps:
        sub = df[df.epoch == int(e)]
        axes[0].plot(100 * sub.fraction_pruned, sub.bleu, "-o", ms=3, label=f"epoch {e}")
        axes[1].plot(100 * sub.fraction_pruned, 100 * sub.relative, "-o", ms=3, label=f"epoch {e}")
    axes[0].set_ylabel("BLEU")
    axes[1].set_ylabel("% of the epoch's unpruned BLEU")
    for ax in axes:
        ax.set_xlabel("% heads pruned (I_h order)")
    axes[1].legend(fontsize=7)
    fig.suptitle(f"michel2019/fig5 style: pruning during training\n({plots.wrap_note(params['model_note'], 110)})", fontsize=9)
    fig.tight_layout()
    plots.save(fig, png)
    rel40 = {int(e): float(np.interp(0.4, fr, df[df.epoch == int(e)].relative)) for e in eps}
    first, last = min(rel40), max(rel40)
    return {"values": {"kept_at_40_last_epoch": rel40[last], "kept_at_40_first_epoch": rel40[first]},
            "ours": "unpruned BLEU " + ", ".join(f"epoch {e} {res['by_epoch'][e]['baseline']:.1f}" for e in eps)
                    + "; % of BLEU kept at 40% pruned: " + ", ".join(f"epoch {e} {100 * v:.0f}%" for e, v in rel40.items()),
            "detail": f"{_stand_in(params)}share of the epoch's unpruned BLEU kept at 40% pruned (I_h order), I_h "
                      "recomputed at each checkpoint"}

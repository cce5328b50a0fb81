"""voita2019heads targets: ``fn(args, params, out, entry) -> result`` (claims in ``printed.yaml``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from replicate import plots
from replicate.methods import headroles

KEY = "voita2019heads"
KIND_COLOUR = {"positional": "#8e44ad", "syntactic": "#27ae60", "rare": "#e67e22", "none": "#ecf0f1"}
ORDER = [("nsubj", "head2dep"), ("nsubj", "dep2head"), ("dobj", "head2dep"), ("dobj", "dep2head"),
         ("amod", "head2dep"), ("amod", "dep2head"), ("advmod", "head2dep"), ("advmod", "dep2head")]


def _load(path) -> dict:
    return json.loads(Path(path).read_text())


def _plt():
    plots.style()
    import matplotlib.pyplot as plt

    return plt


def _enc(a: dict, key: str) -> np.ndarray:
    m = np.asarray(a[key], float)
    return m[a["enc_rows"]] if m.shape[0] == len(a["kinds"]) else m


# ----------------------------------------------------------------------------- fig1: relevance, confidence, functions


def fig1(args, params, out, entry) -> dict:
    from scipy.stats import spearmanr

    a = _load(args["analysis"])
    rel, conf = _enc(a, "relevance"), np.asarray(a["confidence"])
    funcs = a["functions"]
    L, H = rel.shape
    order = np.argsort(-rel, 1, kind="stable")  # heads sorted by relevance within each layer, as the paper
    srel = np.take_along_axis(rel, order, 1)
    sconf = np.take_along_axis(conf, order, 1)
    sfun = [[funcs[l][h] for h in order[l]] for l in range(L)]
    rows = [{"layer": l + 1, "rank": k + 1, "head": int(order[l, k]) + 1, "relevance": srel[l, k],
             "confidence": sconf[l, k], "function": sfun[l][k]} for l in range(L) for k in range(H)]
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    rho = [spearmanr(rel[l], conf[l]).statistic for l in range(L)]
    plt = _plt()
    import seaborn as sns

    paper = entry.get("values", {})
    prel, pconf = np.asarray(paper["relevance"]), np.asarray(paper["confidence"])
    fig, axes = plt.subplots(1, 5, figsize=(22, 3.6))
    sns.heatmap(srel, ax=axes[0], cmap="Reds", annot=True, fmt=".2f", annot_kws={"fontsize": 7},
                yticklabels=range(1, L + 1), xticklabels=range(1, H + 1), cbar=False)
    axes[0].set_title("(a) ours: LRP relevance (z+), sorted per layer", fontsize=9)
    sns.heatmap(sconf, ax=axes[1], cmap="Blues", annot=True, fmt=".2f", annot_kws={"fontsize": 7},
                yticklabels=range(1, L + 1), xticklabels=range(1, H + 1), cbar=False, vmin=0, vmax=1)
    axes[1].set_title("(b) ours: confidence (same order)", fontsize=9)
    kinds = np.array([[list(KIND_COLOUR).index(headroles.function_kind(f)) for f in row] for row in sfun])
    from matplotlib.colors import ListedColormap

    sns.heatmap(kinds, ax=axes[2], cmap=ListedColormap(list(KIND_COLOUR.values())), vmin=-0.5, vmax=3.5, cbar=False,
                annot=np.array(sfun, dtype=object), fmt="", annot_kws={"fontsize": 7}, yticklabels=range(1, L + 1),
                xticklabels=range(1, H + 1),
                linewidths=0.5, linecolor="white")
    axes[2].set_title("(c) ours: functions (purple ±1, green syntactic, orange rare)", fontsize=9)
    sns.heatmap(prel, ax=axes[3], cmap="Reds", annot=True, fmt=".2f", annot_kws={"fontsize": 6},
                yticklabels=range(1, len(prel) + 1), cbar=False)
    axes[3].set_title("paper (EN-RU OpenSubtitles) LRP [approx]", fontsize=9)
    sns.heatmap(pconf, ax=axes[4], cmap="Blues", annot=True, fmt=".2f", annot_kws={"fontsize": 6},
                yticklabels=range(1, len(pconf) + 1), cbar=False, vmin=0, vmax=1)
    axes[4].set_title("paper confidence [approx]", fontsize=9)
    for ax in axes:
        ax.set_xlabel("rank by relevance within the layer")
        ax.set_ylabel("layer")
    plots.finish(fig, out["png"], f"{KEY}/fig1: encoder heads: relevance, confidence and function",
                 f"{params['model_note']}; {params['data_note']}")
    n_fun = sum(f != "" for row in funcs for f in row)
    top = srel[:, 0]
    return {"values": {"top_relevance_mean": float(top.mean()), "uniform": 1.0 / H,
                       "relevance_confidence_spearman": float(np.nanmean(rho)), "heads_with_function": n_fun,
                       "max_confidence": float(conf.max())},
            "ours": (f"top head per layer relevance {', '.join(f'{v:.2f}' for v in top)} (uniform {1 / H:.3f}); "
                     f"mean within-layer Spearman(relevance, confidence) {np.nanmean(rho):.2f}; max confidence "
                     f"{conf.max():.2f}; {n_fun}/{L * H} heads with a function"),
            "detail": f"{a['sentences']} sentences for confidence and functions, {a['lrp_sentences']} for LRP"}


# ----------------------------------------------------------------------------- fig3, table1, fig4: syntax


def fig3(args, params, out, entry) -> dict:
    a = _load(args["analysis"])
    base = a["baseline"]
    rows = [{"relation": r, "offset": int(o), "share": s} for r, b in base.items() for o, s in b["distribution"].items()]
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    plt = _plt()
    rels = [r for r in headroles.RELATIONS if r in base]
    fig, axes = plt.subplots(1, len(rels), figsize=(4 * len(rels), 3.2))
    for ax, r in zip(np.atleast_1d(axes), rels):
        d = {int(k): v for k, v in base[r]["distribution"].items() if abs(int(k)) <= 8}
        ax.bar(list(d), list(d.values()), color="#3182bd")
        ax.set_title(f"{r} (n={base[r]['n']}; mode {base[r]['offset']:+d})", fontsize=9)
        ax.set_xlabel("dependent position relative to head")
    np.atleast_1d(axes)[0].set_ylabel("share")
    plots.finish(fig, out["png"], f"{KEY}/fig3: relative position of the dependent", params['data_note'])
    vals = {f"{r}_mode": base[r]["offset"] for r in rels} | {f"{r}_mode_share": base[r]["share"] for r in rels}
    return {"values": vals, "ours": "; ".join(f"{r}: mode {base[r]['offset']:+d} ({base[r]['share']:.2f})" for r in rels),
            "detail": f"{a['parsed']} parsed sentences"}


def _best(a):
    base, synt = a["baseline"], a["syntactic"]
    out = []
    for rel, d in ORDER:
        k = f"{rel}|{d}"
        if k not in synt or rel not in base:
            continue
        acc = _enc(a, "relevance") * 0 + np.asarray(synt[k]["acc"])
        l, h = np.unravel_index(int(np.argmax(acc)), acc.shape)
        out.append({"relation": rel, "direction": d, "label": synt[k]["label"], "best_layer": int(l) + 1,
                    "best_head": int(h) + 1, "accuracy": float(acc[l, h]), "baseline": base[rel]["share"],
                    "baseline_offset": base[rel]["offset"], "n": synt[k]["n"]})
    return pd.DataFrame(out)


def table1(args, params, out, entry) -> dict:
    a = _load(args["analysis"])
    df = _best(a)
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(df) + 1.2))
    ax.axis("off")
    cells = [[r.label, r.relation, f"L{r.best_layer} H{r.best_head}", f"{100 * r.accuracy:.0f}",
              f"{100 * r.baseline:.0f} ({r.baseline_offset:+d})", str(r.n)] for r in df.itertuples()]
    t = ax.table(cellText=cells, colLabels=["direction", "relation", "best head", "accuracy", "baseline (offset)", "arcs"],
                 loc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    plots.finish(fig, out["png"], f"{KEY}/table1: best head per relation vs positional baseline",
                 f"{params['model_note']}; {params['data_note']}")
    gain = df.accuracy - df.baseline
    sub_obj = df[df.relation.isin(["nsubj", "dobj"])]
    return {"values": {"best_gain": float(gain.max()),
                       "best_gain_nsubj_dobj": float((sub_obj.accuracy - sub_obj.baseline).max()),
                       "n_above_margin": int((gain >= 0.10).sum())},
            "ours": "; ".join(f"{r.label} {100 * r.accuracy:.0f} vs {100 * r.baseline:.0f}" for r in df.itertuples()),
            "detail": f"{a['parsed']} parsed sentences; accuracy in %"}


def fig4(args, params, out, entry) -> dict:
    a = _load(args["analysis"])
    df = _best(a)
    df.to_csv(out["csv"], index=False)
    paper = entry.get("values", {}).get("en_ru", {})
    plt = _plt()
    fig, ax = plt.subplots(figsize=(10, 3.4))
    x = np.arange(len(df))
    ax.bar(x - 0.27, df.baseline, 0.27, label="baseline (ours)", color="#bdbdbd")
    ax.bar(x, df.accuracy, 0.27, label="best head (ours)", color="#3182bd")
    ax.bar(x + 0.27, [paper.get(l, np.nan) for l in df.label], 0.27, label="paper EN-RU [approx]", color="#fd8d3c")
    ax.set_xticks(x, df.label)
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig4: dependency score of the best head vs the baseline",
                 f"{params['model_note']}; {params['data_note']}")
    n = int((df.accuracy >= df.baseline).sum())
    return {"values": {"n_at_or_above_baseline": n, "n_relations": len(df)},
            "ours": f"best head at or above the baseline for {n} of {len(df)} relation-directions",
            "detail": ", ".join(f"{r.label} {r.accuracy:.2f}/{r.baseline:.2f}" for r in df.itertuples())}


# ----------------------------------------------------------------------------- fig5: rare-token head


def fig5(args, params, out, entry) -> dict:
    a = _load(args["analysis"])
    share = _enc(a, "rare_share")
    l, h = a["rare_head"]
    plots.layer_head_frame(share, "rare_share").to_csv(out["csv"], index=False)
    plt = _plt()
    ex = a["examples"]
    fig, axes = plt.subplots(1, max(len(ex), 1) + 1, figsize=(5 * (len(ex) + 1), 4.2))
    import seaborn as sns

    sns.heatmap(share, ax=axes[0], cmap="Oranges", annot=True, fmt=".2f", annot_kws={"fontsize": 7},
                yticklabels=range(1, len(share) + 1), xticklabels=range(1, share.shape[1] + 1))
    axes[0].set_title("share of queries whose argmax is the rarest token", fontsize=9)
    axes[0].set_xlabel("head")
    axes[0].set_ylabel("layer")
    for ax, e in zip(axes[1:], ex):
        sns.heatmap(np.asarray(e["map"]), ax=ax, cmap="Greys", cbar=False, xticklabels=e["tokens"], yticklabels=e["tokens"])
        ax.set_title(f"layer {l + 1} head {h + 1}; rarest: {e['tokens'][e['rarest']]}", fontsize=9)
        ax.tick_params(labelsize=6)
    plots.finish(fig, out["png"], f"{KEY}/fig5: the rare-token head", f"{params['model_note']}; {params['data_note']}")
    if not a["rare_sentences"]:
        return {"values": {"rare_head_layer": None, "rare_share": None}, "ours": "no sentence with a rare token",
                "detail": "", "untestable": "no held-out sentence has a token outside the top frequency ranks"}
    return {"values": {"rare_head_layer": l + 1, "rare_share": float(share[l, h]),
                       "median_share": float(np.median(share))},
            "ours": (f"layer {l + 1} head {h + 1} points to the rarest token for {share[l, h]:.2f} of queries (median "
                     f"head {np.median(share):.2f}) in {a['rare_sentences']} sentences with a token outside the top 500"),
            "detail": "share per query token"}


# ----------------------------------------------------------------------------- fig6: densities


def fig6(args, params, out, entry) -> dict:
    from replicate.methods import hardconcrete as hc  # loads torch (its gates are torch modules): this target only

    beta = entry["values"]["temperature"]
    settings = entry["values"]["settings"]  # [log_alpha, p0, p1]
    rows = []
    for la, p0, p1 in settings:
        rows.append({"log_alpha": la, "beta": beta, "p_closed": float(hc.p_closed(la, beta)),
                     "p_one": float(hc.p_one(la, beta)), "paper_p_closed": p0, "paper_p_one": p1})
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    s = np.linspace(0.005, 0.995, 400)
    axes[0].plot(s, hc.concrete_density(s, 0.0, beta), label="Concrete")
    x = np.linspace(0.005, 0.995, 400)
    axes[0].plot(x, hc.hard_concrete_density(x, 0.0, beta), label="Hard Concrete (continuous part)")
    axes[0].set_title(f"(a) log alpha = 0, temperature {beta}", fontsize=9)
    axes[0].legend(fontsize=7)
    for r in rows:
        axes[1].plot(x, hc.hard_concrete_density(x, r["log_alpha"], beta),
                     label=f"log α={r['log_alpha']:g}: p(0)={r['p_closed']:.2f}, p(1)={r['p_one']:.2f}")
    axes[1].set_title("(b) Hard Concrete densities (point masses in the legend)", fontsize=9)
    axes[1].legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig6: Concrete and Hard Concrete distributions", "closed forms, (γ, ζ) = (-0.1, 1.1)")
    diff = float(np.max(np.abs(np.r_[df.p_closed - df.paper_p_closed, df.p_one - df.paper_p_one])))
    return {"values": {"max_abs_diff": diff},
            "ours": "; ".join(f"log α {r['log_alpha']:g}: {r['p_closed']:.3f}/{r['p_one']:.3f}" for r in rows),
            "detail": f"temperature {beta}"}


# ----------------------------------------------------------------------------- pruning: fig7, fig8, table2, fig9, fig10


def _runs(args, prefix):
    runs = [_load(p) for k, p in sorted(args.items()) if k.startswith(prefix)]
    return sorted(runs, key=lambda r: r["lam"])


def _counts(r):
    o = np.asarray(r["open"])
    kinds = r["kinds"]
    return {k: int(o[[i for i, x in enumerate(kinds) if x == k]].sum()) for k in ("Enc-Enc", "Dec-Dec", "Enc-Dec")}


def fig7(args, params, out, entry) -> dict:
    base = _load(args["metrics"])["test_bleu"]
    ref = _load(args["reference"])["bleu"]  # the same fine-tuning with all gates open
    runs = _runs(args, "enc_")
    total = sum(1 for k in runs[0]["kinds"] if k == "Enc-Enc") * len(runs[0]["open"][0])
    rows = [{"lam": 0.0, "encoder_heads": total, "bleu": ref, "model": "fine-tuned, all heads"}] + [
        {"lam": r["lam"], "encoder_heads": _counts(r)["Enc-Enc"], "bleu": r["bleu"], "model": "pruned"} for r in runs]
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    d = df.sort_values("encoder_heads")
    axes[0].plot(d.encoder_heads, d.bleu, "-o", label="ours (fine-tuned with gates, decoder frozen)")
    axes[0].axhline(ref, ls="--", color="grey", label="ours, same fine-tuning, all heads")
    axes[0].axhline(base, ls=":", color="black", label="ours, trained model before fine-tuning")
    for r in df.iloc[1:].itertuples():
        axes[0].annotate(f"λ={r.lam:g}", (r.encoder_heads, r.bleu), fontsize=6)
    axes[0].set_xlabel("retained encoder heads")
    axes[0].set_ylabel("BLEU (test)")
    axes[0].legend(fontsize=7)
    p = entry["values"]["wmt"]
    axes[1].plot(list(map(int, p)), list(p.values()), "-o", color="#fd8d3c")
    axes[1].set_title("paper EN-RU WMT [approx]", fontsize=9)
    axes[1].set_xlabel("retained encoder heads (of 48)")
    plots.finish(fig, out["png"], f"{KEY}/fig7: BLEU vs retained encoder heads", f"{params['model_note']}; {params['data_note']}")
    sparse = df.iloc[1:].sort_values("encoder_heads").iloc[0]
    return {"values": {"sparsest_share_pruned": float(1 - sparse.encoder_heads / total),
                       "drop_at_sparsest": float(ref - sparse.bleu), "reference_bleu": ref, "trained_bleu": base},
            "ours": f"all {total} heads {ref:.2f} BLEU (fine-tuned alike; {base:.2f} before); " + "; ".join(
                f"{int(r.encoder_heads)} heads (λ {r.lam:g}) {r.bleu:.2f}" for r in df.iloc[1:].itertuples()),
            "detail": "greedy decoding, sacrebleu 13a"}


def fig8(args, params, out, entry) -> dict:
    a = _load(args["analysis"])
    funcs = a["functions"]
    runs = _runs(args, "enc_")
    L, H = len(funcs), len(funcs[0])
    cols = [("all", np.ones((L, H), int))] + [(f"λ={r['lam']:g}", np.asarray(r["open"])[: L]) for r in runs]
    rows = []
    for name, o in cols:
        for l in range(L):
            for h in range(H):
                rows.append({"model": name, "layer": l + 1, "head": h + 1, "kept": int(o[l, h]), "function": funcs[l][h]})
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(2 + 1.2 * len(cols), 0.25 * L * H + 1))
    for c, (name, o) in enumerate(cols):
        for l in range(L):
            for h in range(H):
                kind = headroles.function_kind(funcs[l][h])
                y = l * H + h
                if o[l, h]:
                    ax.add_patch(plt.Rectangle((c, y), 0.9, 0.9, color=KIND_COLOUR[kind] if kind != "none" else "#95a5a6"))
                    ax.text(c + 0.45, y + 0.45, funcs[l][h], ha="center", va="center", fontsize=5)
    ax.set_xlim(0, len(cols))
    ax.set_ylim(L * H, 0)
    ax.set_xticks(np.arange(len(cols)) + 0.45, [f"{n}\n{int(o.sum())} heads" for n, o in cols], fontsize=7)
    ax.set_yticks(np.arange(L) * H + H / 2, [f"layer {l + 1}" for l in range(L)])
    plots.finish(fig, out["png"], f"{KEY}/fig8: functions of the retained encoder heads",
                 f"{params['model_note']}; grey: kept head without a function")
    kinds_all = {headroles.function_kind(f) for row in funcs for f in row} - {"none"}
    kept_counts = [int(np.asarray(r["open"])[:L].sum()) for r in runs]
    mid = int(np.argmin([abs(k - L * H * 17 / 48) for k in kept_counts])) if runs else None
    kinds_mid = set()
    if mid is not None:
        o = np.asarray(runs[mid]["open"])[:L]
        kinds_mid = {headroles.function_kind(funcs[l][h]) for l in range(L) for h in range(H) if o[l, h]} - {"none"}
    return {"values": {"function_types_in_model": len(kinds_all), "function_types_kept_mid": len(kinds_mid)},
            "ours": (f"function types among all heads: {sorted(kinds_all) or 'none'}; kept at "
                     f"{kept_counts[mid] if mid is not None else '-'} heads: {sorted(kinds_mid) or 'none'}"),
            "detail": "functions of the unpruned model's heads (analysis run)"}


def table2(args, params, out, entry) -> dict:
    base = _load(args["metrics"])["test_bleu"]
    runs = _runs(args, "all_")
    scratch = {r["lam"]: r for r in _runs(args, "scratch_")}
    n = {k: sum(1 for x in runs[0]["kinds"] if x == k) * len(runs[0]["open"][0]) for k in ("Enc-Enc", "Dec-Dec", "Enc-Dec")}
    rows = [{"lam": 0.0, **{k: v for k, v in n.items()}, "pruned_bleu": base, "scratch_bleu": np.nan}]
    for r in runs:
        rows.append({"lam": r["lam"], **_counts(r), "pruned_bleu": r["bleu"],
                     "scratch_bleu": scratch[r["lam"]]["bleu"] if r["lam"] in scratch else np.nan})
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    total = sum(n.values())
    df["share_pruned"] = 1 - (df["Enc-Enc"] + df["Dec-Dec"] + df["Enc-Dec"]) / total
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(df) + 1.3))
    ax.axis("off")
    cells = [[f"{r.lam:g}" if r.lam else "baseline", f"{r._2}/{r._3}/{r._4}", f"{r.pruned_bleu:.2f}",
              "" if np.isnan(r.scratch_bleu) else f"{r.scratch_bleu:.2f}"] for r in df.itertuples()]
    t = ax.table(cellText=cells, colLabels=["λ", "heads enc/dec/dec-enc", "BLEU pruned from trained", "BLEU from scratch"],
                 loc="center")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    plots.finish(fig, out["png"], f"{KEY}/table2: gates on all attention types", f"{params['model_note']}; {params['data_note']}")
    within = df[(df.lam > 0) & (base - df.pruned_bleu <= 0.25)]
    sc = df.dropna(subset=["scratch_bleu"])
    return {"values": {"best_share_within_025": float(within.share_pruned.max()) if len(within) else 0.0,
                       "scratch_minus_pruned_max": float((sc.scratch_bleu - sc.pruned_bleu).max()) if len(sc) else None},
            "ours": "; ".join(f"{r._2}/{r._3}/{r._4}: {r.pruned_bleu:.2f}" + (
                "" if np.isnan(r.scratch_bleu) else f" (scratch {r.scratch_bleu:.2f})") for r in df.itertuples()),
            "detail": "greedy decoding, sacrebleu 13a; row 1: the unpruned model"}


def fig9(args, params, out, entry) -> dict:
    runs = _runs(args, "all_")
    H = len(runs[0]["open"][0])
    n = {k: sum(1 for x in runs[0]["kinds"] if x == k) * H for k in ("Enc-Enc", "Dec-Dec", "Enc-Dec")}
    total = sum(n.values())
    rows = [{"lam": 0.0, "pruned": 0, **n}] + [{"lam": r["lam"], "pruned": total - sum(_counts(r).values()), **_counts(r)}
                                              for r in runs]
    df = pd.DataFrame(rows).sort_values("pruned")
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for k, name in (("Enc-Enc", "encoder self"), ("Dec-Dec", "decoder self"), ("Enc-Dec", "decoder-encoder")):
        ax.plot(df.pruned, df[k], "-o", label=name)
    ax.set_xlabel("pruned heads (all types)")
    ax.set_ylabel("active heads")
    ax.legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig9: active heads per attention type", f"{params['model_note']}; {params['data_note']}")
    last = df.iloc[-1]
    return {"values": {"enc_active_sparsest": int(last["Enc-Enc"]), "dec_active_sparsest": int(last["Dec-Dec"]),
                       "encdec_active_sparsest": int(last["Enc-Dec"])},
            "ours": "; ".join(f"{int(r.pruned)} pruned: {int(r._3)}/{int(r._4)}/{int(r._5)}" for r in df.itertuples()),
            "detail": "active heads enc / dec-self / dec-enc"}


def fig10(args, params, out, entry) -> dict:
    runs = _runs(args, "all_")
    rows = []
    for r in runs:
        o = np.asarray(r["open"])
        for kind in ("Dec-Dec", "Enc-Dec"):
            idx = [i for i, x in enumerate(r["kinds"]) if x == kind]
            for layer, i in enumerate(idx):
                rows.append({"lam": r["lam"], "kind": kind, "layer": layer + 1, "active": int(o[i].sum()),
                             "pruned_of_kind": int(len(idx) * o.shape[1] - o[idx].sum())})
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, kind, name in ((axes[0], "Dec-Dec", "decoder self-attention"), (axes[1], "Enc-Dec", "decoder-encoder")):
        d = df[df.kind == kind]
        for layer, g in d.groupby("layer"):
            g = g.sort_values("pruned_of_kind")
            ax.plot(g.pruned_of_kind, g.active, "-o", label=f"layer {layer}")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("pruned heads of this type")
        ax.set_ylabel("active heads")
        ax.legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig10: active decoder heads per layer", f"{params['model_note']}; {params['data_note']}")
    top = int(df.layer.max())
    self_low = df[(df.kind == "Dec-Dec") & (df.layer == 1)].active.sum() - df[(df.kind == "Dec-Dec") & (df.layer == top)].active.sum()
    cross_up = df[(df.kind == "Enc-Dec") & (df.layer == top)].active.sum() - df[(df.kind == "Enc-Dec") & (df.layer == 1)].active.sum()
    return {"values": {"self_lower_minus_upper": int(self_low), "cross_upper_minus_lower": int(cross_up)},
            "ours": (f"decoder self-attention: lowest minus top layer active heads, summed over λ: {self_low}; "
                     f"decoder-encoder: top minus lowest {cross_up}"),
            "detail": ", ".join(f"λ {r['lam']:g}" for r in runs)}

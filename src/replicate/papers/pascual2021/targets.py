"""pascual2021 targets: ``fn(args, params, out, entry) -> result`` (see ``printed.yaml`` for the claims)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from replicate import plots
from replicate.methods import identifiability as idf
from replicate.methods import syntax
from replicate.runs.hta import load_hta, method_note

KEY = "pascual2021"


def _pairs(data):
    att = [d["attention"] for d in data]  # (L, H, T, T)
    attr = [d["heads"] for d in data]  # (L, H, T, T)
    return att, attr


def fig2(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    att, attr = _pairs(data)
    jsd = np.mean([idf.jensen_shannon(a, b).mean(-1) for a, b in zip(att, attr)], 0)  # (L, H)
    r = np.mean([np.nanmean(idf.rowwise_pearson(a, b), -1) for a, b in zip(att, attr)], 0)
    top1 = np.mean([(a.argmax(-1) == b.argmax(-1)).mean(-1) for a, b in zip(att, attr)], 0)
    n_layers, n_heads = jsd.shape
    df = pd.DataFrame([{"layer": l + 1, "head": h + 1, "jsd": jsd[l, h], "pearson": r[l, h], "top1_agreement": top1[l, h]}
                       for l in range(n_layers) for h in range(n_heads)])
    df.to_csv(csv, index=False)
    plots.style()
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    sns.heatmap(jsd, ax=axes[0], cmap="viridis", annot=True, fmt=".2f", annot_kws={"fontsize": 6},
                xticklabels=range(1, n_heads + 1), yticklabels=range(1, n_layers + 1))
    axes[0].set_xlabel("head")
    axes[0].set_ylabel("layer")
    axes[0].set_title("(a) JSD(attention, attribution) per head [candidate measure]", fontsize=9)
    per = df.groupby("layer")[["jsd", "pearson", "top1_agreement"]].mean()
    for col in per:
        axes[1].plot(per.index, per[col], "-o", ms=3, label=col)
    axes[1].set_xlabel("layer")
    axes[1].set_title("(b) per-layer means [candidate measures]", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.suptitle(f"{KEY}/fig2: MiniLM, {len(data)} pairs; attribution of head output A·V (before W^O); "
                 f"{method_note(probes)}", fontsize=8)
    plots.save(fig, png)
    j = per.jsd.to_numpy()
    return {
        "values": {"jsd_layer1": float(j[0]), "jsd_min_upper_layers": float(j[1:].min()),
                   "jsd_mean_upper_layers": float(j[1:].mean())},
        "ours": ("mean JSD per layer " + ", ".join(f"L{i + 1} {v:.3f}" for i, v in enumerate(j))
                 + "; Pearson " + ", ".join(f"L{i + 1} {v:.2f}" for i, v in enumerate(per.pearson))
                 + "; top-1 agreement " + ", ".join(f"L{i + 1} {v:.2f}" for i, v in enumerate(per.top1_agreement))),
        "detail": (f"upper layers: 2-{len(j)}; JSD/Pearson/top-1 are the card's candidate measures, the paper's "
                   "measure is unverified"),
    }


def fig4(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    k = params["max_offset"]
    att, attr = _pairs(data)
    p_att = np.mean([idf.offset_profile(a, k) for a in att], 0)  # (L, H, 2k+1)
    p_attr = np.mean([idf.offset_profile(b, k) for b in attr], 0)
    offsets = np.arange(-k, k + 1)
    n_layers, n_heads = p_att.shape[:2]
    rows = []
    for l in range(n_layers):
        for h in range(n_heads):
            for j, o in enumerate(offsets):
                rows.append({"layer": l + 1, "head": h + 1, "offset": int(o), "attention": p_att[l, h, j],
                             "attribution": p_attr[l, h, j]})
    df = pd.DataFrame(rows)
    df.to_csv(csv, index=False)
    # positional heads: attention mass > 0.5 at offset -1 / 0 / +1 (Clark-style)
    kinds = {-1: "previous", 0: "self", 1: "next"}
    found = []
    for l in range(n_layers):
        for h in range(n_heads):
            for o, name in kinds.items():
                if p_att[l, h, k + o] > 0.5:
                    found.append((l + 1, h + 1, name, p_att[l, h, k + o], p_attr[l, h, k + o],
                                  int(np.argmax(p_attr[l, h])) - k))
    plots.style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for ax, prof, title in ((axes[0], p_att, "attention"), (axes[1], p_attr, "attribution of the head output")):
        for l in range(n_layers):
            ax.plot(offsets, prof[l].mean(0), "-o", ms=3, label=f"layer {l + 1}")
        ax.set_xlabel("offset (key/input i - query j)")
        ax.set_title(f"{title}, mean over heads", fontsize=10)
    axes[0].set_ylabel("mean mass")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{KEY}/fig4: offset profiles, MiniLM, {len(data)} pairs; {method_note(probes)}", fontsize=8)
    plots.save(fig, png)
    persists = [f for f in found if f[5] == {"previous": -1, "self": 0, "next": 1}[f[2]]]
    by_layer = sorted({f[0] for f in persists})
    return {
        "values": {"positional_heads": len(found), "persisting_heads": len(persists),
                   "last_persisting_layer_from_top": n_layers - (max(by_layer) if by_layer else 0)},
        "ours": (f"{len(found)} positional heads by attention (>0.5 at offset -1/0/+1); attribution keeps the same "
                 f"peak offset in {len(persists)} of them, in layers {by_layer}: "
                 + "; ".join(f"L{l}H{h} {n} att {a:.2f} attr {b:.2f}" for l, h, n, a, b, _ in persists[:8])),
        "detail": f"{n_layers} layers; which patterns the paper found is unverified",
    }


def fig3(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    rows = []
    for ex, d in enumerate(data):
        types = idf.token_types(d["tokens"])
        m_att = idf.token_type_mass(d["attention"], types)
        m_attr = idf.token_type_mass(d["heads"], types)
        for t in m_att:
            for l in range(m_att[t].shape[0]):
                for h in range(m_att[t].shape[1]):
                    rows.append({"example": ex, "layer": l + 1, "head": h + 1, "type": t,
                                 "attention": m_att[t][l, h], "attribution": m_attr[t][l, h]})
    df = pd.DataFrame(rows).groupby(["layer", "head", "type"])[["attention", "attribution"]].mean().reset_index()
    df.to_csv(csv, index=False)
    plots.style()
    import matplotlib.pyplot as plt

    types_ = ["[CLS]", "[SEP]", "punct"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, t in zip(axes, types_):
        g = df[df.type == t]
        sc = ax.scatter(g.attention, g.attribution, c=g.layer, cmap="viridis", s=12)
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set_xlabel("attention mass")
        ax.set_ylabel("attribution mass")
        ax.set_title(t, fontsize=10)
    fig.colorbar(sc, ax=axes[-1], label="layer")
    fig.suptitle(f"{KEY}/fig3: per head, MiniLM, {len(data)} pairs; {method_note(probes)}", fontsize=8)
    plots.save(fig, png)
    tot = df.groupby("type")[["attention", "attribution"]].mean()
    top = df[df.type == "[CLS]"].sort_values("attention").iloc[-1]
    return {
        "values": {},
        "ours": ("mean mass attention vs attribution: " + ", ".join(
            f"{t} {tot.loc[t, 'attention']:.3f} vs {tot.loc[t, 'attribution']:.3f}" for t in tot.index)
                 + f"; most [CLS]-attending head L{int(top.layer)}H{int(top['head'])}: {top.attention:.2f} vs "
                   f"{top.attribution:.2f}"),
        "detail": "figure content unverified; no reference numbers",
    }


def _example_heads(data):
    """Heads shown in fig1: the strongest previous-token, [CLS] and [SEP] heads by attention, and the last layer's first."""
    att = np.stack([idf.offset_profile(d["attention"], 1) for d in data]).mean(0)  # (L, H, 3)
    types = [idf.token_type_mass(d["attention"], idf.token_types(d["tokens"])) for d in data]
    cls = np.mean([t["[CLS]"] for t in types], 0)
    sep = np.mean([t["[SEP]"] for t in types], 0)
    picks = {"previous": np.unravel_index(att[..., 0].argmax(), att.shape[:2]),
             "[CLS]": np.unravel_index(cls.argmax(), cls.shape), "[SEP]": np.unravel_index(sep.argmax(), sep.shape),
             "last layer": (att.shape[0] - 1, 0)}
    return [(name, int(l), int(h)) for name, (l, h) in picks.items()]


def fig1(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    d = data[0]
    heads = _example_heads(data)
    tokens = d["tokens"]
    t = len(tokens)
    rows = []
    for name, l, h in heads:
        for q in range(t):
            for k in range(t):
                rows.append({"pattern": name, "layer": l + 1, "head": h + 1, "query": q, "key": k,
                             "attention": d["attention"][l, h, q, k], "attribution": d["heads"][l, h, q, k]})
    pd.DataFrame(rows).to_csv(csv, index=False)
    plots.style()
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, axes = plt.subplots(2, len(heads), figsize=(4.2 * len(heads), 8.4))
    for c, (name, l, h) in enumerate(heads):
        for r, (m, what) in enumerate(((d["attention"][l, h], "attention"), (d["heads"][l, h], "attribution"))):
            sns.heatmap(m, ax=axes[r, c], cmap="Blues", vmin=0, xticklabels=tokens, yticklabels=tokens, cbar=False,
                        square=True)
            axes[r, c].tick_params(labelsize=4)
            axes[r, c].set_title(f"L{l + 1}H{h + 1} ({name}): {what}", fontsize=8)
    fig.suptitle(f"{KEY}/fig1: attention vs head-output attribution, MiniLM, one Wikipedia pair; "
                 f"{method_note(probes)}", fontsize=8)
    plots.save(fig, png)
    jsd = {name: float(idf.jensen_shannon(d["attention"][l, h], d["heads"][l, h]).mean()) for name, l, h in heads}
    return {
        "values": {},
        "ours": "JSD on this example: " + ", ".join(f"L{l + 1}H{h + 1} ({n}) {jsd[n]:.3f}" for n, l, h in heads),
        "detail": "heads picked by their attention pattern over the HTA pairs",
    }


def fig5(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    k = params["max_offset"]
    att = np.mean([idf.offset_profile(d["attention"], k) for d in data], 0)
    attr = np.mean([idf.offset_profile(d["heads"], k) for d in data], 0)
    n_layers, n_heads, n_off = att.shape
    offsets = np.arange(-k, k + 1)
    pd.DataFrame([{"layer": l + 1, "head": h + 1, "offset": int(o), "attention": att[l, h, j], "attribution": attr[l, h, j]}
                  for l in range(n_layers) for h in range(n_heads) for j, o in enumerate(offsets)]).to_csv(csv, index=False)
    plots.style()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(n_layers, n_heads, figsize=(1.6 * n_heads, 1.3 * n_layers), sharex=True, sharey=True)
    for l in range(n_layers):
        for h in range(n_heads):
            ax = axes[l, h]
            ax.plot(offsets, att[l, h], "-", lw=1, label="attention")
            ax.plot(offsets, attr[l, h], "--", lw=1, label="attribution")
            ax.set_title(f"L{l + 1}H{h + 1}", fontsize=6)
            ax.tick_params(labelsize=5)
    axes[0, 0].legend(fontsize=5)
    fig.suptitle(f"{KEY}/fig5: offset profile of every head, attention (solid) vs attribution (dashed); "
                 f"{method_note(probes)}", fontsize=8)
    plots.save(fig, png)
    return {
        "values": {},
        "ours": f"{n_layers * n_heads} heads; mean |attention - attribution| over offsets "
                f"{float(np.abs(att - attr).mean()):.3f}",
        "detail": "head grid drawn as offset profiles (not full maps) to stay readable",
    }


def _load_deps(path):
    z = np.load(path)
    n = int(z["n"])
    return ([z[f"attention_{i}"].astype(np.float64) for i in range(n)],
            [z[f"attribution_{i}"].astype(np.float64) for i in range(n)], json.loads(str(z["sentences"])), int(z["probes"]))


def table1(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    att, attr, sents, probes = _load_deps(args["deps"])
    k = params["min_count"]
    best = {name: syntax.best_heads(syntax.relation_accuracy([syntax.head_predictions(m) for m in maps], sents, k))
            for name, maps in (("attention", att), ("attribution", attr))}
    base = syntax.offset_baseline(sents, k)
    rels = sorted(base, key=lambda r: (r != syntax.ALL, -base[r][2], r))
    rows = []
    for rel in rels:
        row = {"relation": rel, "n_arcs": base[rel][2]}
        for name in ("attention", "attribution"):
            (l, h), acc, _ = best[name][rel]
            row.update({f"{name}_accuracy": acc, f"{name}_layer": l + 1, f"{name}_head": h + 1})
        row.update({"baseline_offset": base[rel][0], "baseline_accuracy": base[rel][1], "paper": "not available"})
        rows.append(row)
    df = pd.DataFrame(rows)
    df.to_csv(csv, index=False)

    plots.style()
    import matplotlib.pyplot as plt

    y = np.arange(len(df))[::-1]
    fig, ax = plt.subplots(figsize=(8.5, 0.42 * len(df) + 1.6))
    bars = (("attention", "#1f77b4", "attention, best head"), ("attribution", "#d62728", "attribution, best head"),
            ("baseline", "#7f7f7f", "fixed-offset baseline (offset = head - dependent)"))
    for j, (name, colour, label) in enumerate(bars):
        vals = df[f"{name}_accuracy"].to_numpy()
        ax.barh(y + (1 - j) * 0.27, vals, 0.27, color=colour, label=label)
        for yy, v, (_, r) in zip(y, vals, df.iterrows()):
            note = (f"{v:.2f} L{r[f'{name}_layer']}H{r[f'{name}_head']}" if name != "baseline"
                    else f"{v:.2f} ({r.baseline_offset:+d})")
            ax.text(v + 0.01, yy + (1 - j) * 0.27, note, va="center", fontsize=6)
    ax.set_yticks(y)
    ax.set_yticklabels([f"{r} (n={n})" for r, n in zip(df.relation, df.n_arcs)], fontsize=8)
    ax.set_xlim(0, 1.18)
    ax.set_xlabel("accuracy at pointing from the dependent to its head (word level)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"{KEY}/table1: best single head per relation, MiniLM, {len(sents)} sentences, {params['parse_note']}\n"
                 f"paper: no numbers available, table existence [unverified]; attribution: {method_note(probes)}",
                 fontsize=8)
    plots.save(fig, png)

    per = df[df.relation != syntax.ALL]
    allr = df[df.relation == syntax.ALL].iloc[0]
    wins = {name: int((per[f"{name}_accuracy"] > per.baseline_accuracy).sum()) for name in ("attention", "attribution")}
    att_better = int((per.attention_accuracy > per.attribution_accuracy).sum())
    return {
        "values": {},
        "ours": (f"best head, all {allr.n_arcs} arcs: attention {allr.attention_accuracy:.3f} "
                 f"(L{allr.attention_layer}H{allr.attention_head}), attribution {allr.attribution_accuracy:.3f} "
                 f"(L{allr.attribution_layer}H{allr.attribution_head}), fixed offset {allr.baseline_accuracy:.3f}; "
                 f"above the offset baseline in {wins['attention']} (attention) and {wins['attribution']} (attribution) "
                 f"of {len(per)} relations; attention > attribution in {att_better}; per relation attention / "
                 "attribution / offset baseline: "
                 + "; ".join(f"{r.relation} {r.attention_accuracy:.2f}/{r.attribution_accuracy:.2f}/{r.baseline_accuracy:.2f}"
                             for r in per.itertuples())),
        "detail": ("UNVERIFIED target: the card only guesses that the paper has such a table (Clark-style probing "
                   "on the PTB); no reference numbers, so nothing is judged. Per relation: attention / attribution "
                   "/ offset-baseline accuracy of the best single head (chosen and scored on the same sentences, as "
                   "Clark et al.); word-level maps as Clark et al. (sum over attended-to pieces, mean over attending "
                   "pieces; [CLS]/[SEP] dropped); the word itself is never predicted; attribution = "
                   f"||d head output (A·V) / d e^0_j|| normalised over j ({method_note(probes)}); relations with "
                   f">= {k} arcs; parses: {params['parse_note']}"),
    }

"""voita2019evolution targets: ``fn(args, params, out, entry) -> result`` (claims in ``printed.yaml``).

Every target reads the one extraction per model (``states_<model>.npz``: layers 0..L of every sampled token) and
the sample's annotations (``sample.npz``); fig5 reads the influence runs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from replicate import plots
from replicate.methods import similarity as sim

KEY = "voita2019evolution"
MODELS = ("MT", "LM", "MLM")
COLOURS = {"MT": "#1f77b4", "LM": "#d62728", "MLM": "#2ca02c"}
SPECIAL = 3  # <pad>, </s>, <unk>
MIN_TSNE = 5  # fewer occurrences of the t-SNE words: the panels say so instead of a picture


# ----------------------------------------------------------------------------- loading


def _sample(args):
    return dict(np.load(args["sample"]))


def _states(args, model: str, key: str = "states") -> np.ndarray:
    return np.load(args[f"states_{model.lower()}"])[key]


def _real(smp) -> np.ndarray:
    """Rows of real tokens (not </s> or <unk>)."""
    return smp["ids"] >= SPECIAL


def _rows(smp, n: int, seed: int) -> np.ndarray:
    real = np.flatnonzero(_real(smp))
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(real, min(n, len(real)), replace=False))


def _fmt_series(d: dict, fmt=".3f") -> str:
    return "; ".join(f"{k}: " + ", ".join(format(v, fmt) if v == v else "nan" for v in vals) for k, vals in d.items())


def _curves(ax, series: dict, layers, ylabel: str, title: str, styles: dict | None = None):
    for name, vals in series.items():
        model = name.split()[0]
        ax.plot(layers, vals, marker="o", ms=3, label=name, color=COLOURS.get(model),
                ls=(styles or {}).get(name, "-"))
    ax.set_xlabel("layer")
    ax.set_xticks(list(layers))
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def _write(df: pd.DataFrame, out):
    df.to_csv(out["csv"], index=False)


# ----------------------------------------------------------------------------- fig1 / fig2: MI


def _mi_rows(smp, params):
    m = params["mi"]
    return sim.balanced_sample(smp["ids"], m["n_types"], m["per_type"], params["seed"], allowed=_real(smp))


def fig1(args, params, out, entry) -> dict:
    smp = _sample(args)
    rows = _mi_rows(smp, params)
    k = params["mi"]["clusters"]
    res = {}
    for model in MODELS:
        st = _states(args, model)
        res[model] = [sim.mi_kmeans(st[l, rows], smp["ids"][rows], k, params["seed"]) for l in range(len(st))]
    layers = list(range(len(res["MT"])))
    _write(pd.DataFrame([{"model": m, "layer": l, "mi": v} for m, vals in res.items() for l, v in zip(layers, vals)]), out)
    fig, ax = plots.panels(1, 5.5, 3.8)
    _curves(ax[0, 0], res, layers, "MI(token; k-means cluster), nats", "MI with the input token")
    n_types = len(np.unique(smp["ids"][rows]))
    ax[0, 0].axhline(np.log(n_types), color="grey", lw=0.8, ls=":", label=f"ln {n_types} (token entropy)")
    ax[0, 0].legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig1: MI with the input token", params["note"])
    mt, lm, mlm = (np.array(res[m]) for m in MODELS)
    return {"values": {"lm_drop": float(lm[0] - lm[-1]), "mt_drop": float(mt[0] - mt[-1]),
                       "lm_minus_mt_drop": float((lm[0] - lm[-1]) - (mt[0] - mt[-1])),
                       "mlm_recovery": float(mlm[-1] - mlm[1:-1].min()), "mlm_drop": float(mlm[0] - mlm[-1])},
            "ours": _fmt_series({m: res[m] for m in MODELS}, ".2f"),
            "detail": (f"{n_types} most frequent tokens x {params['mi']['per_type']} occurrences ({len(rows)} rows), "
                       f"MiniBatchKMeans k={k}, plug-in MI in nats (upper bound ln {n_types} = {np.log(n_types):.2f})")}


def fig2(args, params, out, entry) -> dict:
    smp = _sample(args)
    rows = _mi_rows(smp, params)
    k, seed = params["mi"]["clusters"], params["seed"]
    lm = _states(args, "LM")
    nxt = smp["right"][rows]
    res = {"LM src": [sim.mi_kmeans(lm[l, rows], smp["ids"][rows], k, seed) for l in range(len(lm))]}
    res["LM dst"] = [sim.mi(nxt, sim.kmeans_labels(lm[l, rows], k, seed)) for l in range(len(lm))]
    f = np.load(args["states_mlm"])
    ms, mi_in, chosen = f["masked_states"], f["masked_inputs"], f["chosen"]
    orig = np.broadcast_to(smp["ids"], mi_in.shape)
    d_idx, r_idx = np.nonzero(chosen & (mi_in != orig))  # positions where input != output, over the draws
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(d_idx), min(len(rows), len(d_idx)), replace=False))
    d_idx, r_idx = d_idx[pick], r_idx[pick]
    src, dst = mi_in[d_idx, r_idx], orig[d_idx, r_idx]
    res["MLM src"], res["MLM dst"] = [], []
    for l in range(ms.shape[1]):
        cl = sim.kmeans_labels(ms[d_idx, l, r_idx], k, seed)
        res["MLM src"].append(sim.mi(src, cl))
        res["MLM dst"].append(sim.mi(dst, cl))
    layers = list(range(len(lm)))
    _write(pd.DataFrame([{"series": s, "layer": l, "mi": v} for s, vals in res.items() for l, v in zip(layers, vals)]), out)
    fig, ax = plots.panels(2, 5, 3.8)
    _curves(ax[0, 0], {s: res[s] for s in ("LM src", "LM dst")}, layers, "MI, nats", "LM: input token / next token",
            {"LM dst": "--"})
    _curves(ax[0, 1], {s: res[s] for s in ("MLM src", "MLM dst")}, layers, "MI, nats",
            "MLM (masked as in training; input != output only)", {"MLM dst": "--"})
    plots.finish(fig, out["png"], f"{KEY}/fig2: MI with the input and with the output", params["note"])
    v = {s: np.array(x) for s, x in res.items()}
    return {"values": {"lm_src_fall": float(v["LM src"][0] - v["LM src"][-1]),
                       "lm_dst_rise": float(v["LM dst"][-1] - v["LM dst"][0]),
                       "mlm_src_fall": float(v["MLM src"].max() - v["MLM src"][-1]),
                       "mlm_dst_rise": float(v["MLM dst"][-1] - v["MLM dst"][0])},
            "ours": _fmt_series(res, ".2f"),
            "detail": (f"LM: the fig1 sample ({len(rows)} rows); MLM: {len(d_idx)} positions with input != output "
                       f"from {chosen.shape[0]} masking draws (15%, 80/10/10); MiniBatchKMeans k={k}")}


# ----------------------------------------------------------------------------- fig3: PWCCA


def _pairs_of(args):
    pairs = [("MT", "MLM"), ("LM", "MT"), ("LM", "MLM")]
    inits = [(m, f"{m}_init") for m in ("LM", "MLM") if f"states_{m.lower()}_init" in args]
    return pairs, inits


def fig3(args, params, out, entry) -> dict:
    smp = _sample(args)
    rows = _rows(smp, params["pwcca"]["tokens"], params["seed"])
    st = {m: _states(args, m)[:, rows] for m in MODELS}
    pairs, inits = _pairs_of(args)
    for a, b in inits:
        st[b] = _states(args, b)[:, rows]
    L = st["MT"].shape[0] - 1
    recs = []
    for a, b in pairs + inits:
        name = f"{a} vs {b}" if (a, b) in pairs else f"{a} init."
        for l in range(1, L + 1):
            recs.append({"panel": "a", "series": name, "layers": str(l), "distance": sim.pwcca_distance(st[a][l], st[b][l])})
    for m in MODELS:
        for l in range(1, L):
            recs.append({"panel": "b", "series": m, "layers": f"{l}-{l + 1}",
                         "distance": sim.pwcca_distance(st[m][l], st[m][l + 1])})
    df = pd.DataFrame(recs)
    _write(df, out)
    fig, ax = plots.panels(2, 5, 3.8)
    for name, g in df[df.panel == "a"].groupby("series", sort=False):
        ax[0, 0].plot(g.layers, g.distance, marker="o", ms=3, label=name, ls=":" if "init" in name else "-")
    ax[0, 0].set_title("(a) same layer, between models", fontsize=9)
    for name, g in df[df.panel == "b"].groupby("series", sort=False):
        ax[0, 1].plot(g.layers, g.distance, "-o", ms=3, label=name, color=COLOURS[name])
    ax[0, 1].set_title("(b) consecutive layers", fontsize=9)
    ax[0, 0].set_xlabel("layer")
    ax[0, 1].set_xlabel("layer pair")
    for a in ax[0]:
        a.set_ylabel("PWCCA distance")
        a.legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig3: PWCCA distances", params["note"])
    a_tab = df[df.panel == "a"].pivot(index="series", columns="layers", values="distance")
    b_tab = df[df.panel == "b"].pivot(index="series", columns="layers", values="distance")
    up = [str(l) for l in range(2, L + 1)]
    vals = {"mt_mlm": float(a_tab.loc["MT vs MLM", up].mean()), "lm_mt": float(a_tab.loc["LM vs MT", up].mean()),
            "lm_mlm": float(a_tab.loc["LM vs MLM", up].mean()),
            "mt_first_pair": float(b_tab.loc["MT", "1-2"]), "mt_last_pair": float(b_tab.loc["MT", f"{L - 1}-{L}"]),
            "mlm_last_pair": float(b_tab.loc["MLM", f"{L - 1}-{L}"]),
            "mlm_prev_pair": float(b_tab.loc["MLM", f"{L - 2}-{L - 1}"]) if L >= 3 else None}
    for a, b in inits:
        vals[f"{a.lower()}_init"] = float(a_tab.loc[f"{a} init.", up].mean())
    ours = ("(a) " + "; ".join(f"{s}: " + ", ".join(f"{v:.3f}" for v in a_tab.loc[s]) for s in a_tab.index)
            + " | (b) " + "; ".join(f"{s}: " + ", ".join(f"{v:.3f}" for v in b_tab.loc[s]) for s in b_tab.index))
    missing = "" if inits else "; the init. rows (second seed) are not run in this configuration (extra_models.init_seed: null)"
    return {"values": vals, "ours": ours,
            "detail": f"{len(rows)} token occurrences per view, weights from the first-named view; (a) means over layers 2-{L}{missing}"}


# ----------------------------------------------------------------------------- fig4 / fig5 / fig15: by group


def _group_names(edges):
    return [f"{edges[g] + 1}-{edges[g + 1]}" for g in range(len(edges) - 1)]


def _change_frame(args: dict, idx: dict, key: str) -> pd.DataFrame:
    """Change of the representations of each row set in ``idx`` (name -> rows) between adjacent layers, per model."""
    recs = []
    for model in MODELS:
        st = _states(args, model)
        L = st.shape[0] - 1
        for name, ix in idx.items():
            for l, d in enumerate(_change(st, ix, L), 1):
                recs.append({"model": model, key: name, "layers": f"{l}-{l + 1}", "distance": d})
    return pd.DataFrame(recs)


def _change(st, idx, L):
    return [sim.pwcca_distance(st[l, idx], st[l + 1, idx]) for l in range(1, L)]


def fig4(args, params, out, entry) -> dict:
    smp = _sample(args)
    edges = params["groups"]
    counts = smp["counts"].copy()
    counts[:SPECIAL] = 0
    group = sim.frequency_groups(counts, edges)[smp["ids"]]
    n = params["change"]["tokens"]
    rng = np.random.default_rng(params["seed"])
    names = _group_names(edges)
    idx = {g: np.sort(rng.choice(np.flatnonzero(group == g), n, replace=False))
           for g in range(len(names)) if (group == g).sum() >= n}
    df = _change_frame(args, {names[g]: ix for g, ix in idx.items()}, "group")
    L = max(int(layers.split("-")[1]) for layers in df["layers"])
    _write(df, out)
    fig, ax = plots.panels(3, 4.2, 3.6, sharey=True)
    for i, model in enumerate(MODELS):
        for name, g in df[df.model == model].groupby("group", sort=False):
            ax[0, i].plot(g.layers, g.distance, "-o", ms=3, label=f"rank {name}")
        ax[0, i].set_title(model, fontsize=9)
        ax[0, i].set_xlabel("layers")
    ax[0, 0].set_ylabel("PWCCA distance (change)")
    ax[0, -1].legend(fontsize=6)
    plots.finish(fig, out["png"], f"{KEY}/fig4: token change by frequency rank", params["note"])
    first, last = names[min(idx)], names[max(idx)]
    t = df.pivot_table(index=["model", "layers"], columns="group", values="distance")
    t = t[[names[g] for g in sorted(idx)]]
    top = f"{L - 1}-{L}"
    vals = {"mt_freq_minus_rare_12": float(t.loc[("MT", "1-2"), first] - t.loc[("MT", "1-2"), last]),
            "lm_freq_minus_rare_12": float(t.loc[("LM", "1-2"), first] - t.loc[("LM", "1-2"), last]),
            "mlm_rare_minus_freq_top": float(t.loc[("MLM", top), last] - t.loc[("MLM", top), first])}
    skipped = [names[g] for g in range(len(names)) if g not in idx]
    return {"values": vals,
            "ours": "; ".join(f"{m} {ly}: " + ", ".join(f"{c} {t.loc[(m, ly), c]:.3f}" for c in t.columns)
                              for m, ly in t.index if ly in ("1-2", top)),
            "detail": (f"{n} occurrences per group (groups with fewer skipped: {skipped or 'none'}); ranks by training-set "
                       f"frequency of sentencepiece tokens; most frequent group {first}, rarest {last}")}


def _influence_table(path):
    d = json.loads(open(path).read())
    names = _group_names(d["groups"])
    return pd.DataFrame([{**r, "group": names[r["group"]]} for r in d["rows"] if r["layer"] is not None]), names


def fig5(args, params, out, entry) -> dict:
    tabs = {m: _influence_table(args[f"influence_{m.lower()}"])[0] for m in MODELS}
    df = pd.concat([t.assign(model=m) for m, t in tabs.items()])
    _write(df[["model", "group", "layer", "distance", "rows", "sentences"]], out)
    fig, ax = plots.panels(3, 4.2, 3.6)
    for i, model in enumerate(MODELS):
        for name, g in tabs[model].groupby("group", sort=False):
            ax[0, i].plot(g.layer, g.distance, "-o", ms=3, label=f"rank {name}")
        ax[0, i].set_title(model, fontsize=9)
        ax[0, i].set_xlabel("layer")
        ax[0, i].set_xticks(sorted(tabs[model].layer.unique()))
    ax[0, 0].set_ylabel("PWCCA distance (influence)")
    ax[0, -1].legend(fontsize=6)
    plots.finish(fig, out["png"], f"{KEY}/fig5: token influence by frequency rank", params["note"])
    vals, ours = {}, []
    for m in MODELS:
        l1 = tabs[m][tabs[m].layer == 1].set_index("group").distance
        vals[f"{m.lower()}_rare_minus_freq_l1"] = float(l1.iloc[-1] - l1.iloc[0])
        vals[f"{m.lower()}_rare_minus_others_l1"] = float(l1.iloc[-1] - l1.iloc[:-1].max())
        ours.append(f"{m} L1: " + ", ".join(f"{g} {v:.2e}" for g, v in l1.items()))
    return {"values": vals, "ours": "; ".join(ours),
            "detail": (f"one token of the group per sentence hidden from every query at layer n; views = the other tokens' "
                       f"layer-n states; up to {params['influence']['max_sentences']} training sentences per group")}


POS_GROUPS = {"NN": ("NN", "NNS"), "NNP": ("NNP", "NNPS"), "PRP": ("PRP",), "PRP$": ("PRP$",), "JJ": ("JJ", "JJR", "JJS"),
              "VB": ("VB", "VBD", "VBG", "VBN", "VBP", "VBZ"), "RB": ("RB",), "IN": ("IN",), "CC": ("CC",),
              "DT": ("DT",), ",": (",",), ".": (".",)}


def fig15(args, params, out, entry) -> dict:
    smp = _sample(args)
    n = params["change"]["pos_tokens"]
    rng = np.random.default_rng(params["seed"])
    real = _real(smp)
    idx = {}
    for name, tags in POS_GROUPS.items():
        rows = np.flatnonzero(real & np.isin(smp["tag"], tags))
        if len(rows) >= n:
            idx[name] = np.sort(rng.choice(rows, n, replace=False))
    df = _change_frame(args, idx, "pos")
    _write(df, out)
    fig, ax = plots.panels(3, 4.2, 3.6, sharey=True)
    for i, model in enumerate(MODELS):
        for name, g in df[df.model == model].groupby("pos", sort=False):
            ax[0, i].plot(g.layers, g.distance, "-o", ms=3, label=name)
        ax[0, i].set_title(model, fontsize=9)
        ax[0, i].set_xlabel("layers")
    ax[0, 0].set_ylabel("PWCCA distance (change)")
    ax[0, -1].legend(fontsize=6, ncol=2)
    plots.finish(fig, out["png"], f"{KEY}/fig15: token change by POS (spaCy tags of the word)", params["note"])
    t = df.groupby(["model", "pos"]).distance.mean()
    return {"values": {}, "ours": "; ".join(f"{m}: " + ", ".join(f"{p} {t[(m, p)]:.3f}" for p in idx) for m in MODELS),
            "detail": f"mean change over layer pairs; {n} occurrences per POS group (groups with fewer skipped: "
                      f"{[p for p in POS_GROUPS if p not in idx] or 'none'}); influence by POS not run"}


# ----------------------------------------------------------------------------- kNN


def _knn_rows(smp, params) -> np.ndarray:
    """The kNN pool: ``n_types`` frequent tokens x ``per_type`` occurrences each (``per_type`` > k, so that every
    query can have k neighbours of its own token: a random pool of a Zipfian sample caps the same-token share at
    the query type's count / k)."""
    kn = params["knn"]
    return sim.balanced_sample(smp["ids"], kn["n_types"], kn["per_type"], params["seed"], allowed=_real(smp))


def _neighbours(args, params, smp, models=MODELS):
    rows = _knn_rows(smp, params)
    nb = {}
    for m in models:
        st = _states(args, m)
        nb[m] = [sim.knn_indices(st[l, rows].astype(np.float32), params["knn"]["k"]) for l in range(1, st.shape[0])]
    return rows, nb


def _agreement_fig(args, params, out, labelsets: dict, title: str, ylabel: str, valid=None, panel: str = ""):
    """Share of the k nearest neighbours agreeing on each label set, per model and layer 1..L."""
    smp = _sample(args)
    rows, nb = _neighbours(args, params, smp)
    res = {}
    for lname, lab in labelsets.items():
        lab = np.asarray(lab(smp))[rows]
        ok = None if valid is None else valid(smp)[rows]
        for m in MODELS:
            res[f"{m} {lname}".strip()] = [sim.neighbour_agreement(n, lab, ok) for n in nb[m]]
    layers = list(range(1, len(next(iter(res.values()))) + 1))
    _write(pd.DataFrame([{"series": s, "layer": l, "share": v} for s, vals in res.items() for l, v in zip(layers, vals)]), out)
    n_panels = len(labelsets)
    fig, ax = plots.panels(n_panels, 5, 3.8)
    for i, lname in enumerate(labelsets):
        _curves(ax[0, i], {m: res[f"{m} {lname}".strip()] for m in MODELS}, layers, ylabel, lname or panel)
    plots.finish(fig, out["png"], f"{KEY}/{title}", params["note"])
    return res, len(rows)


def fig7(args, params, out, entry) -> dict:
    res, n = _agreement_fig(args, params, out, {"": lambda s: s["ids"]}, "fig7: same token among the nearest neighbours",
                            f"share of top-{params['knn']['k']} neighbours", panel="same token")
    kn = params["knn"]
    vals = {f"{m.lower()}_top": res[m][-1] for m in MODELS} | {f"{m.lower()}_l1": res[m][0] for m in MODELS}
    vals.update(mt_minus_lm_top=res["MT"][-1] - res["LM"][-1], mlm_minus_mt_top=res["MLM"][-1] - res["MT"][-1])
    return {"values": vals,
            "ours": _fmt_series(res),
            "detail": (f"{n} token occurrences pooled ({n // kn['per_type']} most frequent tokens x {kn['per_type']} "
                       f"occurrences each), Euclidean top-{kn['k']}, self excluded")}


def fig9(args, params, out, entry) -> dict:
    smp = _sample(args)
    kn = params["knn"]
    rows = _rows(smp, kn["tokens"], params["seed"])
    res = {}
    for m in MODELS:
        st = _states(args, m)
        res[m] = [sim.position_distance(st[l, rows].astype(np.float32), smp["ids"][rows], smp["pos"][rows],
                                        kn["position_k"], max_per_type=kn["position_max_per_type"], seed=params["seed"])
                  for l in range(1, st.shape[0])]
    layers = list(range(1, len(res["MT"]) + 1))
    _write(pd.DataFrame([{"model": m, "layer": l, "position_distance": v} for m, vals in res.items()
                         for l, v in zip(layers, vals)]), out)
    fig, ax = plots.panels(1, 5.5, 3.8)
    _curves(ax[0, 0], res, layers, "mean |position difference|", "position distance to same-token neighbours")
    ax[0, 0].invert_yaxis()
    plots.finish(fig, out["png"], f"{KEY}/fig9: position among occurrences of the same token", params["note"])
    return {"values": {f"{m.lower()}_top": res[m][-1] for m in MODELS} | {f"{m.lower()}_l1": res[m][0] for m in MODELS},
            "ours": _fmt_series(res, ".2f"),
            "detail": (f"{len(rows)} occurrences; k={kn['position_k']} nearest occurrences of the same token (types with "
                       f"more than k occurrences, at most {kn['position_max_per_type']} each), Euclidean")}


def fig11(args, params, out, entry) -> dict:
    res, n = _agreement_fig(args, params, out, {"left": lambda s: s["left"], "right": lambda s: s["right"]},
                            "fig11: same left / right token among the nearest neighbours",
                            f"share of top-{params['knn']['k']} neighbours", valid=lambda s: (s["left"] >= 0))
    mean = {s: float(np.mean(v)) for s, v in res.items()}
    return {"values": {"lm_left": mean["LM left"], "lm_right": mean["LM right"], "mlm_right": mean["MLM right"],
                       "mt_left_l1": res["MT left"][0], "lm_left_l1": res["LM left"][0],
                       "lm_left_minus_right": mean["LM left"] - mean["LM right"],
                       "lm_minus_mt_left_l1": res["LM left"][0] - res["MT left"][0]},
            "ours": _fmt_series(res), "detail": f"{n} occurrences (not sentence-initial), Euclidean top-{params['knn']['k']}"}


def fig12(args, params, out, entry) -> dict:
    res, n = _agreement_fig(args, params, out, {"": lambda s: s["tag"]},
                            "fig12: same tag among the nearest neighbours (stand-in: spaCy fine-grained tag, not CCG)",
                            f"share of top-{params['knn']['k']} neighbours", panel="same spaCy fine-grained tag")
    mx = {m: float(max(res[m])) for m in MODELS}
    return {"values": {"mt_gain": float(max(res["MT"][1:]) - res["MT"][0]), "mt_max": mx["MT"],
                       "lm_max": mx["LM"], "mlm_max": mx["MLM"], "mt_minus_lm_max": mx["MT"] - mx["LM"],
                       "mlm_minus_lm_max": mx["MLM"] - mx["LM"]},
            "ours": _fmt_series(res),
            "detail": (f"{n} occurrences; STAND-IN TAG SET: spaCy fine-grained (Penn) tag of the word each piece belongs to "
                       f"({params['spacy_model']}), not CCG supertags")}


def fig13(args, params, out, entry) -> dict:
    res, n = _agreement_fig(args, params, out, {"left part: dependency label": lambda s: s["dep"],
                                                "right part: head direction + label": lambda s: np.char.add(s["head_dir"], s["dep"])},
                            "fig13: stand-in left / right parts of the tag among the nearest neighbours",
                            f"share of top-{params['knn']['k']} neighbours")
    mean = {s: float(np.mean(v)) for s, v in res.items()}
    ks = list(mean)
    get = lambda m, part: mean[next(k for k in ks if k.startswith(m + " ") and part in k)]  # noqa: E731
    return {"values": {"mlm_left": get("MLM", "left part"), "lm_left": get("LM", "left part"),
                       "mlm_right": get("MLM", "right part"), "lm_right": get("LM", "right part"),
                       "mlm_minus_lm_left": get("MLM", "left part") - get("LM", "left part"),
                       "mlm_minus_lm_right": get("MLM", "right part") - get("LM", "right part")},
            "ours": _fmt_series(res),
            "detail": (f"{n} occurrences; STAND-IN for CCG left/right parts: spaCy dependency label, and head direction + "
                       "label (not CCG supertags)")}


# ----------------------------------------------------------------------------- t-SNE


def _tsne_grid(args, params, out, words: list[str], colour, title: str, masked_mlm: bool, cmap=None, legend=True,
               cbar_label: str = ""):
    smp = _sample(args)
    lower = np.char.lower(smp["pieces"].astype(str))
    piece_ids = np.flatnonzero(np.isin(lower, ["\u2581" + w for w in words]))  # "is" and "Is"
    rows = np.flatnonzero(np.isin(smp["ids"], piece_ids))
    rng = np.random.default_rng(params["seed"])
    cap = params["tsne"]["max_points"]
    if len(rows) > cap:
        rows = np.sort(rng.choice(rows, cap, replace=False))
    c, labels = colour(smp, rows)
    recs = []
    n_layers = _states(args, "MT").shape[0] - 1
    fig, ax = plots.panels(n_layers, 2.6, 2.5, n_rows=3)
    handles = {}
    for i, m in enumerate(MODELS):
        if m == "MLM" and masked_mlm:
            f = np.load(args["states_mlm"])
            st, feed = f["masked_states"][0], f["masked_inputs"][0]
        else:
            st, feed = _states(args, m), smp["ids"]
        for l in range(1, st.shape[0]):
            a = ax[i, l - 1]
            if len(rows) < MIN_TSNE:  # too few occurrences in the sample for a picture
                xy = np.full((len(rows), 2), np.nan)
                a.text(0.5, 0.5, f"{len(rows)} occurrences:\ntoo few for t-SNE", ha="center", va="center",
                       transform=a.transAxes, fontsize=8)
            else:
                xy = sim.tsne(st[l, rows].astype(np.float64), params["seed"], params["tsne"]["perplexity"],
                              params["tsne"]["max_iter"])
            if len(rows) < MIN_TSNE:
                pass
            elif cmap:
                sc = a.scatter(xy[:, 0], xy[:, 1], c=c, s=7, cmap=cmap, vmin=c.min(), vmax=c.max())
            else:
                for j, lab in enumerate(np.unique(labels)):
                    sel = labels == lab
                    handles[lab] = a.scatter(xy[sel, 0], xy[sel, 1], s=6, color=f"C{j}", label=lab)
            if masked_mlm and m == "MLM" and len(rows) >= MIN_TSNE:
                msk = feed[rows] != smp["ids"][rows]
                h = a.scatter(xy[msk, 0], xy[msk, 1], s=22, facecolors="none", edgecolors="k", lw=0.6)
                handles["MLM input masked / replaced"] = h
            a.set_xticks([])
            a.set_yticks([])
            if i == 0:
                a.set_title(f"layer {l}", fontsize=9)
            if l == 1:
                a.set_ylabel(m)
            for r, (x, y) in zip(rows, xy):
                recs.append({"model": m, "layer": l, "row": int(r), "x": float(x), "y": float(y)})
    fig.suptitle(f"{KEY}/{title}\n" + plots.wrap_note(params["note"], 140), fontsize=10)
    if len(rows) < MIN_TSNE:
        fig.tight_layout()
    elif cmap:  # a colour bar in its own column to the right of the grid
        fig.tight_layout(rect=(0, 0, 0.88, 1))
        cax = fig.add_axes((0.9, 0.2, 0.018, 0.55))
        fig.colorbar(sc, cax=cax, label=cbar_label)
    else:  # the legend in a strip below the grid
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        if legend:
            counts = {lab: int((labels == lab).sum()) for lab in np.unique(labels)}
            fig.legend(list(handles.values()), [f"{k} ({counts[k]})" if k in counts else k for k in handles],
                       loc="lower center", ncol=min(len(handles), 6), fontsize=8, markerscale=2, frameon=False,
                       bbox_to_anchor=(0.5, 0.0))
    df = pd.DataFrame(recs, columns=["model", "layer", "row", "x", "y"])
    lab_of = dict(zip(rows.tolist(), labels.tolist()))
    df["label"] = df.row.map(lab_of)
    df["position"] = df.row.map(dict(zip(rows.tolist(), smp["pos"][rows].tolist())))
    _write(df, out)
    plots.save(fig, out["png"])
    return len(rows)


def _piece_names(smp, rows):
    names = np.array([p.replace("\u2581", "").lower() for p in smp["pieces"][smp["ids"][rows]]])
    return None, names


def fig8(args, params, out, entry) -> dict:
    n = _tsne_grid(args, params, out, ["is", "are", "were", "was"], _piece_names,
                   "fig8: t-SNE of is / are / were / was (MLM: 15% masked, circled = masked or replaced input)", True)
    return {"values": {}, "ours": f"{n} occurrences per panel", "detail": "sklearn TSNE, PCA init, seeded"}


def fig10(args, params, out, entry) -> dict:
    def by_pos(smp, rows):
        return smp["pos"][rows], smp["pos"][rows].astype(str)
    n = _tsne_grid(args, params, out, ["it"], by_pos, "fig10: t-SNE of 'it', coloured by position", False, cmap="viridis",
                   cbar_label="position in the sentence")
    return {"values": {}, "ours": f"{n} occurrences per panel", "detail": "sklearn TSNE, PCA init, seeded"}


def fig14(args, params, out, entry) -> dict:
    def by_dep(smp, rows):
        dep = smp["dep"][rows].astype(str)
        keep = [d for d, _ in sorted(((d, (dep == d).sum()) for d in np.unique(dep)), key=lambda x: -x[1])[:5]]
        return None, np.where(np.isin(dep, keep), dep, "other")
    n = _tsne_grid(args, params, out, ["is"], by_dep,
                   "fig14: t-SNE of 'is', coloured by stand-in tag (spaCy dependency label of the word, not CCG)", False)
    return {"values": {}, "ours": f"{n} occurrences per panel",
            "detail": ("STAND-IN TAG SET: spaCy dependency label of 'is' (its five commonest labels, the rest 'other'; "
                       "its fine-grained tag is VBZ almost always), not CCG; colour intensity by position not drawn")}

"""The targets of abnar2020distill: tables and figures from the stored logits and representations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replicate import plots
from replicate.methods import calibration, rsa

KEY = "abnar2020distill"
VP_NAMES = {"cls": "Transformer", "seq": "Transformer-seq", "useq": "UTransformer-seq", "lstm": "LSTM", "none": "none"}
MN_NAMES = {"cnn": "CNN", "mlp": "MLP", "none": "none"}
SETS = {"test": "MNIST", "scale": "Scaled", "translate": "Translated"}


def _name(t, s, names):
    return names[s] if t == "none" else f"{names[t]}->{names[s]}"


def _load(args, t, s, seed):
    return np.load(args[f"{t}_{s}_seed{seed}"])


def _mean_std(vals):
    vals = np.asarray(vals, float)
    return float(vals.mean()), (float(vals.std(ddof=1)) if len(vals) > 1 else float("nan"))


def _fmt(m, s):
    return f"{m:.3f}" if np.isnan(s) else f"{m:.3f} ± {s:.4f}"


# ---------------------------------------------------------------------------------------------- VP

def vp_scores(r, params) -> dict:
    """mu-, D-, A-accuracy on test (card §5) and ECE on valid, for one stored model."""
    correct = r["test_logits"].argmax(1) == r["test_labels"]
    dist, att, inter = r["test_distance"], r["test_n_attractors"], r["test_n_intervening"]
    keep = (dist <= params["max_distance"]) & (inter <= params["max_attractors"])
    d_bins = [correct[dist == d].mean() if (dist == d).any() else 0.0 for d in range(1, params["max_distance"] + 1)]
    pure = inter == att  # every intervening noun is an attractor
    a_bins = {a: correct[pure & (att == a)].mean() for a in range(params["max_attractors"] + 1) if (pure & (att == a)).any()}
    out = {"mu_acc": float(correct[keep].mean()), "d_acc": float(np.mean(d_bins)), "a_acc": float(np.mean(list(a_bins.values()))),
           "acc_all": float(correct.mean())}
    for k in params["ece_bins"]:
        out[f"ece_{k}"] = calibration.ece(r["valid_logits"], r["valid_labels"], k)
    for a, v in a_bins.items():
        out[f"acc_attr{a}"] = float(v)
    return out


def _vp_table(args, params) -> pd.DataFrame:
    rows = []
    for t, s in params["pairs"]:
        per = [vp_scores(_load(args, t, s, seed), params) for seed in params["seeds"]]
        row = {"teacher": VP_NAMES[t] if t != "none" else "none (data)", "student": VP_NAMES[s], "n_seeds": len(per)}
        for k in per[0]:
            vals = [p.get(k, np.nan) for p in per]
            row[k], row[f"{k}_std"] = _mean_std(vals)
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(df, t, s, col):
    hit = df[(df.teacher == (VP_NAMES[t] if t != "none" else "none (data)")) & (df.student == VP_NAMES[s])]
    return float(hit[col].iloc[0]) if len(hit) else float("nan")


def _tfp(params):
    return max(params["ece_bins"])


def fig1(args, params, out, entry) -> dict:
    df = _vp_table(args, params)
    df.to_csv(out["csv"], index=False)
    big = _tfp(params)
    plots.style()
    fig, axes = plots.panels(2, 5.5, 4)
    axes = axes[0]
    students = [VP_NAMES[s] for s in ("cls", "seq", "useq", "lstm")]
    for ax, col, label in ((axes[0], "mu_acc", "μ-accuracy (test)"), (axes[1], f"ece_{big}", f"ECE, {big:,} bins (valid)")):
        for teacher, g in df.groupby("teacher", sort=False):
            g = g.set_index("student").reindex([s for s in students if s in set(g.student)])
            x = [students.index(s) for s in g.index]
            ax.plot(x, g[col], marker="o", label=f"teacher: {teacher}")
            if g[f"{col}_std"].notna().any():
                ax.fill_between(x, g[col] - g[f"{col}_std"], g[col] + g[f"{col}_std"], alpha=0.15)
        ax.set_xticks(range(len(students)))
        ax.set_xticklabels(students, fontsize=8)
        ax.set_xlabel("student")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    plots.finish(fig, out["png"], f"{KEY}/fig1: VP setup, students × teachers (mean ± std over seeds)")
    v = {"acc_lstm": _cell(df, "none", "lstm", "mu_acc"), "acc_transformer": _cell(df, "none", "cls", "mu_acc"),
         "acc_lstm_to_transformer": _cell(df, "lstm", "cls", "mu_acc"),
         "ece_lstm": _cell(df, "none", "lstm", f"ece_{big}"), "ece_transformer": _cell(df, "none", "cls", f"ece_{big}"),
         "ece_lstm_to_transformer": _cell(df, "lstm", "cls", f"ece_{big}")}
    for s in ("seq", "useq"):
        v[f"acc_{s}"], v[f"acc_lstm_to_{s}"] = _cell(df, "none", s, "mu_acc"), _cell(df, "lstm", s, "mu_acc")
        v[f"ece_{s}"], v[f"ece_lstm_to_{s}"] = _cell(df, "none", s, f"ece_{big}"), _cell(df, "lstm", s, f"ece_{big}")
    ours = "; ".join(f"{r.teacher} -> {r.student}: μ-acc {_fmt(r.mu_acc, r.mu_acc_std)}, ECE "
                     f"{_fmt(r[f'ece_{big}'], r[f'ece_{big}_std'])}" for _, r in df.iterrows())
    return {"values": v, "ours": ours,
            "detail": f"{int(df.n_seeds.max())} seed(s) per cell; ECE on the validation split with {big:,} bins (the original's)"}


def table6(args, params, out, entry) -> dict:
    df = _vp_table(args, params)
    df.to_csv(out["csv"], index=False)
    big = _tfp(params)
    cols = ["mu_acc", "d_acc", "a_acc", f"ece_{big}", "ece_15" if 15 in params["ece_bins"] else f"ece_{min(params['ece_bins'])}"]
    plots.style()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.35 * len(df) + 1.2))
    ax.axis("off")
    cells = [[r.teacher, r.student] + [_fmt(r[c], r[f"{c}_std"]) for c in cols] for _, r in df.iterrows()]
    tab = ax.table(cellText=cells, colLabels=["teacher", "student", "μ-acc", "D-acc", "A-acc", f"ECE {big:,}", cols[-1]],
                   loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    ax.set_title(f"{KEY}/table6: VP setup in digits (test accuracies, validation ECE)", fontsize=9)
    plots.save(fig, out["png"])
    v = {"a_acc_lstm": _cell(df, "none", "lstm", "a_acc"), "a_acc_transformer": _cell(df, "none", "cls", "a_acc"),
         "a_acc_lstm_to_transformer": _cell(df, "lstm", "cls", "a_acc")}
    ours = "; ".join(f"{r.teacher} -> {r.student}: μ {r.mu_acc:.3f}, D {r.d_acc:.3f}, A {r.a_acc:.3f}" for _, r in df.iterrows())
    return {"values": v, "ours": ours, "detail": "A-accuracy: examples whose intervening nouns are all attractors, "
            f"macro over 0-{params['max_attractors']} attractors (non-empty bins)"}


def fig7(args, params, out, entry) -> dict:
    n = params["reliability_bins"]
    seed = params["seeds"][0]
    models = (("none", "lstm"), ("none", "cls"), ("lstm", "cls"))
    rows = []
    plots.style()
    fig, axes = plots.panels(3, 4.3, 4.2)
    axes = axes[0]
    top = {}
    for ax, (t, s) in zip(axes, models):
        r = _load(args, t, s, seed)
        rel = calibration.reliability(r["valid_logits"], r["valid_labels"], n)
        name = _name(t, s, VP_NAMES)
        for k in range(n):
            rows.append({"model": name, "seed": seed, "bin_lower": rel["lower"][k], "bin_upper": rel["upper"][k],
                         "accuracy": rel["accuracy"][k], "confidence": rel["confidence"][k], "count": int(rel["count"][k])})
        ax.bar(rel["lower"], np.nan_to_num(rel["accuracy"]), width=1 / n, align="edge", edgecolor="k", alpha=0.7)
        ax.plot([0, 1], [0, 1], "r--", lw=1)
        ax.set_xlim(0.4, 1)
        ax.set_title(f"{name}: ECE({n}) {calibration.ece(r['valid_logits'], r['valid_labels'], n):.3f}", fontsize=9)
        ax.set_xlabel("confidence")
        top[name] = rel["accuracy"][-1]
    axes[0].set_ylabel("accuracy")
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], f"{KEY}/fig7: reliability diagrams ({n} bins, validation split, seed {seed})")
    names = [_name(t, s, VP_NAMES) for t, s in models]
    return {"values": {"top_bin_acc_lstm": float(top[names[0]]), "top_bin_acc_transformer": float(top[names[1]]),
                       "top_bin_acc_lstm_to_transformer": float(top[names[2]])},
            "ours": "accuracy of the 0.95-1.0 bin: " + ", ".join(f"{k} {v:.3f}" for k, v in top.items())}


def _mds_panel(ax, names, reps, params, colours, title):
    d = rsa.distance_matrix(reps, params["rsa_batch"])
    xy = rsa.mds_2d(d, params["mds_seed"])
    for (name, c), (x, y) in zip(zip(names, colours), xy):
        ax.scatter(x, y, color=c, s=30)
        ax.annotate(name, (x, y), fontsize=6)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return d, xy


def _family_colour(t, s):
    base = {"lstm": "#1f77b4", "cnn": "#1f77b4", "cls": "#d62728", "mlp": "#d62728", "seq": "#ff7f0e", "useq": "#2ca02c"}
    return base[s] if t == "none" else {"#1f77b4": "#17becf", "#d62728": "#9467bd", "#ff7f0e": "#bcbd22",
                                         "#2ca02c": "#8c564b"}[base[s]] if t in ("lstm", "cnn") else "#7f7f7f"


def _distances(names, d, a, b):
    return float(np.mean([d[i, j] for i, ni in enumerate(names) for j, nj in enumerate(names) if ni == a and nj == b]))


def fig4(args, params, out, entry) -> dict:
    plots.style()
    import matplotlib.pyplot as plt

    names, reps, colours = [], [], []
    for seed in params["seeds"]:
        for t, s in params["pairs"]:
            names.append(_name(t, s, VP_NAMES))
            reps.append(_load(args, t, s, seed)["test_reps"])
            colours.append(_family_colour(t, s))
    fig, ax = plt.subplots(figsize=(6, 5))
    d, xy = _mds_panel(ax, names, reps, params, colours, "")
    rows = [{"model": n, "mds_x": x, "mds_y": y, **{f"dist_to_{m}": d[i, j] for j, m in enumerate(names)}}
            for i, (n, (x, y)) in enumerate(zip(names, xy))]
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], f"{KEY}/fig4 (VP stand-in): MDS of second-order RSA of the final states, test sentences")
    v = {"dist_transformer_lstm": _distances(names, d, "Transformer", "LSTM"),
         "dist_lstm_to_transformer_lstm": _distances(names, d, "LSTM->Transformer", "LSTM")}
    return {"values": v, "ours": f"RSA distance to the LSTM: Transformer {v['dist_transformer_lstm']:.3f}, "
            f"LSTM->Transformer {v['dist_lstm_to_transformer_lstm']:.3f}",
            "detail": "stand-in: the VP classifiers, not the paper's language models (the LM setup is not run)"}


# ---------------------------------------------------------------------------------------------- MNIST

def _mn_scores(args, params) -> pd.DataFrame:
    y = np.load(args["data"])["y_test"]
    rows = []
    for t, s in params["pairs"]:
        for seed in params["seeds"]:
            r = _load(args, t, s, seed)
            for ts in SETS:
                row = {"teacher": t, "student": s, "seed": seed, "test_set": SETS[ts],
                       "accuracy": float((r[f"{ts}_logits"].argmax(1) == y).mean())}
                for k in params["ece_bins"]:
                    row[f"ece_{k}"] = calibration.ece(r[f"{ts}_logits"], y, k)
                rows.append(row)
    return pd.DataFrame(rows)


def _summary(df, metrics):
    g = df.groupby(["teacher", "student", "test_set"], sort=False)
    out = g[metrics].mean()
    std = g[metrics].std(ddof=1).add_suffix("_std")
    return pd.concat([out, std, g.size().rename("n_seeds")], axis=1).reset_index()


def _table_png(out, title, header, cells):
    plots.style()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 0.4 * len(cells) + 1.2))
    ax.axis("off")
    tab = ax.table(cellText=cells, colLabels=header, loc="center", cellLoc="center")
    tab.auto_set_font_size(False)
    tab.set_fontsize(7)
    ax.set_title(title, fontsize=9)
    plots.save(fig, out["png"])


def _get(sm, t, s, ts, col):
    hit = sm[(sm.teacher == t) & (sm.student == s) & (sm.test_set == SETS[ts])]
    return float(hit[col].iloc[0]) if len(hit) else float("nan")


def table1(args, params, out, entry) -> dict:
    big = _tfp(params)
    sm = _summary(_mn_scores(args, params), ["accuracy", *[f"ece_{k}" for k in params["ece_bins"]]])
    sm = sm[sm.teacher == "none"]
    sm.to_csv(out["csv"], index=False)
    cells = [[MN_NAMES[s]] + [_fmt(_get(sm, "none", s, ts, "accuracy"), _get(sm, "none", s, ts, "accuracy_std")) for ts in SETS]
             + [_fmt(_get(sm, "none", s, ts, f"ece_{big}"), _get(sm, "none", s, ts, f"ece_{big}_std")) for ts in SETS]
             for s in ("cnn", "mlp")]
    _table_png(out, f"{KEY}/table1: independent models (ECE {big:,} bins)",
               ["model"] + [f"acc {v}" for v in SETS.values()] + [f"ECE {v}" for v in SETS.values()], cells)
    v = {f"{m}_{s}_{ts}": _get(sm, "none", s, ts, col) for s in ("cnn", "mlp") for ts in SETS
         for m, col in (("acc", "accuracy"), ("ece", f"ece_{big}"))}
    return {"values": v, "ours": "; ".join(f"{row[0]}: acc {', '.join(row[1:4])}; ECE {', '.join(row[4:])}" for row in cells)}


def _student_table(args, params, out, col, label, tid):
    sm = _summary(_mn_scores(args, params), ["accuracy", *[f"ece_{k}" for k in params["ece_bins"]]])
    sm = sm[sm.teacher != "none"]
    sm.to_csv(out["csv"], index=False)
    teachers = ("cnn", "mlp")
    cells = [[MN_NAMES[s]] + [_fmt(_get(sm, t, s, ts, col), _get(sm, t, s, ts, f"{col}_std")) for ts in SETS for t in teachers]
             for s in ("cnn", "mlp")]
    _table_png(out, f"{KEY}/{tid}: distilled students, {label} (rows: student)",
               ["student"] + [f"{SETS[ts]}, T={MN_NAMES[t]}" for ts in SETS for t in teachers], cells)
    v = {f"{t}_{s}_{ts}": _get(sm, t, s, ts, col) for t in teachers for s in ("cnn", "mlp") for ts in SETS}
    return {"values": v, "ours": "; ".join(f"{row[0]} student: " + ", ".join(
        f"{SETS[ts]} T={MN_NAMES[t]} {row[1 + i]}" for i, (ts, t) in enumerate((ts, t) for ts in SETS for t in teachers))
        for row in cells)}


def table2(args, params, out, entry) -> dict:
    return _student_table(args, params, out, "accuracy", "accuracy", "table2")


def table3(args, params, out, entry) -> dict:
    big = _tfp(params)
    return _student_table(args, params, out, f"ece_{big}", f"ECE ({big:,} bins)", "table3")


def fig5(args, params, out, entry) -> dict:
    plots.style()
    fig, axes = plots.panels(2, 5.5, 5)
    axes = axes[0]
    rows, v = [], {}
    for ax, ts in zip(axes, ("scale", "translate")):
        names, reps, colours = [], [], []
        for seed in params["seeds"]:
            for t, s in params["pairs"]:
                names.append(_name(t, s, MN_NAMES))
                reps.append(_load(args, t, s, seed)[f"{ts}_reps"])
                colours.append(_family_colour(t, s))
        d, xy = _mds_panel(ax, names, reps, params, colours, f"({'ab'[ts == 'translate']}) {SETS[ts]} MNIST")
        rows += [{"test_set": SETS[ts], "model": n, "mds_x": x, "mds_y": y,
                  **{f"dist_to_{m}": d[i, j] for j, m in enumerate(names)}} for i, (n, (x, y)) in enumerate(zip(names, xy))]
        v[f"dist_mlp_cnn_{ts}"] = _distances(names, d, "MLP", "CNN")
        v[f"dist_cnn_to_mlp_cnn_{ts}"] = _distances(names, d, "CNN->MLP", "CNN")
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], f"{KEY}/fig5: MDS of second-order RSA (penultimate layer)")
    return {"values": v, "ours": "; ".join(f"{SETS[ts]}: RSA distance to the CNN: MLP {v[f'dist_mlp_cnn_{ts}']:.3f}, "
                                           f"CNN->MLP {v[f'dist_cnn_to_mlp_cnn_{ts}']:.3f}" for ts in ("scale", "translate"))}


def fig6(args, params, out, entry) -> dict:
    seed = params["seeds"][0]
    models = [p for p in (("none", "mlp"), ("none", "cnn"), ("cnn", "mlp")) if list(p) in params["pairs"]]
    names, reps, labels = [], [], []
    for t, s in models:
        r = _load(args, t, s, seed)
        for e, rep in zip(r["trajectory_epochs"], r["trajectory"]):
            names.append(_name(t, s, MN_NAMES))
            labels.append(int(e))
            reps.append(rep)
    d = rsa.distance_matrix(reps, params["rsa_batch"])
    xy = rsa.mds_2d(d, params["mds_seed"])
    plots.style()
    fig, axes = plots.panels(len(models), 4.2, 4.2, sharex=True, sharey=True)
    rows = []
    for ax, (t, s) in zip(axes[0], models):
        name = _name(t, s, MN_NAMES)
        idx = [i for i, n in enumerate(names) if n == name]
        ax.plot(xy[idx, 0], xy[idx, 1], "-o", ms=3)
        for k, i in enumerate(idx):
            ax.annotate(str(k), xy[i], fontsize=6)
            rows.append({"model": name, "checkpoint": k, "epoch": labels[i], "mds_x": xy[i, 0], "mds_y": xy[i, 1]})
        ax.set_title(name, fontsize=9)
    pd.DataFrame(rows).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], f"{KEY}/fig6: training trajectories (one MDS of all checkpoints, seed {seed})")
    last = {n: max(i for i, m in enumerate(names) if m == n) for n in set(names)}
    v = {}
    if {"CNN", "MLP", "CNN->MLP"} <= set(last):
        v = {"final_dist_student_cnn": float(d[last["CNN->MLP"], last["CNN"]]),
             "final_dist_mlp_cnn": float(d[last["MLP"], last["CNN"]])}
    return {"values": v, "ours": ", ".join(f"{k} {x:.3f}" for k, x in v.items()) or "trajectories drawn"}

"""Kovaleva et al. (2019) targets from the runs: table1 (the fine-tunes' metrics), figs 1-2 (the
pattern CNN), figs 5-9 (every task's analysis).  Every target draws one panel (or row group) per
configured task (``params['tasks']``, in that order); the printed numbers come from ``printed.yaml``
(``entry``), the verdict from its claim and the values returned here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from replicate import plots

# configured task name (lower case, no dashes/underscores) -> the paper's GLUE task it stands for
GLUE_ANALOGUE = {"sentiment": "SST-2", "sst2": "SST-2", "mrpc": "MRPC", "stsb": "STS-B", "qqp": "QQP", "rte": "RTE",
                 "qnli": "QNLI", "mnli": "MNLI"}
SHARE_LABELS = {"cls": "[CLS]", "sep": "[SEP]", "punct": "punctuation"}
FIG7_LABELS = {"PUNCT": "punct."}


def _read(path) -> dict:
    return json.loads(Path(path).read_text())


def _analyses(args: dict, params: dict) -> dict:
    """task -> its analysis.json (figs 5-9)."""
    return {t: _read(args[t]) for t in params["tasks"] if t in args}


def _grid(values, L, H):
    return np.asarray(values, dtype=float).reshape(L, H)


def _tasks(res: dict, params: dict) -> list[str]:
    return [t for t in params["tasks"] if t in res]


def _analogue(task: str) -> str | None:
    """The paper's GLUE task a configured task stands for (by name), or None."""
    return GLUE_ANALOGUE.get(task.lower().replace("-", "").replace("_", ""))


def _per_task_rows(results: dict) -> str:
    return "; ".join(f"{t}: {r}" for t, r in results.items())


def fig8(args: dict, params: dict, out: dict, entry: dict) -> dict:
    res = _analyses(args, params)
    tasks = _tasks(res, params)
    frames, ours, gains = [], {}, []
    fig, axes = plots.panels(len(tasks), 7.2, 4)
    for ax, task in zip(axes[0], tasks):
        r = res[task]
        L, H = r["n_layers"], r["n_heads"]
        mat, base = _grid(r["single"], L, H), r["baseline"]
        df = plots.layer_head_frame(mat, "score_disabled")
        df.insert(0, "task", task)
        df["delta"] = df.score_disabled - base
        df["baseline"] = base
        df["metric"] = r["metric"]
        frames.append(df)
        plots.layer_head_heatmap(ax, mat, "Blues", min(mat.min(), base), max(mat.max(), base),
                                 f"{r['metric']} (orange: baseline)", baseline=base, fmt=".3f")
        ax.set_title(f"{task}: baseline {base:.3f} ({r['n_test']} test sentences)", fontsize=9)
        gain = float(mat.max() - base)
        gains.append(gain)
        ours[task] = (f"baseline {base:.3f}, range {mat.min():.3f}-{mat.max():.3f}, best gain {100 * gain:+.1f} points "
                      f"({int((mat > base + 1e-9).sum())} of {L * H} heads raise it), mean Δ {100 * (mat.mean() - base):+.2f}")
    pd.concat(frames).round(6).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], "kovaleva2019/fig8: task score with one head disabled (uniform attention over the "
                 "valid keys)", params["model_note"])
    return {"values": {"min_best_gain": min(gains)}, "ours": _per_task_rows(ours),
            "detail": "min_best_gain: the smallest, over tasks, of the best single-head gain over the baseline "
                      "(single-head sweeps layer-cached; their run times are in the run's JSON and log, not here, so "
                      "that the scorecard is the same on every run)"}


def fig9(args: dict, params: dict, out: dict, entry: dict) -> dict:
    res = _analyses(args, params)
    tasks = _tasks(res, params)
    frames, ours, best_gap, worst_gap = [], {}, [], []
    fig, axes = plots.panels(len(tasks), 3.0, 4)
    for ax, task in zip(axes[0], tasks):
        r = res[task]
        L = r["n_layers"]
        vals, base = np.asarray(r["layer"]), r["baseline"]
        frames.append(pd.DataFrame({"task": task, "layer": range(1, L + 1), "score_disabled": vals,
                                    "delta": vals - base, "baseline": base, "metric": r["metric"]}))
        plots.layer_head_heatmap(ax, vals[:, None], "Blues", min(vals.min(), base), max(vals.max(), base),
                                 f"{r['metric']} (orange: baseline)", baseline=base, fmt=".3f", xlabels=[""])
        ax.set_xlabel("")
        ax.set_title(f"{task}\nbaseline {base:.3f}", fontsize=9)
        best, worst = int(vals.argmax()) + 1, int(vals.argmin()) + 1
        best_gap.append(float(vals.max() - base))
        worst_gap.append(float(vals.min() - base))
        ours[task] = (f"baseline {base:.3f}; " + ", ".join(f"L{i + 1} {v:.3f}" for i, v in enumerate(vals))
                      + f"; best L{best}, worst L{worst}")
    pd.concat(frames).round(6).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], "kovaleva2019/fig9: one layer disabled")
    return {"values": {"min_best_layer_gain": min(best_gap), "max_worst_layer_gain": max(worst_gap)},
            "ours": _per_task_rows(ours),
            "detail": "min_best_layer_gain / max_worst_layer_gain: over tasks, the smallest gain of the best layer to "
                      "disable and the largest gain of the worst one (score with the layer disabled - baseline)"}


def fig6(args: dict, params: dict, out: dict, entry: dict) -> dict:
    res = _analyses(args, params)
    tasks = _tasks(res, params)
    frames, ours, order = [], {}, []
    for task in tasks:
        r = res[task]
        L, H = r["n_layers"], r["n_heads"]
        for model_name in ("finetuned", "pretrained"):
            for cat in SHARE_LABELS:
                d = plots.layer_head_frame(_grid(r[f"shares_{model_name}"][cat], L, H), "attention")
                for k, v in (("token", cat), ("model", model_name), ("task", task)):
                    d.insert(0, k, v)
                frames.append(d)
    pd.concat(frames).round(6).to_csv(out["csv"], index=False)
    cols = [(t, m) for t in tasks for m in ("finetuned", "pretrained")]
    fig, axes = plots.panels(len(cols), 4.6, 7.6 / 3, n_rows=3)
    for c, (task, model_name) in enumerate(cols):
        r = res[task]
        L, H = r["n_layers"], r["n_heads"]
        for row, cat in enumerate(SHARE_LABELS):
            plots.layer_head_heatmap(axes[row, c], _grid(r[f"shares_{model_name}"][cat], L, H), "YlGn", 0, 1,
                                     "mean attention", annot=False, cbar=c == len(cols) - 1)
            axes[row, c].set_title(f"{task}, {model_name}: to {SHARE_LABELS[cat]}", fontsize=9)
    for task in tasks:
        r = res[task]
        L, H = r["n_layers"], r["n_heads"]
        ft = {k: _grid(v, L, H).mean(1) for k, v in r["shares_finetuned"].items()}
        cls_peak, sep_peak = int(ft["cls"].argmax()) + 1, int(ft["sep"].argmax()) + 1
        special = float((_grid(r["shares_finetuned"]["cls"], L, H) + _grid(r["shares_finetuned"]["sep"], L, H)).mean())
        order.append(sep_peak - cls_peak)
        fmt = lambda v: ", ".join(f"{x:.2f}" for x in v)  # noqa: E731
        ours[task] = (f"per-layer mean to [CLS] {fmt(ft['cls'])}; to [SEP] {fmt(ft['sep'])}; to punctuation "
                      f"{fmt(ft['punct'])}; [CLS]+[SEP] over all heads {special:.2f}; peaks [CLS] L{cls_peak}, "
                      f"[SEP] L{sep_peak}")
    plots.finish(fig, out["png"], "kovaleva2019/fig6: attention to special tokens per head (mean over query tokens and "
                 "test sentences)", params["model_note"])
    return {"values": {"min_sep_peak_after_cls_peak": min(order)}, "ours": _per_task_rows(ours),
            "detail": "min_sep_peak_after_cls_peak: over tasks, the smallest (layer attending most to [SEP]) - (layer "
                      "attending most to [CLS]) (fine-tuned model; averaged over non-pad queries)"}


def fig5(args: dict, params: dict, out: dict, entry: dict) -> dict:
    res = _analyses(args, params)
    tasks = _tasks(res, params)
    frames, ours, gaps = [], {}, []
    fig, axes = plots.panels(len(tasks), 6.6, 3.9)
    for c, (ax, task) in enumerate(zip(axes[0], tasks)):
        r = res[task]
        L, H = r["n_layers"], r["n_heads"]
        mat = _grid(r["cosine"], L, H)
        d = plots.layer_head_frame(mat, "cosine")
        d.insert(0, "task", task)
        frames.append(d)
        plots.layer_head_heatmap(ax, mat, "Blues_r", 0, 1, "cosine similarity", cbar=c == len(tasks) - 1)
        ax.set_title(task, fontsize=9)
        per_layer = mat.mean(1)
        lowest_two = sorted(np.argsort(per_layer)[:2].tolist())
        rest = per_layer[:L - 2]
        gaps.append(float(rest.min() - per_layer[L - 2:].max()) if rest.size else float("inf"))
        ours[task] = ("per-layer mean cosine " + ", ".join(f"L{i + 1} {x:.2f}" for i, x in enumerate(per_layer))
                      + f"; lowest L{lowest_two[0] + 1}, L{lowest_two[1] + 1}")
    pd.concat(frames).round(6).to_csv(out["csv"], index=False)
    plots.finish(fig, out["png"], "kovaleva2019/fig5: pre-trained vs fine-tuned attention, cosine similarity per head",
                 params["model_note"])
    return {"values": {"min_gap_last_two": min(gaps)}, "ours": _per_task_rows(ours),
            "detail": "min_gap_last_two: over tasks, the smallest (lowest per-layer mean similarity of the other layers) "
                      "- (highest of the last two layers); unpadded maps (the notebook flattens padded 200x200 maps)"}


def fig7(args: dict, params: dict, out: dict, entry: dict) -> dict:
    import seaborn as sns

    res = _analyses(args, params)
    tasks = _tasks(res, params)
    frames, ours, margins = [], {}, []
    fig, axes = plots.panels(len(tasks), 5.6, 4.4)
    for c, (ax, task) in enumerate(zip(axes[0], tasks)):
        r = res[task]
        feats, counts = r["cls_row_features"], r["cls_row_examples"]
        for model_name in ("finetuned", "pretrained"):
            mat = np.asarray(r[f"cls_row_{model_name}"], dtype=float)
            mat[mat < 0] = np.nan  # -1 in the JSON: no sentence has the feature
            for k, f in enumerate(feats):
                for h in range(mat.shape[1]):
                    frames.append((task, model_name, f, h + 1, mat[k, h], counts[k]))
            if model_name == "finetuned":
                ft = mat
        labels = [f"{FIG7_LABELS.get(f, f)} (n={n})" for f, n in zip(feats, counts)]
        sns.heatmap(ft, ax=ax, cmap="YlGn", vmin=0, vmax=max(0.5, float(np.nanmax(ft))), annot=True, fmt=".2f",
                    annot_kws={"fontsize": 6}, xticklabels=range(1, ft.shape[1] + 1), yticklabels=labels,
                    cbar=c == len(tasks) - 1, cbar_kws={"label": "attention from [CLS]"})
        ax.set_xlabel("head")
        ax.set_title(f"{task}: layer {r['n_layers']}, [CLS] query", fontsize=9)
        mean = np.nanmean(ft, axis=1)
        ranked = np.nan_to_num(mean, nan=-1)
        order = np.argsort(-ranked)
        top = feats[int(order[0])]
        sep = feats.index("[SEP]")
        margins.append(float(ranked[sep] - np.delete(ranked, sep).max()))
        ours[task] = ("mean over heads " + ", ".join(f"{feats[k]} {mean[k]:.2f}" for k in order)
                      + f"; most attended {top}")
    pd.DataFrame(frames, columns=["task", "model", "feature", "head", "attention", "n_examples"]).round(6).to_csv(
        out["csv"], index=False)
    plots.finish(fig, out["png"], "kovaleva2019/fig7: final-layer [CLS] attention to token features (max over the "
                 "feature's tokens, mean over sentences that have it)", params["model_note"])
    return {"values": {"min_sep_margin": min(margins)}, "ours": _per_task_rows(ours),
            "detail": "min_sep_margin: over tasks, the smallest (mean over heads of the attention to [SEP]) - (the "
                      "largest of the other features'); features from spaCy (" + params["spacy_model"] + ") aligned to "
                      "wordpieces by character offsets"}


def table1(args: dict, params: dict, out: dict, entry: dict) -> dict:
    res = {k: _read(v) for k, v in args.items()}
    printed = entry["values"]["scores"]
    tasks = [t for t in params["tasks"] if f"ft_{t}" in res]
    rows, ours, over_random, over_pretrained = [], {}, [], []
    for task in tasks:
        metric = params["metrics"][task]
        ft, scratch = res[f"ft_{task}"], res[f"scratch_{task}"]
        a, b, c = ft["test_scores_before"][metric], scratch["test_scores"][metric], ft["test_scores"][metric]
        glue = _analogue(task)
        paper = printed.get(glue, {}) if glue else {}
        majority = ft["majority_test"]  # None for a regression task (a constant prediction has corr 0)
        for setup, v, key in (("pre-trained, no fine-tuning (untrained head)", a, "pretrained"),
                              ("random init + fine-tuned", b, "random"), ("pre-trained + fine-tuned", c, "finetuned")):
            rows.append({"task": task, "setup": setup, "metric": metric, "ours": round(v, 6),
                         "paper_task": glue or "", "paper": round(paper[key] / 100, 6) if key in paper else np.nan,
                         "n_test": ft["n_test"], "majority": np.nan if majority is None else round(majority, 6)})
        over_random.append(c - b)
        over_pretrained.append(c - a)
        base = "regression: no majority class" if majority is None else f"majority {100 * majority:.1f}"
        ours[task] = (f"{metric} {100 * a:.1f} / {100 * b:.1f} / {100 * c:.1f} ({base}"
                      f"{'; paper ' + glue + ' ' + ' / '.join(str(paper[k]) for k in ('pretrained', 'random', 'finetuned')) if paper else ''})")
    df = pd.DataFrame(rows)
    df.to_csv(out["csv"], index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(2.6 + 2.4 * len(tasks), 3.8))
    setups = list(dict.fromkeys(df.setup))
    colours = ["#bdbdbd", "#9ecae1", "#08519c"]
    width = 0.8 / len(setups)
    for k, (setup, colour) in enumerate(zip(setups, colours)):
        d = df[df.setup == setup]
        x = np.arange(len(tasks)) + (k - 1) * width
        ax.bar(x, 100 * d.ours, width, color=colour, label=f"ours: {setup}")
        for xi, v in zip(x, 100 * d.ours):
            ax.text(xi, v + 1, f"{v:.1f}", ha="center", fontsize=7)
        ax.scatter(x, 100 * d.paper, marker="_", s=300, color="#d62728", zorder=3,
                   label="paper (same task type)" if k == 0 else None)
    for i, task in enumerate(t for t in tasks if res[f"ft_{t}"]["majority_test"] is not None):
        ax.hlines(100 * res[f"ft_{task}"]["majority_test"], tasks.index(task) - 0.45, tasks.index(task) + 0.45,
                  colors="black", linestyles=":", lw=1, label="majority class" if i == 0 else None)
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([f"{t}\n({params['metrics'][t]}; paper: {_analogue(t) or 'none'})" for t in tasks], fontsize=8)
    ax.set_ylim(min(0.0, float(100 * df.ours.min()) - 5), 105)  # a correlation (STS-B) can be negative
    ax.grid(axis="x", visible=False)
    ax.set_ylabel("test score × 100")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("kovaleva2019/table1: effect of pre-training and fine-tuning\n" + plots.wrap_note(params["model_note"], 90),
                 fontsize=9)
    plots.save(fig, out["png"])
    return {"values": {"min_gain_over_random": min(over_random), "min_gain_over_pretrained": min(over_pretrained),
                       "mean_gain_over_pretrained": float(np.mean(over_pretrained))},
            "ours": _per_task_rows(ours) + f"; mean gain of fine-tuning over no fine-tuning "
                                           f"{100 * np.mean(over_pretrained):+.1f} points",
            "detail": "columns: no fine-tuning / random init + FT / pre-trained + FT; min_gain_over_*: the smallest, over "
                      "tasks, of pre-trained + FT minus the other setup; no fine-tuning = the frozen pre-trained encoder "
                      "with an untrained head; random init = the same BertConfig, N(0, 0.02), same training loop"}


def fig2(args: dict, params: dict, out: dict, entry: dict) -> dict:
    p = _read(args["patterns"])
    printed = entry["values"]["shares"]
    classes = p["classes"]
    rows = []
    for task, r in p["tasks"].items():
        for source in ("cnn", "rule"):
            for c, v in zip(classes, r[f"{source}_shares"]):
                rows.append({"task": task, "source": source, "class": c, "share": v, "paper": np.nan,
                             "n_maps": r["n_heldout_maps"], "macro_f1": r["macro_f1"]})
    for glue, shares in printed.items():
        for c, v in zip(classes, shares):
            rows.append({"task": glue, "source": "paper (approx)", "class": c, "share": np.nan, "paper": v / 100,
                         "n_maps": np.nan, "macro_f1": np.nan})
    df = pd.DataFrame(rows).round(6)
    df.to_csv(out["csv"], index=False)
    plots.style()
    colours = dict(zip(classes, ["#3182bd", "#31a354", "#9e9ac8", "#fd8d3c", "#bdbdbd"]))
    bars = [b for t, r in p["tasks"].items() for b in ((f"{t}\nCNN", r["cnn_shares"]), (f"{t}\nrules", r["rule_shares"]))]
    bars += [(f"{g}\n(paper, approx)", [v / 100 for v in s]) for g, s in printed.items()
             if g in {_analogue(t) for t in p["tasks"]}]
    fig, ax = plots.plt.subplots(figsize=(2.2 + 1.1 * len(bars), 4.2))
    bottom = np.zeros(len(bars))
    for k, c in enumerate(classes):
        vals = np.array([b[1][k] for b in bars])
        ax.bar(range(len(bars)), vals, bottom=bottom, color=colours[c], label=c, width=0.7)
        for i, (v, b0) in enumerate(zip(vals, bottom)):
            if v >= 0.04:
                ax.text(i, b0 + v / 2, f"{100 * v:.0f}", ha="center", va="center", fontsize=7)
        bottom += vals
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([b[0] for b in bars], fontsize=8)
    ax.set_ylabel("share of attention maps")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(f"kovaleva2019/fig2: attention-pattern types of the fine-tuned models' held-out maps\n(rule labels "
                 f"replace the unreleased hand labels; CNN trained on them, macro-F1 vs rules {p['macro_f1']:.2f})",
                 fontsize=9)
    plots.save(fig, out["png"])
    vertical = {t: r["cnn_shares"][0] + r["cnn_shares"][2] for t, r in p["tasks"].items()}
    ours = (f"CNN vs rule labels on held-out maps: macro-F1 {p['macro_f1']:.2f}, accuracy {p['accuracy']:.2f} "
            f"(trained on {p['n_train_maps']} maps); CNN shares (" + ", ".join(classes) + "): "
            + "; ".join(f"{t} " + "/".join(f"{100 * v:.0f}" for v in r["cnn_shares"]) for t, r in p["tasks"].items()))
    return {"values": {"min_vertical_share": min(vertical.values()), "macro_f1": p["macro_f1"]}, "ours": ours,
            "detail": "the ~400 hand labels were never released: a transparent rule labeller replaces them "
                      "(replicate.methods.patterns: vertical = mass on [CLS]/[SEP]/punctuation columns, diagonal = mass "
                      "on ±1 offsets, block = mass within the query's segment/clause beyond uniform), so F1 measures "
                      "CNN-vs-rules agreement, not agreement with humans; min_vertical_share: over tasks, the smallest "
                      "CNN share of vertical + vertical+diagonal maps"}


def fig1(args: dict, params: dict, out: dict, entry: dict) -> dict:
    p = _read(args["patterns"])
    ex = p["examples"]
    rows = []
    for e in ex:
        m = np.asarray(e["map"])
        rows += [{"class": e["class"], "task": e["task"], "layer": e["layer"], "head": e["head"], "query": i,
                  "key": j, "attention_scaled": float(m[i, j])} for i in range(m.shape[0]) for j in range(m.shape[1])]
    pd.DataFrame(rows).round(6).to_csv(out["csv"], index=False)
    fig, axes = plots.panels(max(len(ex), 1), 3.4, 3.9)
    for ax, e in zip(axes[0], ex):
        m = np.asarray(e["map"])
        ax.imshow(m, cmap="Reds", vmin=0, vmax=1)
        ax.grid(False)
        if e["tokens"] and len(e["tokens"]) <= 40:
            ax.set_xticks(range(len(e["tokens"])))
            ax.set_xticklabels(e["tokens"], rotation=90, fontsize=5)
            ax.set_yticks(range(len(e["tokens"])))
            ax.set_yticklabels(e["tokens"], fontsize=5)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        V, D, B, _ = e["masses"]
        ax.set_title(f"{e['class']}\n{e['task']} L{e['layer']} H{e['head']} (V {V:.2f}, D {D:.2f}, B {B:.2f})",
                     fontsize=8)
    missing = [c for c in p["classes"] if c not in {e["class"] for e in ex}]
    fig.suptitle("kovaleva2019/fig1: one held-out map per pattern type (rule label = CNN label; each map scaled to its "
                 "maximum)" + (f"; no example of {', '.join(missing)}" if missing else ""), fontsize=9)
    fig.tight_layout()
    plots.save(fig, out["png"])
    return {"values": {"n_classes_shown": len(ex)},
            "ours": "examples of " + ", ".join(f"{e['class']} ({e['task']} L{e['layer']}H{e['head']})" for e in ex),
            "detail": "rule labeller + CNN instead of hand labels (see fig2)"
                      + (f"; no held-out map of {', '.join(missing)} on which rules and CNN agree" if missing else "")}

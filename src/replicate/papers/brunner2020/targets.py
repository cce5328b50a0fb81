"""brunner2020 targets: ``fn(args, params, out, entry) -> result`` (see ``printed.yaml`` for the claims)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from replicate import plots
from replicate.data.prepare import read_pairs
from replicate.methods import identifiability as idf
from replicate.methods import probing
from replicate.runs.hta import load_hta, load_model, method_note, setup
from replicate.runs.pairs import encode

KEY = "brunner2020"


def head_dim(model) -> int:
    return model.config.hidden_size // model.config.num_attention_heads


# ----------------------------------------------------------------------------- null space


def nullspace(args, params, out, entry) -> dict:
    import torch  # the model targets (nullspace, fig1, fig6, fig2) load torch; figs 3-5 read the HTA run only

    png, csv = out["png"], out["csv"]
    tok, model, inst, pairs = setup(args["pairs"], params)
    d_v = head_dim(model)
    rows = []
    longest = max(pairs, key=lambda p: p["n_tokens"])
    for ex, pair in enumerate(pairs):
        ids, _ = encode(tok, pair)
        att, val, _ = idf.attention_and_values(model, inst, ids)
        t = ids.shape[0]
        for layer in range(att.shape[0]):
            for h in range(att.shape[1]):
                rank, n, s = idf.null_space(val[layer, h])
                rows.append({"example": ex, "n_tokens": t, "layer": layer + 1, "head": h + 1, "rank": rank,
                             "null_dim": n.shape[1], "lower_bound": max(0, t - d_v)})
    df = pd.DataFrame(rows)
    df.to_csv(csv, index=False)

    # alternative attention rows: every head of the longest example, one query row each
    ids, tokens = encode(tok, longest)
    att, val, ctx = idf.attention_and_values(model, inst, ids)
    q = params["query"] if params["query"] < ids.shape[0] else ids.shape[0] // 2
    alt_rows, shown = [], None
    for layer in range(att.shape[0]):
        for h in range(att.shape[1]):
            a = att[layer, h, q].double()
            v = val[layer, h].double()
            _, n, _ = idf.null_space(val[layer, h])
            target = int(a.argmin())  # move attention onto the key the head looks at least
            alt = torch.from_numpy(idf.alternative_row(a, n, target=target, fraction=params["fraction"]))
            err = float((alt @ v - a @ v).abs().max())
            alt_rows.append({"layer": layer + 1, "head": h + 1, "query": q, "n_tokens": ids.shape[0],
                             "target_key": target, "target_raw": float(a[target]), "target_alternative": float(alt[target]),
                             "min_entry": float(alt.min()), "sum_change": float(alt.sum() - a.sum()),
                             "max_output_error": err, "output_scale": float((a @ v).abs().max()),
                             "l1_change": float((alt - a).abs().sum())})
            if (layer + 1, h + 1) == tuple(params["show"]):
                shown = (a.numpy(), alt.numpy())
    alt_df = pd.DataFrame(alt_rows)
    alt_df.to_csv(out["rows"], index=False)

    fig, axes = plots.panels(2, 5.5, 3.8, gridspec_kw={"width_ratios": [1, 1.4]})
    axes = axes[0]
    ax = axes[0]
    per = df.groupby(["n_tokens", "layer"]).null_dim.agg(["min", "max"]).reset_index()
    for layer, g in per.groupby("layer"):
        ax.plot(g.n_tokens, g["max"], "o", ms=3, label=f"layer {layer} (max over heads)", alpha=0.7)
    ax.plot(per.n_tokens, per.n_tokens - per.n_tokens.clip(upper=d_v), "k-", lw=1, label=f"d_s - d_v (d_v = {d_v})")
    ax.axvline(d_v, color="grey", ls=":", lw=1)
    ax.set_xlabel("sequence length d_s (tokens)")
    ax.set_ylabel("dim LN(V_h)")
    ax.set_title("(a) null-space dimension per head", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[1]
    a, alt = shown
    x = np.arange(len(a))
    ax.bar(x - 0.2, a, 0.4, label="attention row (model)")
    ax.bar(x + 0.2, alt, 0.4, label="alternative row, same head output")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_xticks(x[:: max(1, len(x) // 24)])
    ax.set_xticklabels([tokens[i] for i in x[:: max(1, len(x) // 24)]], rotation=90, fontsize=6)
    ax.set_title(f"(b) layer {params['show'][0]} head {params['show'][1]}, query {q} ({tokens[q]!r}), "
                 f"d_s = {len(a)}", fontsize=10)
    ax.legend(fontsize=7)
    plots.finish(fig, png, f"{KEY}/nullspace: non-identifiability of attention, {len(pairs)} sentence pairs", params["note"])

    long = df[df.n_tokens > d_v]
    at_bound = float((df.null_dim == df.lower_bound).mean())
    visible = int((alt_df.l1_change > 0.01).sum())
    values = {"null_dim_zero_up_to_dv": bool((df[df.n_tokens <= d_v].null_dim == 0).all()),
              "null_dim_at_least_bound": bool((long.null_dim >= long.lower_bound).all()),
              "alternative_min_entry": float(alt_df.min_entry.min()),
              "alternative_max_sum_change": float(alt_df.sum_change.abs().max()),
              "alternative_max_rel_output_error": float((alt_df.max_output_error / alt_df.output_scale).max()),
              "visible_change_share": float((alt_df.l1_change > 0.01).mean())}
    return {
        "values": values,
        "ours": (f"dim LN = 0 for all {int((df.n_tokens <= d_v).sum())} head-inputs with d_s <= {d_v}; "
                 f"= d_s - {d_v} for {at_bound:.1%} of all {len(df)} (every head full rank {d_v}); "
                 f"alternative rows for all {len(alt_df)} heads at d_s = {ids.shape[0]}: min entry "
                 f"{alt_df.min_entry.min():.2e}, sum change <= {alt_df.sum_change.abs().max():.1e}, "
                 f"max rel. output error {(alt_df.max_output_error / alt_df.output_scale).max():.1e}, "
                 f"L1 change > 0.01 in {visible} of {len(alt_df)} heads (median {alt_df.l1_change.median():.2f}); attention on the least-attended key "
                 f"{alt_df.target_raw.mean():.1e} -> {alt_df.target_alternative.mean():.2f} (mean over heads)"),
        "detail": "rank from the float64 SVD of V_h = E W_V + b (tolerance sigma_max * max(d_s, d_v) * float32 eps); "
                  "LN(V_h W_O,h) = LN(V_h) for full-row-rank W_O,h; alternative row = a + t*delta, "
                  "delta in LN ∩ 1^⊥ maximising the mass on the least-attended key (linear programme), "
                  f"scaled by {params['fraction']}; nearly one-hot rows (entries ~1e-20) leave almost no room for a "
                  "non-negative alternative, so some heads change little; verdict needs exact dims, valid rows, "
                  "output kept to the tolerance, and a visible change in at least half of the heads",
    }


# ----------------------------------------------------------------------------- effective attention


def fig1(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    tok, model, inst, pairs = setup(args["pairs"], params)
    d_v = head_dim(model)
    corr, mass = [], []
    for ex, pair in enumerate(pairs):
        ids, tokens = encode(tok, pair)
        types = idf.token_types(tokens)
        att, val, _ = idf.attention_and_values(model, inst, ids)
        for layer in range(att.shape[0]):
            eff, _, dims = idf.effective_attention(att[layer], val[layer])
            raw = att[layer].double().numpy()
            m_raw, m_eff = idf.token_type_mass(raw, types), idf.token_type_mass(eff, types)
            for h in range(att.shape[1]):
                corr.append({"example": ex, "n_tokens": len(tokens), "layer": layer + 1, "head": h + 1,
                             "pearson": idf.pearson(raw[h], eff[h]),
                             "pearson_rowwise": float(np.nanmean(idf.rowwise_pearson(raw[h], eff[h])))})
                for t in m_raw:
                    mass.append({"example": ex, "layer": layer + 1, "head": h + 1, "type": t,
                                 "raw": float(m_raw[t][h]), "effective": float(m_eff[t][h])})
    corr, mass = pd.DataFrame(corr), pd.DataFrame(mass)
    by_len = corr.groupby("n_tokens")[["pearson", "pearson_rowwise"]].mean().reset_index()
    types = mass.groupby(["layer", "head", "type"])[["raw", "effective"]].mean().reset_index()
    table = pd.concat([by_len.assign(panel="a"), types.assign(panel="bc")], ignore_index=True)
    table = table[["panel", "n_tokens", "layer", "head", "type", "pearson", "pearson_rowwise", "raw", "effective"]]
    table.to_csv(csv, index=False)

    fig, axes = plots.panels(3, 14 / 3, 3.8)
    axes = axes[0]
    ax = axes[0]
    ax.plot(corr.n_tokens, corr.pearson, ".", ms=2, alpha=0.15, color="grey")
    ax.plot(by_len.n_tokens, by_len.pearson, "-o", ms=3, label="mean over heads (matrix r)")
    ax.plot(by_len.n_tokens, by_len.pearson_rowwise, "-s", ms=3, mfc="none", label="row-wise r")
    ax.axvline(d_v, color="grey", ls=":", lw=1)
    ax.set_xlabel("sequence length d_s")
    ax.set_ylabel("Pearson r(A, effective A)")
    ax.set_title("(a) raw vs effective attention", fontsize=10)
    ax.legend(fontsize=7)
    per_layer = types.groupby(["layer", "type"])[["raw", "effective"]].mean().reset_index()
    for ax, col, title in ((axes[1], "raw", "(b) raw attention"), (axes[2], "effective", "(c) effective attention")):
        for t, g in per_layer.groupby("type"):
            ax.plot(g.layer, g[col], "-o", ms=3, label=t)
        ax.set_xlabel("layer")
        ax.set_ylabel("mean mass per query (over heads)")
        ax.set_title(title, fontsize=10)
        ax.axhline(0, color="black", lw=0.5)
        ax.legend(fontsize=7)
    ymin = min(axes[1].get_ylim()[0], axes[2].get_ylim()[0])
    ymax = max(axes[1].get_ylim()[1], axes[2].get_ylim()[1])
    axes[1].set_ylim(ymin, ymax)
    axes[2].set_ylim(ymin, ymax)
    plots.finish(fig, png, f"{KEY}/fig1: raw vs effective attention (d_v = {d_v}), {len(pairs)} sentence pairs, float64 SVD",
                 params["note"])

    short = corr[corr.n_tokens <= d_v].pearson
    long_ = by_len[by_len.n_tokens > d_v]
    rho = float(pd.Series(long_.n_tokens).corr(pd.Series(long_.pearson), method="spearman"))
    tot = types.groupby("type")[["raw", "effective"]].mean()
    cls_lower = tot.loc["[CLS]", "effective"] < tot.loc["[CLS]", "raw"]
    values = {"r_min_up_to_dv": float(short.min()), "spearman_r_length": rho,
              "sep_raw": float(tot.loc["[SEP]", "raw"]), "sep_effective": float(tot.loc["[SEP]", "effective"])}
    return {
        "values": values,
        "ours": (f"r = 1 (min {short.min():.6f}) for all {len(short)} head-inputs with d_s <= {d_v}; mean r "
                 f"{long_.pearson.iloc[0]:.3f} at d_s = {int(long_.n_tokens.iloc[0])} to {long_.pearson.iloc[-1]:.3f} "
                 f"at d_s = {int(long_.n_tokens.iloc[-1])} (Spearman with length {rho:.2f}); mean mass raw -> effective: "
                 + ", ".join(f"{t} {tot.loc[t, 'raw']:.3f} -> {tot.loc[t, 'effective']:.3f}" for t in tot.index)),
        "detail": f"[CLS] lower too: {bool(cls_lower)}; reference numbers unavailable/unverified",
    }


def fig6(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    tok, model, inst = load_model(params)
    pairs = read_pairs(args["pairs"])
    pair = min(pairs, key=lambda p: (abs(p["n_tokens"] - params["example_tokens"]), p["paragraph"]))
    ids, tokens = encode(tok, pair)
    att, val, _ = idf.attention_and_values(model, inst, ids)
    layer, head = params["show"]
    eff, nul, dims = idf.effective_attention(att[layer - 1], val[layer - 1])
    raw = att[layer - 1, head - 1].double().numpy()
    e, n = eff[head - 1], nul[head - 1]
    t = len(tokens)
    q, k = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
    pd.DataFrame({"query": q.ravel(), "key": k.ravel(), "query_token": np.array(tokens)[q.ravel()],
                  "key_token": np.array(tokens)[k.ravel()], "raw": raw.ravel(), "effective": e.ravel(),
                  "null": n.ravel()}).to_csv(csv, index=False)
    import seaborn as sns

    fig, axes = plots.panels(1, 7, 19 / 3, n_rows=3)
    axes = axes[:, 0]
    for ax, m, title in ((axes[0], raw, "raw attention"), (axes[1], e, "effective attention"), (axes[2], n, "null attention")):
        lim = float(np.abs(m).max())
        sns.heatmap(m, ax=ax, cmap="RdBu_r", vmin=-lim, vmax=lim, xticklabels=tokens, yticklabels=tokens, square=True,
                    cbar_kws={"shrink": 0.6})
        ax.tick_params(labelsize=5)
        ax.set_title(f"{title} (layer {layer}, head {head})", fontsize=10)
    plots.finish(fig, png, f"{KEY}/fig6: d_s = {t}, dim LN = {int(dims[head - 1])}", params["note"], width=70)
    sep = [i for i, tt in enumerate(tokens) if tt == "[SEP]"]
    return {
        "values": {},
        "ours": (f"layer {layer} head {head}, d_s = {t}: mass on [SEP] raw {raw[:, sep].sum(1).mean():.3f}, "
                 f"effective {e[:, sep].sum(1).mean():.3f}; effective rows sum to {e.sum(1).min():.2f}..{e.sum(1).max():.2f}, "
                 f"min entry {e.min():.3f}"),
        "detail": "example maps; effective attention may be negative and rows need not sum to one (card §3)",
    }


def fig3(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    rows = []
    for ex, d in enumerate(data):
        h = d["hidden"]  # (L, T_out, T_in)
        for layer in range(h.shape[0]):
            own = np.diagonal(h[layer])
            top = h[layer].argmax(-1)
            for j in range(h.shape[1]):
                rows.append({"example": ex, "layer": layer + 1, "token": j, "own": own[j], "own_not_max": top[j] != j})
    df = pd.DataFrame(rows)
    g = df.groupby("layer")
    summary = pd.DataFrame({"layer": sorted(df.layer.unique()), "median_own": g.own.median().values,
                            "mean_own": g.own.mean().values, "q25_own": g.own.quantile(0.25).values,
                            "q75_own": g.own.quantile(0.75).values,
                            "p_tilde_percent": 100 * g.own_not_max.mean().values, "n_tokens": g.size().values})
    summary.to_csv(csv, index=False)
    import seaborn as sns

    fig, axes = plots.panels(2, 5, 3.8)
    axes = axes[0]
    sns.boxplot(data=df, x="layer", y="own", ax=axes[0], color="#1f77b4", fliersize=1)
    for i, m in enumerate(summary.median_own):
        axes[0].text(i, m, f"{m:.2f}", ha="center", va="bottom", fontsize=7)
    axes[0].set_ylabel("own contribution c~_jj")
    axes[0].set_title("(a) contribution of token j to hidden token j", fontsize=10)
    axes[1].plot(summary.layer, summary.p_tilde_percent, "-o")
    axes[1].set_ylim(0, 100)
    axes[1].set_xlabel("layer")
    axes[1].set_ylabel("P~ (%)")
    axes[1].set_title("(b) tokens whose own input is not the top contributor", fontsize=10)
    plots.finish(fig, png, f"{KEY}/fig3: HTA, {len(data)} pairs, {method_note(probes)}", params["note"], width=110)
    med = summary.median_own.to_numpy()
    return {
        "values": {"median_own_first_layer": float(med[0]), "median_own_last_layer": float(med[-1])},
        "ours": ("median own contribution per layer " + ", ".join(f"L{i + 1} {m:.3f}" for i, m in enumerate(med))
                 + "; P~ " + ", ".join(f"L{i + 1} {p:.1f}%" for i, p in enumerate(summary.p_tilde_percent))),
        "detail": f"{method_note(probes)}; reference numbers unavailable [unverified]",
    }


def fig4(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    k = params["max_offset"]
    prof = np.stack([idf.offset_profile(d["hidden"], k) for d in data])  # (N, L, 2k+1)
    mean = prof.mean(0)
    offsets = np.arange(-k, k + 1)
    layers = np.arange(1, mean.shape[0] + 1)
    pd.DataFrame([{"layer": int(l), "offset": int(o), "contribution": float(mean[i, j])}
                  for i, l in enumerate(layers) for j, o in enumerate(offsets)]).to_csv(csv, index=False)
    fig, axes = plots.panels(1, 6.5, 3.8)
    ax = axes[0, 0]
    for i, l in enumerate(layers):
        ax.plot(offsets, mean[i], "-o", ms=3, label=f"layer {l}")
    ax.set_xlabel("relative offset i - j (input i, hidden token j)")
    ax.set_ylabel("mean normalised contribution")
    ax.legend(fontsize=7, ncol=2)
    plots.finish(fig, png, f"{KEY}/fig4: HTA by offset, {len(data)} pairs", params["note"], width=80)
    near = (mean[:, k - 1] + mean[:, k + 1]) / 2
    far = (mean[:, 0] + mean[:, -1]) / 2
    return {
        "values": {"min_near_minus_far": float((near - far).min())},
        "ours": ("mean contribution at |offset| = 1 vs " + f"{k}: "
                 + ", ".join(f"L{l} {a:.3f} vs {b:.3f}" for l, a, b in zip(layers, near, far))),
        "detail": f"near: offset ±1, far: ±{k}; {method_note(probes)}",
    }


def fig5(args, params, out, entry) -> dict:
    png, csv = out["png"], out["csv"]
    data, probes = load_hta(args["hta"])
    rows = []
    for ex, d in enumerate(data):
        types = idf.token_types(d["tokens"])
        mass = idf.token_type_mass(d["hidden"], types)  # {type: (L,)}; a type absent from the example has mass 0
        for layer in range(d["hidden"].shape[0]):
            for t in ("[CLS]", "[SEP]", "punct", "other"):
                rows.append({"example": ex, "layer": layer + 1, "type": t,
                             "contribution": float(mass[t][layer]) if t in mass else 0.0,
                             "share_of_tokens": types.count(t) / len(types)})
    df = pd.DataFrame(rows).groupby(["layer", "type"])[["contribution", "share_of_tokens"]].mean().reset_index()
    df.to_csv(csv, index=False)
    fig, axes = plots.panels(1, 6.5, 3.8)
    ax = axes[0, 0]
    for t, g in df.groupby("type"):
        ax.plot(g.layer, g.contribution, "-o", ms=3, label=f"{t} (share of tokens {g.share_of_tokens.iloc[0]:.2f})")
    ax.set_xlabel("layer")
    ax.set_ylabel("mean total contribution to a hidden token")
    ax.legend(fontsize=7)
    plots.finish(fig, png, f"{KEY}/fig5: HTA of [CLS]/[SEP]/punctuation, {len(data)} pairs", params["note"], width=80)
    last = df[df.layer == df.layer.max()].set_index("type")
    return {
        "values": {},
        "ours": "last layer: " + ", ".join(f"{t} {last.loc[t, 'contribution']:.3f} (token share "
                                            f"{last.loc[t, 'share_of_tokens']:.3f})" for t in last.index),
        "detail": f"figure existence unverified; {method_note(probes)}",
    }


# ----------------------------------------------------------------------------- token identifiability

# fig2 curves: (method, loss) of trained probes; the distance of the identification matches the loss.
_PROBE_LABEL = {"linear": "linear", "mlp": "MLP"}
_SPECIAL = ("[CLS]", "[SEP]")


def _hidden_states(tok, model, pairs):
    """Hidden states (L+1, N, D) of every token of every pair (float64), the pair of each token
    and whether it is [CLS]/[SEP]."""
    import torch

    states, groups, special = [], [], []
    with torch.no_grad():
        for ex, pair in enumerate(pairs):
            ids, tokens = encode(tok, pair)
            out = model(input_ids=ids[None].to(next(model.parameters()).device), output_hidden_states=True)
            states.append(torch.stack(out.hidden_states)[:, 0].cpu().double().numpy())  # (L+1, T, D)
            groups.append(np.full(ids.shape[0], ex))
            special.append(np.isin(tokens, [tok.cls_token, tok.sep_token]))
    return np.concatenate(states, 1), np.concatenate(groups), np.concatenate(special)


def _rates(pred, target, groups, special, distance):
    """Identification rates for both candidate sets and both [CLS]/[SEP] policies."""
    out = []
    for specials, keep in (("included", np.ones(len(pred), bool)), ("excluded", ~special)):
        for cand, g in (("same pair", groups[keep]), ("all test tokens", None)):
            out.append({"candidates": cand, "specials": specials,
                        "rate": probing.identification_rate(pred[keep], target[keep], g, distance)})
    return out


def fig2(args, params, out, entry) -> dict:
    from replicate.models.training import device

    png, csv = out["png"], out["csv"]
    tok, model, _, pairs = setup(args["pairs"], params, seed=False)
    hs, groups, special = _hidden_states(tok, model, pairs)
    y = hs[0]  # input tokens e^0: token + position + segment embeddings after LayerNorm (card §4)
    n_layers = hs.shape[0] - 1
    folds = probing.group_folds(groups, params["folds"], params["seed"])
    train_kw = {**{k: params[k] for k in ("hidden", "batch_size", "max_epochs", "patience", "min_delta")}, "device": device()}
    rows = []
    t0 = time.perf_counter()
    for fold, (train, valid, test) in enumerate(folds):
        g, s = groups[test], special[test]
        for layer in range(1, n_layers + 1):
            x = hs[layer]
            base = {"fold": fold, "layer": layer, "n_train_tokens": int(train.sum()), "n_test_tokens": int(test.sum())}
            for kind in params["probes"]:
                for loss in params["losses"]:
                    net, info = probing.select_probe(x[train], y[train], x[valid], y[valid], lrs=params["lrs"],
                                                     kind=kind, loss=loss,
                                                     seed=params["seed"] + 1000 * fold + layer, **train_kw)
                    pred = probing.apply_probe(net, x[test])
                    for r in _rates(pred, y[test], g, s, loss):
                        rows.append({**base, "method": f"{_PROBE_LABEL[kind]} probe", "loss": loss, "distance": loss,
                                     **r, "lr": info["lr"], "epochs": info["epochs"], "best_epoch": info["best_epoch"]})
            ls = probing.apply_linear(probing.fit_linear(x[train], y[train]), x[test])
            for method, pred, loss in (("least squares (reference)", ls, "l2"), ("naive (identity)", x[test], "none")):
                for distance in ("l2", "cosine"):
                    for r in _rates(pred, y[test], g, s, distance):
                        rows.append({**base, "method": method, "loss": loss, "distance": distance, **r,
                                     "lr": np.nan, "epochs": np.nan, "best_epoch": np.nan})
            print(f"fold {fold} layer {layer}: {time.perf_counter() - t0:.1f} s", flush=True)
    df = pd.DataFrame(rows)
    df = df[["fold", "layer", "method", "loss", "distance", "candidates", "specials", "rate", "n_train_tokens",
             "n_test_tokens", "lr", "epochs", "best_epoch"]]
    df.to_csv(csv, index=False)
    mean = df.groupby(["method", "loss", "distance", "candidates", "specials", "layer"], sort=False).rate.mean().reset_index()

    colours = {"linear probe": "#1f77b4", "MLP probe": "#d62728", "naive (identity)": "#2ca02c",
               "least squares (reference)": "#7f7f7f"}
    fig, axes = plots.panels(2, 6, 4.6, sharey=True)
    axes = axes[0]
    for ax, cand in zip(axes, ("same pair", "all test tokens")):
        sub = mean[(mean.candidates == cand) & (mean.specials == "included")]
        for (method, loss, distance), gg in sub.groupby(["method", "loss", "distance"], sort=False):
            if method.startswith("least") and distance != "l2":
                continue
            trained = method.endswith("probe")
            label = f"{method}, {loss} loss" if trained else f"{method}, {distance} NN"
            ax.plot(gg.layer, gg.rate, "-" if distance == "cosine" else "--", marker="o" if trained else "s",
                    ms=4, color=colours[method], lw=1.2 if trained else 1.0, alpha=1.0 if trained else 0.8, label=label)
        ax.set_xticks(range(1, n_layers + 1))
        ax.set_xlabel("layer")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"nearest neighbour among: {cand}", fontsize=10)
    axes[0].set_ylabel("identifiability rate (test tokens)")
    axes[1].legend(fontsize=7, loc="lower left")
    axes[0].text(0.02, 0.03, "paper (v4): no printed numbers available (card §7);\nexpected [unverified]: MLP + cosine "
                 "> 90% up to the last layer,\nnaive NN collapses after the first layers", transform=axes[0].transAxes,
                 fontsize=7, va="bottom", bbox={"fc": "white", "ec": "grey", "alpha": 0.9})
    split = "70/15/15 split by pair" if params["folds"] == 1 else f"{params['folds']}-fold CV by pair"
    plots.finish(fig, png, f"{KEY}/fig2: token identifiability, {len(pairs)} sentence pairs, {split} "
                 f"({int(folds[0][2].sum())} test tokens)\nprobes per layer: Adam, early stopping (patience {params['patience']}) "
                 "on a validation split; solid: cosine, dashed: L2 (loss and NN distance)", params["note"])

    main = mean[(mean.candidates == "all test tokens") & (mean.specials == "included")]

    def curve(method, distance):
        return main[(main.method == method) & (main.distance == distance)].sort_values("layer").rate.to_numpy()

    trained = [(f"{_PROBE_LABEL[k]} probe", loss) for k in params["probes"] for loss in params["losses"]]
    best = max(trained, key=lambda c: curve(*c)[-1])
    top = curve(*best)
    cos_ge_l2 = [float(np.mean(curve(f"{_PROBE_LABEL[k]} probe", "cosine") >= curve(f"{_PROBE_LABEL[k]} probe", "l2") - 1e-9))
                 for k in params["probes"]] if {"cosine", "l2"} <= set(params["losses"]) else []
    naive = curve("naive (identity)", "cosine")
    values = {"best_probe_first_layer": float(top[0]), "best_probe_last_layer": float(top[-1]),
              "naive_cosine_last_layer": float(naive[-1])}
    if cos_ge_l2:  # both losses trained: share of layers where cosine >= L2 (mean over probe kinds)
        values["cosine_ge_l2_share"] = float(np.mean(cos_ge_l2))
    print(f"probe training and evaluation: {time.perf_counter() - t0:.1f} s", flush=True)
    return {
        "values": values,
        "ours": ("all-test-token candidates: " + "; ".join(
            f"{m}, {loss}: " + ", ".join(f"L{i + 1} {v:.3f}" for i, v in enumerate(curve(m, loss)))
            for m, loss in trained) + "; naive cosine NN: " + ", ".join(f"L{i + 1} {v:.3f}" for i, v in enumerate(naive))
                 + "; naive L2 NN: " + ", ".join(f"L{i + 1} {v:.3f}" for i, v in enumerate(curve("naive (identity)", "l2")))),
        "detail": (f"best probe: {best[0]}, {best[1]} loss. Set-up: probes trained per layer as in the appendix ({', '.join(params['probes'])}; "
                   f"{', '.join(params['losses'])} loss; MLP hidden {params['hidden']} GELU; Adam lr from {params['lrs']} on the "
                   f"validation loss; batch {params['batch_size']}; early stopping patience {params['patience']}, relative "
                   f"min_delta {params['min_delta']}, at most {params['max_epochs']} epochs; Glorot init); "
                   f"{split}; targets e^0 = embedding output (token + position + segment, LayerNorm); distance = loss; "
                   "least-squares linear map kept as a reference; [CLS]/[SEP] excluded and same-pair candidates in the "
                   "csv; paper numbers unavailable. Deviations: MiniLM (6 layers) "
                   "instead of BERT-base, Wikipedia pairs instead of MRPC" + ("" if params["folds"] > 1 else
                                                                              ", one split instead of 10-fold CV")),
    }


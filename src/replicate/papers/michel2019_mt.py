"""Michel et al. (2019), the translation targets: Tables 1, 2, 5, Figs 1(a), 2(a), 3(a), 4, 5.

Which model and data (see :mod:`replicate.mt`), which method, which printed number.  Default
scale: a 3+3-layer, 8-head MarianMTModel trained here to reverse the word order of real
Wikipedia sentences (a toy stand-in for the WMT14 En-Fr big Transformer and the IWSLT model);
paper scale: Helsinki-NLP/opus-mt-en-fr on newstest2013/2014.  Gate rows are the attention
layers of each type (``Instrument.kinds``): Enc-Enc, then Dec-Dec, then Enc-Dec.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from replicate.methods import heads
from replicate.models import mt
from replicate.instrument import KINDS, Instrument

PAPER = {  # card §3, [exact] unless marked
    "table1": "ΔBLEU per WMT encoder head from 36.05: only 8 of 96 significant (p < 0.01), half of them positive [exact]",
    "table2": {"Enc-Enc": [-1.31, -0.16, 0.12, -0.15, 0.02, -0.36], "Enc-Dec": [0.24, 0.06, 0.05, -0.24, -1.55, -13.56],
               "Dec-Dec": [-0.03, 0.12, 0.18, 0.17, -0.04, 0.24]},
    "table5": {"Enc-Enc": [-1.96, -0.57, -0.45, -0.30, -0.32, -0.67], "Enc-Dec": [0.02, 0.09, -0.42, -0.60, -2.75, -18.89],
               "Dec-Dec": [0.03, -0.13, 0.00, -0.31, -0.66, -0.03]},
    "fig1a": "WMT BLEU with one head masked: most heads near the 36.05 baseline (range ≈35.5-36.3 [approx]), "
             "a few removals increase BLEU [exact]",
    "fig2a": "newstest2013 vs MTNT single-head ΔBLEU: Pearson r = 0.56, p < 0.001 [exact]",
    "fig3a": "WMT: up to 20% of heads pruned by I_h with no noticeable loss, then a sharp fall; I_h order better "
             "than the oracle order [exact]",
    "fig4": "Enc-Dec degrades fastest: pruning >60% of it is catastrophic; Enc-Enc and Dec-Dec give BLEU ≈30 "
            "(of 36) with 20% of their heads left [exact]",
    "fig5": "IWSLT unpruned BLEU 3.0/6.2/18.1/26.9/30.6/34.5/34.7/34.9 at epochs 1/2/3/5/10/20/30/40; epochs 1-2 "
            "degrade ~linearly; from epoch 10, 40% of heads prunable keeping 85-90% of BLEU [exact]",
}
PAPER_EPOCHS = {1: 3.0, 2: 6.2, 3: 18.1, 5: 26.9, 10: 30.6, 20: 34.5, 30: 34.7, 40: 34.9}


# ----------------------------------------------------------------------------- data and model


def _hub_pairs(spec: dict, split: str, n: int) -> list[tuple[str, str]]:
    """The first ``n`` (source, target) pairs of a hub translation data set (streamed)."""
    try:
        from datasets import load_dataset
    except ImportError as e:
        raise mt_missing("the `datasets` package (pip install 'replicate[hub]')") from e
    try:
        ds = load_dataset(spec["id"], spec.get("subset"), split=split, streaming=True)
    except Exception as e:  # noqa: BLE001 - any hub failure: say how to get the data
        raise mt_missing(f"hub data set {spec['id']}/{spec.get('subset')} split {split} ({e})") from e
    rows = []
    for ex in ds:
        tr = ex["translation"]
        rows.append((tr[spec["src"]].strip(), tr[spec["tgt"]].strip()))
        if len(rows) >= n:
            break
    return rows


def mt_missing(what: str):
    from replicate.data.corpora import MissingAssetError

    return MissingAssetError(f"michel2019.mt: {what} is not available; at paper scale run once with network "
                             "(HF_HUB_OFFLINE unset) or pre-download it with `huggingface-cli download`")


def prepare(params: dict, out_dir) -> dict:
    """Write ``train/valid/test/domain2.tsv`` (source<TAB>target) and, for the toy task, ``vocab.json``.

    Toy: sentences of the gensim Wikipedia sample cut to ``min_words``-``max_words`` words, target =
    :func:`mt.toy_target`; valid (the newstest2013 role) and test (newstest2014) are disjoint held-out
    samples, domain2 (the MTNT role) is Lee news text.  Hub: WMT splits named in the config."""
    from replicate.data import corpora

    d, seed = params["data"], params["seed"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if d["source"] == "toy":
        rng = np.random.default_rng(seed)
        wiki = mt.segments(corpora.wikipedia_paragraphs(), d["min_words"], d["max_words"])
        lee = mt.segments(corpora.lee_documents(), d["min_words"], d["max_words"])
        wiki = [wiki[i] for i in rng.permutation(len(wiki))]
        lee = [lee[i] for i in rng.permutation(len(lee))]
        nv, nt = d["valid"], d["test"]
        splits = {"valid": wiki[:nv], "test": wiki[nv: nv + nt], "train": wiki[nv + nt: nv + nt + d["train"]]}
        if d.get("domain2"):
            splits["domain2"] = lee[: d["domain2"]]
        for name, segs in splits.items():
            mt.write_pairs([(" ".join(s), " ".join(mt.toy_target(s, d["task"]))) for s in segs], out / f"{name}.tsv")
        vocab = mt.WordVocab.build(splits["train"], d["vocab"])
        vocab.save(out / "vocab.json")
        counts = {k: len(v) for k, v in splits.items()}
        unk = {k: float(np.mean([w not in vocab.stoi for s in v for w in s])) for k, v in splits.items()}
        stats = {"counts": counts, "unk_rate": unk, "vocab": len(vocab), "available": {"wikipedia": len(wiki), "lee": len(lee)}}
    elif d["source"] == "hub":
        splits = {"valid": (d["valid_split"], d["valid"]), "test": (d["test_split"], d["test"]),
                  "train": (d["importance_split"], params["importance_examples"])}
        counts = {}
        for name, (split, n) in splits.items():
            rows = _hub_pairs(d, split, n)
            mt.write_pairs(rows, out / f"{name}.tsv")
            counts[name] = len(rows)
        if d.get("domain2"):
            rows = _hub_pairs({**d, **d["domain2"]}, d["domain2"]["split"], d["domain2"]["n"])
            mt.write_pairs(rows, out / "domain2.tsv")
            counts["domain2"] = len(rows)
        stats = {"counts": counts}
    else:
        raise ValueError(f"michel2019.mt.data.source must be toy or hub, got {d['source']!r}")
    from replicate.data.prepare import write_json

    write_json(out / "stats.json", stats)
    return stats


def _batches(text, rows, batch_size):
    return mt.make_batches(text.encode([s for s, _ in rows]), text.encode([t for _, t in rows], target=True),
                           text.pad_id, batch_size)


def train_toy(data_dir, params: dict, out_dir) -> dict:
    """Train the toy MarianMTModel; the final model in ``out_dir``, fig5's checkpoints in ``epoch<k>/``."""
    from replicate.data.prepare import write_json

    cfg, seed = params["toy_model"], params["seed"]
    torch.manual_seed(seed)
    vocab = mt.WordVocab.load(Path(data_dir) / "vocab.json")
    train_b = _batches(vocab, mt.read_pairs(Path(data_dir) / "train.tsv"), cfg["batch_size"])
    valid_b = _batches(vocab, mt.read_pairs(Path(data_dir) / "valid.tsv"), cfg["batch_size"])
    model = mt.toy_model(len(vocab), cfg)
    out = Path(out_dir)

    def saver(path):
        def save(m):
            m.save_pretrained(path)
            shutil.copy(Path(data_dir) / "vocab.json", Path(path) / "vocab.json")
        return save

    epochs = sorted(set(params.get("fig5_epochs") or []))
    if epochs and epochs[-1] > cfg["epochs"]:
        raise ValueError(f"michel2019.mt.fig5_epochs {epochs} go beyond toy_model.epochs {cfg['epochs']}")
    t0 = time.perf_counter()
    res = mt.train(model, train_b, valid_b, cfg, {e: saver(out / f"epoch{e}") for e in epochs}, seed)
    res["time_s"] = time.perf_counter() - t0
    res["parameters"] = sum(p.numel() for p in model.parameters())
    saver(out)(model)
    write_json(out / "metrics.json", res)
    return res


def load(model: str | dict):
    """(text, model) for a toy model folder or a hub/local Marian spec, eval mode, float32."""
    from transformers import MarianMTModel

    if isinstance(model, str):
        m = MarianMTModel.from_pretrained(model, attn_implementation="eager", dtype=torch.float32)
        return mt.WordVocab.load(Path(model) / "vocab.json"), m.eval()
    from transformers import AutoTokenizer

    from replicate.data.sources import model_path

    path = model_path(model)
    try:
        tok = AutoTokenizer.from_pretrained(path)
        m = MarianMTModel.from_pretrained(path, attn_implementation="eager", dtype=torch.float32)
    except OSError as e:
        raise mt_missing(f"model {path}") from e
    return mt.HFText(tok), m.eval()


# ----------------------------------------------------------------------------- analysis


def _bleus(stats, tokenize):
    return [mt.bleu_from_stats(s, tokenize) for s in stats]


def _p_values(stats, base, params):
    return [mt.paired_bootstrap(s, base, params["bootstrap"], params["seed"]) for s in stats]


def _setup(model_spec, data_dir, params):
    torch.manual_seed(params["seed"])
    text, model = load(model_spec)
    model.to(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    inst = Instrument(model)
    rows = lambda name: mt.read_pairs(Path(data_dir) / f"{name}.tsv")  # noqa: E731
    imp_b = _batches(text, rows("train")[: params["importance_examples"]], params["batch_size"])
    return text, model, inst, rows, imp_b


def _scorer(model, inst, text, rows, params):
    return mt.Scorer(model, inst, text, [s for s, _ in rows], [t for _, t in rows], params)


def _importance(model, inst, imp_b, params):
    return heads.head_importance(model, inst, imp_b, abs_level=params["abs_level"], loss_fn=mt.seq2seq_loss)


def _curve(sc, order, fractions, tokenize):
    """BLEU with the first round(f * n) heads of ``order`` masked, for each fraction f (Michel §5)."""
    return _bleus(sc.sweep(heads.pruning_configs(order, fractions), "prune"), tokenize)


def analysis(model_spec, data_dir, params: dict) -> dict:
    """Every WMT-style target except fig5 in one job: single-head and all-but-one sweeps with paired
    bootstrap p-values (valid set), the held-out choice on test, I_h, pruning curves (all heads: I_h,
    oracle, random; per attention type: I_h), and the single-head sweep on the second domain."""
    text, model, inst, rows, imp_b = _setup(model_spec, data_dir, params)
    tk = params["bleu_tokenize"]
    R, H = inst.n_layers, inst.n_heads
    out = {"kinds": inst.kinds, "n_rows": R, "n_heads": H}
    t0 = time.perf_counter()
    valid = rows("valid")
    sc = _scorer(model, inst, text, valid, params)
    base = sc.stats()
    out.update(n_valid=len(valid), baseline=mt.bleu_from_stats(base, tk))
    single = sc.sweep(heads.single_head_configs(R, H, "mask"), "single heads")
    out["single"], out["single_p"] = _bleus(single, tk), _p_values(single, base, params)
    out["time_single_sweep_s"] = time.perf_counter() - t0
    keep = sc.sweep(heads.all_but_one_configs(R, H), "one head kept")
    out["keep_one"], out["keep_one_p"] = _bleus(keep, tk), _p_values(keep, base, params)
    # table5: the kept head chosen on valid (newstest2013's role), scored on test (newstest2014's)
    test = rows("test")
    sc_t = _scorer(model, inst, text, test, params)
    base_t = sc_t.stats()
    chosen = np.asarray(out["keep_one"]).reshape(R, H).argmax(1)
    kt = sc_t.sweep([{"mask": [(r, k) for k in range(H) if k != chosen[r]]} for r in range(R)], "held-out choice")
    out.update(n_test=len(test), baseline_test=mt.bleu_from_stats(base_t, tk), chosen=chosen.tolist(),
               keep_one_test=_bleus(kt, tk), keep_one_test_p=_p_values(kt, base_t, params))
    t1 = time.perf_counter()
    imp = _importance(model, inst, imp_b, params)
    out.update(importance=imp.tolist(), n_importance=sum(len(b["order"]) for b in imp_b),
               time_importance_s=time.perf_counter() - t1)
    fr = [round(x, 4) for x in np.arange(0, 1 + 1e-9, params["step"])]
    oracle = out["baseline"] - np.asarray(out["single"]).reshape(R, H)  # BLEU lost when masked
    orders = {"importance": heads.pruning_order(imp), "oracle": heads.pruning_order(oracle)}
    for k in range(params["random_orders"]):
        orders[f"random{k}"] = heads.pruning_order(imp, np.random.default_rng(params["seed"] + 1000 + k))
    out["fractions"] = fr
    out["curves"] = {name: _curve(sc, o, fr, tk) for name, o in orders.items()}
    out["type_curves"] = {}
    for kind in KINDS:
        rows_k = [r for r in range(R) if inst.kinds[r] == kind]
        sub = imp[rows_k]
        order = [(rows_k[l], h) for l, h in heads.pruning_order(sub)]
        out["type_curves"][kind] = _curve(sc, order, fr, tk)
    if (Path(data_dir) / "domain2.tsv").is_file():
        d2 = rows("domain2")
        sc2 = _scorer(model, inst, text, d2, params)
        out.update(n_domain2=len(d2), baseline_domain2=mt.bleu_from_stats(sc2.stats(), tk),
                   single_domain2=_bleus(sc2.sweep(heads.single_head_configs(R, H, "mask"), "domain 2"), tk))
    out["decodes"] = sc.decodes + sc_t.decodes + (sc2.decodes if "n_domain2" in out else 0)
    out["time_s"] = time.perf_counter() - t0
    return out


def epochs(checkpoints: dict, data_dir, params: dict) -> dict:
    """Fig 5: at each checkpoint {epoch: folder}, the unpruned BLEU and the I_h pruning curve
    (I_h computed at that checkpoint)."""
    out = {"fractions": [round(x, 4) for x in np.arange(0, 1 + 1e-9, params["step"])], "by_epoch": {}}
    t0 = time.perf_counter()
    for ep, path in sorted(checkpoints.items()):
        text, model, inst, rows, imp_b = _setup(path, data_dir, params)
        sc = _scorer(model, inst, text, rows("valid"), params)
        imp = _importance(model, inst, imp_b, params)
        curve = _curve(sc, heads.pruning_order(imp), out["fractions"], params["bleu_tokenize"])
        out["by_epoch"][str(ep)] = {"curve": curve, "baseline": curve[0]}
    out["time_s"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- targets


def _grid(res, values):
    return np.asarray(values, dtype=float).reshape(res["n_rows"], res["n_heads"])


def _rows_of(res, kind):
    return [r for r, k in enumerate(res["kinds"]) if k == kind]


def _stand_in(params):
    return "toy stand-in: " if params["mt"]["data"]["source"] == "toy" else ""


def table1(res: dict, params: dict, png, csv) -> dict:
    """Table 1: ΔBLEU for masking each encoder self-attention head, paired bootstrap significance."""
    from replicate import plots

    alpha, rows = params["mt"]["alpha"], _rows_of(res, "Enc-Enc")
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
    return {"paper": PAPER["table1"],
            "ours": f"{int(sig.sum())} of {sig.size} encoder heads significant (p < {alpha}), {int((sig & (delta > 0)).sum())} "
                    f"of them positive; ΔBLEU from {res['baseline']:.2f}: min {delta.min():+.2f}, max {delta.max():+.2f}",
            "verdict": "reproduced" if share_ns >= 0.75 else "not reproduced",
            "detail": f"{_stand_in(params)}finding: most heads are redundant at test time (criterion: ≥75% of encoder "
                      f"heads not significant; paper 92%); paired bootstrap over {res['n_valid']} sentences, "
                      f"{params['mt']['bootstrap']} resamples"}


def _keep_one(res, params, png, csv, held_out: bool):
    from replicate import plots

    alpha, H = params["mt"]["alpha"], res["n_heads"]
    paper = PAPER["table5" if held_out else "table2"]
    rows = []
    for kind in KINDS:
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
    for ax, kind in zip(axes, KINDS):
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


def table2(res: dict, params: dict, png, csv) -> dict:
    """Table 2: in each layer of each attention type keep only the best head (chosen and scored on valid)."""
    df, share_ok, worst = _keep_one(res, params, png, csv, held_out=False)
    holds = share_ok >= 0.5 and worst.attention == "Enc-Dec"
    return {"paper": "best ΔBLEU per layer, one head kept: Enc-Enc " + ", ".join(f"{x:+.2f}" for x in PAPER["table2"]["Enc-Enc"])
                     + "; Enc-Dec " + ", ".join(f"{x:+.2f}" for x in PAPER["table2"]["Enc-Dec"]) + "; Dec-Dec "
                     + ", ".join(f"{x:+.2f}" for x in PAPER["table2"]["Dec-Dec"]) + " [exact]",
            "ours": "; ".join(f"{k} " + ", ".join(f"{x:+.2f}" + ("*" if s else "") for x, s in
                                                  zip(df[df.attention == k].delta_bleu, df[df.attention == k].significant))
                              for k in KINDS),
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"{_stand_in(params)}finding: most layers can be cut to one head, the last Enc-Dec layer cannot "
                      f"(criterion: ≥50% of layers without a significant drop, and the worst layer is Enc-Dec); ours: "
                      f"{share_ok:.0%} without a significant drop; worst {worst.attention} layer {worst.layer} "
                      f"({worst.delta_bleu:+.2f}); * p < {params['mt']['alpha']}, paired bootstrap"}


def table5(res: dict, params: dict, png, csv) -> dict:
    """Table 5: as table 2 with the kept head chosen on valid (newstest2013) and Δ measured on test (newstest2014)."""
    df, share_ok, worst = _keep_one(res, params, png, csv, held_out=True)
    holds = share_ok >= 0.5
    return {"paper": "held-out choice: no significant change in 50% of WMT layers; Enc-Dec L6 -18.89* [exact]",
            "ours": f"{share_ok:.0%} of layers without a significant drop on test; worst {worst.attention} layer "
                    f"{worst.layer} {worst.delta_bleu:+.2f} (base {res['baseline_test']:.2f})",
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"{_stand_in(params)}finding: with the head chosen on held-out data, about half of the layers "
                      f"keep their BLEU with one head (criterion ≥50%); chosen on {res['n_valid']} valid sentences, "
                      f"scored on {res['n_test']} test sentences; paired bootstrap p < {params['mt']['alpha']}"}


def fig1a(res: dict, params: dict, png, csv) -> dict:
    """Fig 1(a): histogram of BLEU with one head masked, every head of every attention type."""
    from replicate import plots

    tol = params["mt"]["near_tolerance"]
    df = pd.DataFrame({"attention": np.repeat(res["kinds"], res["n_heads"]),
                       "row": np.repeat(np.arange(res["n_rows"]), res["n_heads"]),
                       "head": np.tile(np.arange(1, res["n_heads"] + 1), res["n_rows"]),
                       "bleu_masked": res["single"]})
    df["delta"] = df.bleu_masked - res["baseline"]
    df.round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.6))
    ax.hist([df[df.attention == k].bleu_masked for k in KINDS], bins=30, stacked=True, label=list(KINDS))
    ax.axvline(res["baseline"], color="black", ls="--", lw=1, label="unmasked")
    ax.set_xlabel("BLEU with one head masked")
    ax.set_ylabel("heads")
    ax.legend(fontsize=8)
    ax.set_title(f"michel2019/fig1(a) style: {len(df)} heads\n({plots.wrap_note(params['model_note'], 80)})", fontsize=9)
    plots.save(fig, png)
    near = float((df.delta.abs() <= tol).mean())
    return {"paper": PAPER["fig1a"],
            "ours": f"base {res['baseline']:.2f}; {near:.0%} of heads within {tol} BLEU; {int((df.delta > 0).sum())} "
                    f"removals increase BLEU; range {df.bleu_masked.min():.2f}-{df.bleu_masked.max():.2f}",
            "verdict": "reproduced" if near >= 0.75 else "not reproduced",
            "detail": f"{_stand_in(params)}finding: most heads sit near the baseline (criterion: ≥75% within "
                      f"{tol} BLEU); {res['n_valid']} valid sentences"}


def fig2a(res: dict, params: dict, png, csv) -> dict:
    """Fig 2(a): single-head ΔBLEU on the main set vs on a second domain."""
    from scipy import stats

    from replicate import plots

    a = np.asarray(res["single"]) - res["baseline"]
    b = np.asarray(res["single_domain2"]) - res["baseline_domain2"]
    pd.DataFrame({"attention": np.repeat(res["kinds"], res["n_heads"]), "head": np.tile(np.arange(1, res["n_heads"] + 1), res["n_rows"]),
                  "delta_valid": a, "delta_domain2": b}).round(6).to_csv(csv, index=False)
    r = heads.pearson(a, b)
    p = float(stats.pearsonr(a, b).pvalue) if r else 1.0
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(4.6, 4.2))
    for kind in KINDS:
        m = np.asarray(res["kinds"]).repeat(res["n_heads"]) == kind
        ax.scatter(a[m], b[m], s=14, alpha=0.75, label=kind)
    ax.axhline(0, color="#999999", lw=0.5)
    ax.axvline(0, color="#999999", lw=0.5)
    ax.set_xlabel(f"ΔBLEU, head masked: valid ({res['n_valid']} sentences)")
    ax.set_ylabel(f"ΔBLEU: second domain ({res['n_domain2']} sentences)")
    ax.legend(fontsize=7)
    ax.set_title(f"michel2019/fig2(a) style: r = {r:.2f} (paper 0.56)\n({plots.wrap_note(params['model_note'], 70)})", fontsize=8)
    plots.save(fig, png)
    return {"paper": PAPER["fig2a"],
            "ours": f"r = {r:.2f} (p = {p:.1g}) over {len(a)} heads; base BLEU valid {res['baseline']:.2f}, "
                    f"domain 2 {res['baseline_domain2']:.2f}",
            "verdict": "reproduced" if (r > 0.5 and p < 0.001) else "not reproduced",
            "detail": f"{_stand_in(params)}finding: a head's effect on one domain predicts its effect on the other "
                      f"(criterion: r > 0.5, p < 0.001)" + ("; domain 2 = Lee news text reversed by the same rule, "
                                                           "vs Wikipedia" if _stand_in(params) else "")}


def fig3a(res: dict, params: dict, png, csv) -> dict:
    """Fig 3(a): BLEU vs % heads pruned in I_h order, oracle order and random orders."""
    from replicate import plots

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
    from replicate.papers.michel2019 import curve_summary

    tol = params["mt"]["flat_tolerance"]
    flat, auc, holds = curve_summary(cv, fr, res["baseline"], tol, ("importance", "oracle"))
    return {"paper": PAPER["fig3a"],
            "ours": f"within {tol} BLEU up to: I_h {flat['importance']:.0%}, oracle {flat['oracle']:.0%}; mean BLEU "
                    "over the curve: " + ", ".join(f"{k} {v:.1f}" for k, v in auc.items()),
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"{_stand_in(params)}finding: ≥20% of heads prunable by I_h without noticeable loss (criterion: "
                      f"within {tol} BLEU) and I_h beats random on average; I_h once on {res['n_importance']} training "
                      f"pairs; I_h vs oracle: {'I_h ≥ oracle' if auc['importance'] >= auc['oracle'] else 'oracle better'}"}


def fig4(res: dict, params: dict, png, csv) -> dict:
    """Fig 4: pruning each attention type separately (I_h order within the type)."""
    from replicate import plots

    fr, tc = res["fractions"], res["type_curves"]
    pd.DataFrame([(k, f, s) for k in KINDS for f, s in zip(fr, tc[k])],
                 columns=["attention", "fraction_pruned", "bleu"]).round(6).to_csv(csv, index=False)
    plots.style()
    fig, ax = plots.plt.subplots(figsize=(6, 3.8))
    for k, mk in zip(KINDS, "o^s"):
        ax.plot(100 * np.asarray(fr), tc[k], f"-{mk}", label=k)
    ax.set_xlabel("% heads pruned within the attention type")
    ax.set_ylabel("BLEU")
    ax.legend(fontsize=8)
    ax.set_title(f"michel2019/fig4 style\n({plots.wrap_note(params['model_note'], 80)})", fontsize=9)
    plots.save(fig, png)
    mean = {k: float(np.mean(tc[k])) for k in KINDS}
    at80 = {k: float(np.interp(0.8, fr, tc[k])) for k in KINDS}
    holds = min(mean, key=mean.get) == "Enc-Dec"
    return {"paper": PAPER["fig4"],
            "ours": "mean BLEU over the curve: " + ", ".join(f"{k} {v:.1f}" for k, v in mean.items())
                    + "; with 20% of heads left: " + ", ".join(f"{k} {v:.1f}" for k, v in at80.items())
                    + f" (unpruned {res['baseline']:.1f})",
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"{_stand_in(params)}finding: Enc-Dec attention is the most sensitive to pruning (criterion: "
                      "lowest mean BLEU over the pruning curve)"}


def fig5(res: dict, params: dict, png, csv) -> dict:
    """Fig 5: I_h pruning curves at several training epochs (relative to each epoch's unpruned BLEU)."""
    from replicate import plots

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
    holds = rel40[last] >= 0.85 and rel40[first] < rel40[last]
    return {"paper": PAPER["fig5"],
            "ours": "unpruned BLEU " + ", ".join(f"epoch {e} {res['by_epoch'][e]['baseline']:.1f}" for e in eps)
                    + "; % of BLEU kept at 40% pruned: " + ", ".join(f"epoch {e} {100 * v:.0f}%" for e, v in rel40.items()),
            "verdict": "reproduced" if holds else "not reproduced",
            "detail": f"{_stand_in(params)}finding: late in training 40% of heads can go keeping ≥85% of BLEU, early "
                      f"checkpoints degrade more (criterion: last epoch ≥85% at 40% pruned and more than the first); "
                      f"I_h recomputed at each checkpoint"}

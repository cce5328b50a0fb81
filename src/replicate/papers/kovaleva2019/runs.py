"""Kovaleva et al. (2019) runs: one analysis per task (the head and layer sweeps of figs 8-9, then one
attention pass per model for figs 5, 6, 7 and the pattern maps of figs 1-2) and the pattern CNN
over every task's maps (figs 1-2).  Methods: :mod:`replicate.methods.heads` (sweeps, attention
statistics), :mod:`replicate.methods.patterns` (rule labeller and CNN),
:mod:`replicate.methods.tokenfeatures` (spaCy features)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from replicate.data import sources
from replicate.data.agreement import load_spacy
from replicate.data.io import write_json
from replicate.data.prepare import read_sentences
from replicate.instrument import Instrument
from replicate.methods import heads, patterns as pattern_methods, tokenfeatures
from replicate.methods.stats import is_regression
from replicate.methods.tokenfeatures import is_punct
from replicate.models.training import is_regression_model


def categories(tok):
    cls, sep = tok.cls_token, tok.sep_token
    return {"cls": lambda t: t == cls, "sep": lambda t: t == sep, "punct": is_punct}


def task_analysis(model_dir, data_dir, params: dict) -> dict:
    """Everything one task's targets need, from one fine-tuned classifier: the head and layer
    sweeps (figs 8-9, layer-cached), then ONE attention pass per model (pre-trained and
    fine-tuned) over the test sentences for figs 5, 6, 7 and the pattern maps of figs 1-2.

    ``arrays`` (the pattern maps) is written beside the JSON as an ``.npz`` file.
    """
    torch.manual_seed(params["seed"])
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    metric = params.get("metric", "accuracy")
    regression = is_regression(metric)
    if regression != is_regression_model(model):
        raise ValueError(f"{model_dir}: the task's metric is {metric!r} but the model "
                         f"{'is not' if regression else 'is'} a regression head: re-run its finetune_classifier job")
    inst = Instrument(model)
    test = read_sentences(f"{data_dir}/test.tsv", regression)
    rng = np.random.default_rng(params["seed"])
    if len(test) > params["examples"]:
        test = [test[i] for i in sorted(rng.choice(len(test), params["examples"], replace=False))]
    L, H = inst.n_layers, inst.n_heads
    score = heads.metric(metric)  # figs 8-9: the task's metric (corr for STS-B)

    batches = heads.make_batches(tok, test, params["max_length"], params["batch_size"])
    out = {"n_layers": L, "n_heads": H, "n_test": len(test), "metric": metric}
    t0 = time.perf_counter()
    cache = heads.LayerCache(model, inst, batches)
    out["baseline"] = score(cache.logits(0), heads.labels_of(batches))
    out["single"] = heads.sweep(model, inst, cache, heads.single_head_configs(L, H, "uniform"), score)
    out["time_single_sweep_s"] = time.perf_counter() - t0
    out["layer"] = heads.sweep(model, inst, cache, heads.layer_configs(L, H, "uniform"), score)
    out["time_sweeps_s"] = time.perf_counter() - t0
    del cache

    t0 = time.perf_counter()
    texts = [s for s, _ in test]
    nlp = load_spacy(params["spacy_model"])
    positions = tokenfeatures.feature_positions(tok, nlp, texts, params["max_length"])
    out["time_spacy_s"] = time.perf_counter() - t0
    _, pre = sources.load_hf(params["pretrained"], "encoder")
    pre_inst = Instrument(pre)
    cats = categories(tok)
    shares = {m: {c: heads.MeanOver() for c in cats} for m in ("finetuned", "pretrained")}
    cls_row = {m: heads.MeanOver() for m in ("finetuned", "pretrained")}
    cosine = heads.MeanOver()
    pat = params["patterns"]
    rules = {k: pat[k] for k in pattern_methods.DEFAULT_RULES if k in pat}
    n_pat = min(pat["examples"], len(texts))
    pattern_sentences = set(sorted(rng.choice(len(texts), n_pat, replace=False).tolist()))
    maps = {k: [] for k in ("x", "label", "sentence", "layer", "head", "masses", "length")}
    pattern_tokens = {}

    def visit(i, tokens, m_pre, m_ft):
        if tokens != positions[i]["tokens"]:
            raise ValueError(f"sentence {i}: feature positions were computed on other tokens")
        for name, mm in (("finetuned", m_ft), ("pretrained", m_pre)):
            for c, v in heads.key_shares(tokens, mm, cats).items():
                shares[name][c].add(v)
            cls_row[name].add(tokenfeatures.cls_row_features(mm[-1], positions[i]))
        cosine.add(heads.map_cosine(m_pre, m_ft))
        if i in pattern_sentences:
            pattern_tokens[str(i)] = tokens
            special = np.array([cats["cls"](t) or cats["sep"](t) or is_punct(t) for t in tokens])
            for l, a in enumerate(m_ft):
                for h in range(a.shape[0]):
                    m = pattern_methods.rule_masses(a[h], special, rules.get("offsets", (-1, 1)))
                    maps["x"].append(pattern_methods.fixed_size(a[h], pat["size"]).astype(np.float16))
                    maps["label"].append(pattern_methods.rule_label(m, rules))
                    maps["masses"].append([m["V"], m["D"], m["B"], m["B_uniform"]])
                    for k, v in (("sentence", i), ("layer", l), ("head", h), ("length", len(tokens))):
                        maps[k].append(v)

    t0 = time.perf_counter()
    heads.paired_attention_pass(pre, pre_inst, model, inst, tok, texts, visit, params["max_length"])
    out["time_attention_pass_s"] = time.perf_counter() - t0
    for name in ("finetuned", "pretrained"):
        out[f"shares_{name}"] = {c: a.mean().tolist() for c, a in shares[name].items()}
        out[f"cls_row_{name}"] = np.nan_to_num(cls_row[name].mean(), nan=-1.0).tolist()
    out["cls_row_features"] = list(tokenfeatures.FEATURES)
    out["cls_row_examples"] = cls_row["finetuned"].count[:, 0].astype(int).tolist()
    out["cosine"] = cosine.mean().tolist()
    out["pattern_tokens"] = pattern_tokens
    out["arrays"] = {"x": np.stack(maps["x"]), "masses": np.asarray(maps["masses"]),
                     **{k: np.asarray(maps[k]) for k in ("label", "sentence", "layer", "head", "length")}}
    return out


def patterns_run(npz: dict, analyses: dict, params: dict) -> dict:
    """Figs 1-2: the CNN trained on the rule labels of every task's maps (``npz[task]``), its
    held-out agreement and per-task shares, and one example map per class (with its tokens)."""
    t0 = time.perf_counter()
    maps = {task: dict(np.load(path)) for task, path in npz.items()}
    res = pattern_methods.classify(maps, {**params["cnn"], "size": params["patterns"]["size"], "seed": params["seed"]})
    res["time_cnn_s"] = time.perf_counter() - t0
    res["examples"] = []
    for pick in pattern_methods.examples(maps, res):
        m, k = maps[pick["task"]], pick["index"]
        n = int(min(m["length"][k], params["patterns"]["size"]))
        tokens = analyses[pick["task"]]["pattern_tokens"][str(int(m["sentence"][k]))]
        res["examples"].append({**pick, "layer": int(m["layer"][k]) + 1, "head": int(m["head"][k]) + 1,
                                "tokens": tokens if len(tokens) <= n else [], "masses": m["masses"][k].round(4).tolist(),
                                "map": np.asarray(m["x"][k][:n, :n], dtype=float).round(4).tolist()})
    for task in res["tasks"].values():
        del task["heldout"], task["cnn_label"]
    return res


def analysis(args: dict, outputs: dict, params: dict) -> None:
    """One task's analysis: ``outputs['json']`` (everything but the maps) and ``outputs['npz']`` (the pattern maps)."""
    res = task_analysis(args["model"], args["data"], params)
    arrays = res.pop("arrays")
    tmp = Path(outputs["npz"]).with_name(f".{Path(outputs['npz']).name}")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    os.replace(tmp, outputs["npz"])
    write_json(outputs["json"], res)
    print(f"baseline {res['baseline']:.3f}; single-head sweep {res['time_single_sweep_s']:.1f} s")


def patterns(args: dict, outputs: dict, params: dict) -> None:
    """Figs 1-2: the CNN over every task's maps (``args``: ``npz_<task>``, ``json_<task>``, read in the order of
    ``params['tasks']``)."""
    npz = {t: args[f"npz_{t}"] for t in params["tasks"]}
    analyses = {t: json.loads(Path(args[f"json_{t}"]).read_text()) for t in params["tasks"]}
    res = patterns_run(npz, analyses, params)
    write_json(outputs["json"], res)
    print(f"CNN vs rules: macro-F1 {res['macro_f1']:.3f}, accuracy {res['accuracy']:.3f}; {res['time_cnn_s']:.1f} s")

"""michel2019 runs on a fine-tuned classifier: the one analysis pass (figs 1(b), 3(b), tables 3, 6), the
pruning curves of other tasks (fig 6), the two-domain sweep (fig 2(b)) and the timing of actual pruning
(table 4).  Methods live in :mod:`replicate.methods.heads`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from replicate.data import sources
from replicate.data.io import write_json
from replicate.data.prepare import read_sentences
from replicate.instrument import Instrument
from replicate.methods import heads, pruning
from replicate.methods.stats import is_regression


def _fractions(step: float) -> list[float]:
    return [round(x, 4) for x in np.arange(0, 1 + 1e-9, step)]


def _curves(model, inst, cache, train_b, params, baseline, metric, extra: dict) -> dict:
    """Pruning curves (fig3, fig6) on the cached test batches: heads masked in increasing order of
    I_h (computed once on ``train_b``), of attention confidence, of each score in ``extra``, and in
    ``params['random_orders']`` random orders."""
    out = {}
    t0 = time.perf_counter()
    imp = heads.head_importance(model, inst, train_b, abs_level=params["abs_level"])
    out["time_importance_s"] = time.perf_counter() - t0
    out["importance"] = imp.tolist()
    conf = heads.attention_confidence(inst, model, train_b)
    out["confidence"] = conf.tolist()
    fractions = _fractions(params["step"])
    out["fractions"] = fractions
    orders = {"importance": pruning.pruning_order(imp), "confidence": pruning.pruning_order(conf)}
    orders.update({name: pruning.pruning_order(np.asarray(score)) for name, score in extra.items()})
    for k in range(params["random_orders"]):
        orders[f"random{k}"] = pruning.pruning_order(imp, np.random.default_rng(params["seed"] + 1000 + k))
    t0 = time.perf_counter()
    out["curves"] = {name: heads.pruning_curve(model, inst, cache, order, fractions, metric=metric, baseline=baseline)
                     for name, order in orders.items()}
    out["time_curves_s"] = time.perf_counter() - t0
    return out


def _subsample(rows: list, n: int | None, rng) -> list:
    if n and len(rows) > n:
        return [rows[i] for i in sorted(rng.choice(len(rows), n, replace=False))]
    return rows


def curves_of(model_dir, data_dir, params: dict) -> dict:
    """Fig 6: I_h / confidence / random pruning curves of one task's fine-tuned classifier,
    scored with the task's metric on its test split (the method of fig3, without the oracle)."""
    torch.manual_seed(params["seed"])
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    inst = Instrument(model)
    rng = np.random.default_rng(params["seed"])
    regression = is_regression(params["metric"])  # STS-B: corr, and I_h from the squared-error loss
    test = _subsample(read_sentences(f"{data_dir}/test.tsv", regression), params.get("examples"), rng)
    train = _subsample(read_sentences(f"{data_dir}/train.tsv", regression), params["importance_examples"], rng)
    bs, ml = params["batch_size"], params["max_length"]
    test_b, train_b = heads.make_batches(tok, test, ml, bs), heads.make_batches(tok, train, ml, bs)
    score = heads.metric(params["metric"])
    cache = heads.LayerCache(model, inst, test_b)
    base = score(cache.logits(0), heads.labels_of(test_b))
    out = {"task": params["task"], "metric": params["metric"], "n_layers": inst.n_layers, "n_heads": inst.n_heads,
           "n_test": len(test), "n_importance": len(train), "baseline": base}
    out.update(_curves(model, inst, cache, train_b, params, base, score, {}))
    return out


def domain_instances(agreement_dir, exclude_files: list, domains: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Fig 2 stand-in data: the verb-number instances of each source corpus, as (prefix sentence,
    label 1 = plural), leaving out every sentence of ``exclude_files`` (the task's training and
    validation splits, so that both domains are held out)."""
    from replicate.data.agreement import read_tsv

    seen = {s for f in exclude_files for s, _ in read_sentences(f)}
    out = {d: [] for d in domains}
    for split in ("train", "valid", "test"):
        for r in read_tsv(f"{agreement_dir}/{split}.tsv"):
            if "source" not in r:
                raise ValueError(f"{agreement_dir}/{split}.tsv has no source column: rebuild it "
                                 "(snakemake --forcerun prepare_agreement)")
            text = " ".join(r["prefix"])
            if r["source"] in out and text not in seen:
                out[r["source"]].append((text, int(r["label"] == "plural")))
    for d, rows in out.items():
        if len(rows) < 10:
            raise ValueError(f"fig2: only {len(rows)} held-out agreement instances from {d!r}")
    return out


def domains_of(model_dir, agreement_dir, exclude_files: list, params: dict, task_dirs: dict | None = None) -> dict:
    """Fig 2: per head, the single-head masking effect and I_h on two domains' held-out data:
    the agreement instances of two source corpora (``agreement_dir``), or the test splits of two
    prepared tasks (``task_dirs``: domain -> folder; MNLI-m / MNLI-mm at paper scale)."""
    torch.manual_seed(params["seed"])
    cfg = params["fig2"]
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    inst = Instrument(model)
    if task_dirs:
        data = {d: read_sentences(f"{task_dirs[d]}/test.tsv") for d in cfg["domains"]}
    else:
        data = domain_instances(agreement_dir, exclude_files, cfg["domains"])
    n = min(cfg["examples"], *(len(v) for v in data.values()))  # the same size in both domains: the same noise
    rng = np.random.default_rng(params["seed"])
    L, H = inst.n_layers, inst.n_heads
    out = {"n_layers": L, "n_heads": H, "domains": cfg["domains"], "n_per_domain": n,
           "available": {d: len(v) for d, v in data.items()}, "by_domain": {}}
    t0 = time.perf_counter()
    for d in cfg["domains"]:
        rows = _subsample(data[d], n, rng)
        b = heads.make_batches(tok, rows, params["max_length"], params["batch_size"])
        cache = heads.LayerCache(model, inst, b)
        base = heads.accuracy(cache.logits(0), heads.labels_of(b))
        single = heads.sweep(model, inst, cache, heads.single_head_configs(L, H, "mask"))
        imp = heads.head_importance(model, inst, b, abs_level=params["abs_level"])
        out["by_domain"][d] = {"baseline": base, "single": single, "importance": imp.tolist(),
                               "plural_share": float(np.mean([y for _, y in rows]))}
    out["time_s"] = time.perf_counter() - t0
    return out


def timing_of(model_dir, data_dir, importance: list, params: dict) -> dict:
    """Table 4: examples/s of the classifier and of a copy with the lowest-I_h heads removed."""
    cfg = params["table4"]
    torch.manual_seed(params["seed"])
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    rng = np.random.default_rng(params["seed"])
    test = _subsample(read_sentences(f"{data_dir}/test.tsv"), cfg["examples"], rng)
    imp = np.asarray(importance)
    L, H = imp.shape
    to_prune = pruning.prune_map(pruning.pruning_order(imp), cfg["prune_fraction"], H, min_per_layer=1)
    batches = {bs: heads.make_batches(tok, test, params["max_length"], bs) for bs in cfg["batch_sizes"]}
    out = heads.pruned_speedup(model, batches, to_prune, repeats=cfg["repeats"])
    return {**out, "pruned": {str(l): hs for l, hs in to_prune.items()}, "n_pruned": sum(map(len, to_prune.values())),
            "n_heads_total": L * H, "threads": torch.get_num_threads(), "repeats": cfg["repeats"],
            "n_examples": len(test)}


def _main_model(model_dir, data_dir, params: dict):
    """The fine-tuned classifier, its test batches and the training batches for I_h (the same seeded
    subsamples for both halves of the analysis)."""
    torch.manual_seed(params["seed"])
    tok, model = sources.load_hf({"source": "local", "path": model_dir}, "classifier")
    inst = Instrument(model)
    test = read_sentences(f"{data_dir}/test.tsv")
    train = read_sentences(f"{data_dir}/train.tsv")
    rng = np.random.default_rng(params["seed"])
    if params.get("examples") and len(test) > params["examples"]:
        test = [test[i] for i in sorted(rng.choice(len(test), params["examples"], replace=False))]
    if len(train) > params["importance_examples"]:
        train = [train[i] for i in sorted(rng.choice(len(train), params["importance_examples"], replace=False))]
    bs, ml = params["batch_size"], params["max_length"]
    test_b, train_b = heads.make_batches(tok, test, ml, bs), heads.make_batches(tok, train, ml, bs)
    out = {"n_layers": inst.n_layers, "n_heads": inst.n_heads, "n_test": len(test), "n_importance": len(train),
           "metric": "accuracy", "task": params["model"]["task"]}
    return tok, model, inst, train, test_b, train_b, out


def analysis_of(model_dir, data_dir, params: dict) -> dict:
    """The masking sweeps on the fine-tuned classifier (figs 1(b), 3(b)'s oracle curve, tables 3, 6):
    every single head masked, every layer reduced to one head (on the test set and on held-out
    training sentences), and the pruning curve in the order of the single-head effects."""
    tok, model, inst, train, test_b, _, out = _main_model(model_dir, data_dir, params)
    bs, ml = params["batch_size"], params["max_length"]
    held = train[: params["heldout_examples"]]  # table6: the head is chosen on these training sentences
    held_b = heads.make_batches(tok, held, ml, bs)
    L, H = inst.n_layers, inst.n_heads
    t0 = time.perf_counter()
    cache = heads.LayerCache(model, inst, test_b)
    out["baseline"] = heads.accuracy(cache.logits(0), heads.labels_of(test_b))
    out["single"] = heads.sweep(model, inst, cache, heads.single_head_configs(L, H, "mask"))
    out["time_single_sweep_s"] = time.perf_counter() - t0
    out["keep_one_test"] = heads.sweep(model, inst, cache, heads.all_but_one_configs(L, H))
    train_cache = heads.LayerCache(model, inst, held_b)
    out["n_heldout"] = len(held)
    out["baseline_train"] = heads.accuracy(train_cache.logits(0), heads.labels_of(held_b))
    out["keep_one_train"] = heads.sweep(model, inst, train_cache, heads.all_but_one_configs(L, H))
    # ties in accuracy (a model that fits its training sentences) are broken by the gold labels' log-likelihood
    out["keep_one_train_loglik"] = heads.sweep(model, inst, train_cache, heads.all_but_one_configs(L, H),
                                               metric=heads.log_likelihood)
    del train_cache
    oracle = np.asarray(out["baseline"]) - np.asarray(out["single"]).reshape(L, H)  # loss of accuracy when masked
    out["fractions"] = _fractions(params["step"])
    out["curves"] = {"oracle": heads.pruning_curve(model, inst, cache, pruning.pruning_order(oracle), out["fractions"],
                                                   metric=heads.accuracy, baseline=out["baseline"])}
    return out


def importance_of(model_dir, data_dir, params: dict) -> dict:
    """I_h and attention confidence on training sentences, and the pruning curves in their orders and in
    random orders (fig 3(b), fig 6's main task, table 4's pruning choice); a job of its own so that it
    runs beside :func:`analysis_of`."""
    _, model, inst, _, test_b, train_b, out = _main_model(model_dir, data_dir, params)
    cache = heads.LayerCache(model, inst, test_b)
    out["baseline"] = heads.accuracy(cache.logits(0), heads.labels_of(test_b))
    out.update(_curves(model, inst, cache, train_b, params, out["baseline"], heads.accuracy, {}))
    return out


# ----------------------------------------------------------------------------- run functions


def analysis(args: dict, outputs: dict, params: dict) -> None:
    res = analysis_of(args["model"], args["data"], params)
    write_json(outputs["json"], res)
    print(f"baseline {res['baseline']:.3f}; single-head sweep {res['time_single_sweep_s']:.1f} s")


def importance(args: dict, outputs: dict, params: dict) -> None:
    res = importance_of(args["model"], args["data"], params)
    write_json(outputs["json"], res)
    print(f"baseline {res['baseline']:.3f}; importance {res['time_importance_s']:.1f} s, curves {res['time_curves_s']:.1f} s")


def curves(args: dict, outputs: dict, params: dict) -> None:
    res = curves_of(args["model"], args["data"], params)
    write_json(outputs["json"], res)
    print(f"{res['task']}: {res['metric']} {res['baseline']:.3f}; importance {res['time_importance_s']:.1f} s, "
          f"curves {res['time_curves_s']:.1f} s")


def domains(args: dict, outputs: dict, params: dict) -> None:
    if "agreement" in args:
        res = domains_of(args["model"], args["agreement"], [f"{args['exclude']}/{s}.tsv" for s in ("train", "valid")],
                         params)
    else:
        res = domains_of(args["model"], None, [], params, task_dirs=args["tasks"])
    write_json(outputs["json"], res)
    print(f"{res['n_per_domain']} sentences per domain; {res['time_s']:.1f} s")


def timing(args: dict, outputs: dict, params: dict) -> None:
    importance = json.loads(Path(args["importance"]).read_text())["importance"]
    res = timing_of(args["model"], args["data"], importance, params)
    write_json(outputs["json"], res)
    print(json.dumps(res["rows"], indent=1))

"""michel2019 translation runs: the data (toy reversal of Wikipedia/Lee text, or WMT from the hub), the toy
MarianMTModel trained here (with fig5's checkpoints), and the analysis passes of tables 1, 2, 5 and figs
1(a), 2(a), 3(a), 4 (``analysis``) and fig 5 (``epochs``).

Default scale: a 3+3-layer, 8-head MarianMTModel trained here to reverse the word order of real Wikipedia
sentences (a toy stand-in for the WMT14 En-Fr big Transformer and the IWSLT model); paper scale:
Helsinki-NLP/opus-mt-en-fr on newstest2013/2014.  Gate rows are the attention layers of each type
(``Instrument.kinds``): Enc-Enc, then Dec-Dec, then Enc-Dec.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from replicate.instrument import KINDS, Instrument
from replicate.methods import heads, pruning
from replicate.models import mt


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


def prepare_data(params: dict, out_dir) -> dict:
    """Write ``train/valid/test/domain2.tsv`` (source<TAB>target) and, for the toy task, ``vocab.json``.

    Toy: sentences of the gensim Wikipedia sample cut to ``min_words``-``max_words`` words, target =
    :func:`mt.toy_target`; valid (the newstest2013 role) and test (newstest2014) are disjoint held-out
    samples, each the first sentences of a block of ``held_out`` (default: the larger of the two) set aside
    before the training pairs, so the training pairs do not depend on the evaluation sizes; domain2 (the
    MTNT role) is Lee news text.  Hub: WMT splits named in the config."""
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
        block = d.get("held_out") or max(nv, nt)
        splits = {"valid": wiki[:nv], "test": wiki[block: block + nt], "train": wiki[2 * block: 2 * block + d["train"]]}
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
    from replicate.data.io import write_json

    write_json(out / "stats.json", stats)
    return stats


def _batches(text, rows, batch_size):
    return mt.make_batches(text.encode([s for s, _ in rows]), text.encode([t for _, t in rows], target=True),
                           text.pad_id, batch_size)


def train_toy(data_dir, params: dict, out_dir) -> dict:
    """Train the toy MarianMTModel; the final model in ``out_dir``, fig5's checkpoints in ``epoch<k>/``."""
    from replicate.data.io import write_json

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
    return _bleus(sc.sweep(pruning.pruning_configs(order, fractions), "prune"), tokenize)


def analysis_of(model_spec, data_dir, params: dict) -> dict:
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
    orders = {"importance": pruning.pruning_order(imp), "oracle": pruning.pruning_order(oracle)}
    for k in range(params["random_orders"]):
        orders[f"random{k}"] = pruning.pruning_order(imp, np.random.default_rng(params["seed"] + 1000 + k))
    out["fractions"] = fr
    out["curves"] = {name: _curve(sc, o, fr, tk) for name, o in orders.items()}
    out["type_curves"] = {}
    for kind in KINDS:
        rows_k = [r for r in range(R) if inst.kinds[r] == kind]
        sub = imp[rows_k]
        order = [(rows_k[l], h) for l, h in pruning.pruning_order(sub)]
        out["type_curves"][kind] = _curve(sc, order, fr, tk)
    if (Path(data_dir) / "domain2.tsv").is_file():
        d2 = rows("domain2")
        sc2 = _scorer(model, inst, text, d2, params)
        out.update(n_domain2=len(d2), baseline_domain2=mt.bleu_from_stats(sc2.stats(), tk),
                   single_domain2=_bleus(sc2.sweep(heads.single_head_configs(R, H, "mask"), "domain 2"), tk))
    out["decodes"] = sc.decodes + sc_t.decodes + (sc2.decodes if "n_domain2" in out else 0)
    out["time_s"] = time.perf_counter() - t0
    return out


def epochs_of(checkpoints: dict, data_dir, params: dict) -> dict:
    """Fig 5: at each checkpoint {epoch: folder}, the unpruned BLEU and the I_h pruning curve
    (I_h computed at that checkpoint)."""
    out = {"fractions": [round(x, 4) for x in np.arange(0, 1 + 1e-9, params["step"])], "by_epoch": {}}
    t0 = time.perf_counter()
    for ep, path in sorted(checkpoints.items()):
        text, model, inst, rows, imp_b = _setup(path, data_dir, params)
        sc = _scorer(model, inst, text, rows("valid"), params)
        imp = _importance(model, inst, imp_b, params)
        curve = _curve(sc, pruning.pruning_order(imp), out["fractions"], params["bleu_tokenize"])
        out["by_epoch"][str(ep)] = {"curve": curve, "baseline": curve[0]}
    out["time_s"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------- run functions


def prepare(args: dict, outputs: dict, params: dict) -> None:
    print(json.dumps(prepare_data(params, Path(outputs["stats"]).parent), indent=1))


def train(args: dict, outputs: dict, params: dict) -> None:
    res = train_toy(args["data"], params, Path(outputs["config"]).parent)
    print(json.dumps(res["curve"][-1]), f"{res['time_s']:.1f} s")


def analysis(args: dict, outputs: dict, params: dict) -> None:
    from replicate.data.io import write_json

    res = analysis_of(args["model"], args["data"], params)
    write_json(outputs["json"], res)
    print(f"{res['time_s']:.1f} s")


def epochs(args: dict, outputs: dict, params: dict) -> None:
    from replicate.data.io import write_json

    res = epochs_of({e: f"{args['model']}/epoch{e}" for e in params["epochs"]}, args["data"], params)
    write_json(outputs["json"], res)
    print(f"{res['time_s']:.1f} s")

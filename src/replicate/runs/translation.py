"""The shared translation runs (declared in :mod:`replicate.runs.shared`):

* ``parallel`` (:func:`prepare`): the shipped LibreOffice help pairs (:mod:`replicate.data.libreoffice`),
  validated, shuffled with the seed and split into train / dev / test, plus separate source and target
  sentencepiece models trained on the training split;
* ``translation`` (:func:`train`): a small MarianMTModel (:mod:`replicate.models.nmt`) trained on the split,
  with dev/test BLEU (sacrebleu, greedy decoding) in ``metrics.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from replicate.data.io import write_json
from replicate.models import mt, nmt


def prepare(args, outputs, params) -> None:
    from replicate.data import libreoffice

    rows = libreoffice.load_pairs(libreoffice.corpus_path(params["pair"], params.get("folder")))
    rng = np.random.default_rng(params["seed"])
    rows = [rows[i] for i in rng.permutation(len(rows))]
    nd, nt = params["dev"], params["test"]
    limit = params.get("limit_train")
    splits = {"dev": rows[:nd], "test": rows[nd: nd + nt], "train": rows[nd + nt:][: limit or None]}
    if min(len(v) for v in splits.values()) < 1:
        raise ValueError(f"parallel corpus {params['pair']}: {len(rows)} pairs cannot fill dev {nd} + test {nt} + train")
    for name, part in splits.items():
        mt.write_pairs(part, outputs[name])
    src = nmt.train_sentencepiece([s for s, _ in splits["train"]], outputs["src_spm"], params["vocab"], params["seed"])
    tgt = nmt.train_sentencepiece([t for _, t in splits["train"]], outputs["tgt_spm"], params["vocab"], params["seed"])
    lens = [len(x) for x in src.encode([s for s, _ in splits["train"]])]
    write_json(outputs["stats"], {"pair": params["pair"], **{k: len(v) for k, v in splits.items()},
                                  "src_vocab": len(src), "tgt_vocab": len(tgt),
                                  "mean_src_tokens": float(np.mean(lens)),
                                  "mean_src_words": float(np.mean([len(s.split()) for s, _ in splits["train"]]))})


def batches(text_src, text_tgt, rows, params, max_len=None):
    max_len = max_len or params["max_len"]
    src = text_src.encode([s for s, _ in rows], max_len=max_len)
    tgt = text_tgt.encode([t for _, t in rows], max_len=max_len) if text_tgt is not None else None
    return mt.make_batches(src, tgt, nmt.PAD_ID, params["batch_size"])


def translate(model, text_src, text_tgt, sources: list[str], params: dict) -> list[str]:
    b = batches(text_src, None, [(s, "") for s in sources], params)
    ids = mt.decode(model, b, params.get("beams", 1), params["max_new_tokens"])
    return [text_tgt.decode(x) for x in ids]


def evaluate_bleu(model, text_src, text_tgt, rows, params) -> float:
    hyps = translate(model, text_src, text_tgt, [s for s, _ in rows], params)
    return mt.bleu(hyps, [t for _, t in rows], tokenize=params.get("bleu_tokenize", "13a"))


def train(args, outputs, params) -> None:
    from replicate.models.training import seed_everything

    torch.set_num_threads(params["threads"])
    data = Path(args["data"])
    src, tgt = nmt.SPText(data / "src.model"), nmt.SPText(data / "tgt.model")
    rows = {k: nmt.read_split(data / f"{k}.tsv") for k in ("train", "dev", "test")}
    seed_everything(params["seed"])
    model = nmt.build_model(len(src), len(tgt), params)
    device = params.get("device", "cpu")
    model.to(device)
    t0 = time.time()
    result = mt.train(model, batches(src, tgt, rows["train"], params), batches(src, tgt, rows["dev"], params),
                      params, {}, params["seed"])
    seconds = time.time() - t0
    model.eval()
    out_dir = Path(outputs["config"]).parent
    model.save_pretrained(out_dir)
    metrics = {"dev_bleu": evaluate_bleu(model, src, tgt, rows["dev"], params),
               "test_bleu": evaluate_bleu(model, src, tgt, rows["test"], params),
               "train_seconds": seconds, "parameters": sum(p.numel() for p in model.parameters()),
               "curve": result["curve"], "train_pairs": len(rows["train"])}
    write_json(outputs["metrics"], metrics)
    print(json.dumps({k: v for k, v in metrics.items() if k != "curve"}))

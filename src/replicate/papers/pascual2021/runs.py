"""pascual2021 runs: the dependency-parsed sentences and the word-level attention and head-output
attribution maps on them (table1)."""

from __future__ import annotations

import json
import time

import numpy as np
import torch

from replicate.data.prepare import prepare_deps as _prepare_deps
from replicate.data.prepare import read_deps
from replicate.methods import identifiability as idf
from replicate.methods import syntax
from replicate.runs.hta import load_model


def prepare_deps(args: dict, outputs: dict, params: dict) -> None:
    """Run function: :func:`replicate.data.prepare.prepare_deps` of ``args['source']`` (the pairs file or a
    CoNLL-U treebank) into ``outputs['deps']``."""
    print(json.dumps(_prepare_deps(params, args["source"], outputs["deps"]), indent=1))


def _select_sentences(tok, sentences, params):
    """``n_sentences`` parsed sentences (a seeded random choice, kept in file order) with at least
    ``min_words`` words and at most ``max_tokens`` WordPiece tokens as ``[CLS] words [SEP]``."""
    ok = []
    for k, sent in enumerate(sentences):
        if len(sent["words"]) < params["min_words"]:
            continue
        enc = tok(sent["words"], is_split_into_words=True)
        ids = [w for w in enc.word_ids() if w is not None]
        if len(enc["input_ids"]) <= params["max_tokens"] and len(set(ids)) == len(sent["words"]):
            ok.append(k)
    if not ok:
        raise ValueError(f"no parsed sentence has >= {params['min_words']} words and <= {params['max_tokens']} tokens")
    rng = np.random.default_rng(params["seed"])
    chosen = sorted(rng.choice(ok, size=min(params["n_sentences"], len(ok)), replace=False))
    return [sentences[k] for k in chosen]


def deps_run(args: dict, outputs: dict, params: dict) -> None:
    """Word-level attention and head-output attribution maps (L, H, W, W) of the selected parsed
    sentences (one unpadded ``[CLS] sentence [SEP]`` each): one npz."""
    torch.manual_seed(params["seed"])
    tok, model, inst = load_model(params)
    sents = _select_sentences(tok, read_deps(args["deps"]), params)
    store, seconds = {}, []
    for ex, sent in enumerate(sents):
        enc = tok(sent["words"], is_split_into_words=True, return_tensors="pt")
        ids, word_ids = enc["input_ids"][0], enc.word_ids(0)
        t0 = time.perf_counter()
        _, heads, _ = idf.hta(model, inst, ids, probes=params["probes"], chunk=params["chunk"], seed=params["seed"] + ex)
        seconds.append(time.perf_counter() - t0)
        att, _, _ = idf.attention_and_values(model, inst, ids)
        store[f"attention_{ex}"] = syntax.word_level(att.double().numpy(), word_ids).astype(np.float32)
        store[f"attribution_{ex}"] = syntax.word_level(heads, word_ids).astype(np.float32)
        print(f"sentence {ex}: {len(sent['words'])} words, {len(ids)} tokens, {seconds[-1]:.1f} s", flush=True)
    np.savez_compressed(outputs["npz"], n=len(sents), probes=-1 if params["probes"] is None else params["probes"],
                        sentences=np.array(json.dumps(sents)), **store)
    print(json.dumps({"sentences": len(sents), "words": int(sum(len(s["words"]) for s in sents)),
                      "seconds_per_sentence": float(np.mean(seconds))}, indent=1))

"""The shared Wikipedia sentence-pairs run (declared in :mod:`replicate.runs.shared`) and the
helpers that read the pairs: ``[CLS] s1 [SEP] s2 [SEP]`` inputs of a BERT-like model."""

from __future__ import annotations

import json

from replicate.data.prepare import prepare_pairs, read_pairs, select_by_length


def prepare(args: dict, outputs: dict, params: dict) -> None:
    """Run function: :func:`replicate.data.prepare.prepare_pairs` into ``outputs['pairs']``."""
    print(json.dumps(prepare_pairs(params, outputs["pairs"]), indent=1))


def select(pairs_path, params) -> list[dict]:
    """``params['n_pairs']`` pairs spread over ``[min_tokens, max_tokens]`` (seeded by ``params['seed']``)."""
    return select_by_length(read_pairs(pairs_path), params["n_pairs"], params["min_tokens"], params["max_tokens"],
                            params["seed"])


def encode(tok, pair):
    """Token ids (1-D tensor) and tokens of one pair."""
    enc = tok(pair["s1"], pair["s2"], return_tensors="pt")
    ids = enc["input_ids"][0]
    return ids, tok.convert_ids_to_tokens(ids.tolist())

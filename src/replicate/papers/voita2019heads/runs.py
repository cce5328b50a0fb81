"""voita2019heads runs on the shared translation model: ``analysis`` (confidence, z+ LRP head relevance and head
functions of the encoder heads, on held-out source sentences parsed with spaCy), ``prune`` (Hard Concrete gates
with the relaxed L0 penalty, one lambda per run: encoder heads with the decoder frozen, or all attention types),
and ``scratch`` (the same kept/removed configuration trained from random initialisation)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from replicate.data.io import write_json
from replicate.instrument import Instrument
from replicate.methods import hardconcrete as hc
from replicate.methods import headroles, lrp, syntax
from replicate.models import mt, nmt
from replicate.runs import translation


def _setup(params):
    from replicate.models.training import seed_everything

    torch.set_num_threads(params["threads"])
    seed_everything(params["seed"])


def analysis(args, outputs, params) -> None:
    import spacy

    _setup(params)
    data, model_dir = Path(args["data"]), args["model"]
    src, tgt = nmt.SPText(data / "src.model"), nmt.SPText(data / "tgt.model")
    model = nmt.load_model(model_dir)
    inst = Instrument(model)
    enc_rows = [i for i, k in enumerate(inst.kinds) if k == "Enc-Enc"]
    test = nmt.read_split(data / "test.tsv")[: params["sentences"]]
    train_src = [s for s, _ in nmt.read_split(data / "train.tsv")]
    counts = Counter(i for ids in src.encode(train_src) for i in ids[:-1])
    rank = {i: r for r, (i, _) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}

    # encoder attention maps of every analysis sentence (real tokens only, </s> last)
    maxlen = params["max_len"]
    ids = src.encode([s for s, _ in test], max_len=maxlen)
    maps = []
    for i in range(0, len(ids), params["batch_size"]):
        chunk = ids[i: i + params["batch_size"]]
        from replicate.models.training import pad_batch

        x, mask = pad_batch(chunk, nmt.PAD_ID)
        with torch.no_grad(), inst.recording() as att:
            model(input_ids=x, attention_mask=mask.long(), decoder_input_ids=torch.zeros(len(chunk), 1, dtype=torch.long))
        for j, s in enumerate(chunk):
            n = len(s)
            maps.append(np.stack([att[r][j, :, :n, :n].numpy() for r in enc_rows]))
    conf = headroles.confidence(maps)
    pos = headroles.positional_shares(maps)
    rare, n_rare = headroles.rare_token_shares(maps, [s[:-1] for s in ids], rank, params["rare_top"])

    # spaCy parses of the source sentences; word-level maps where the pieces align to spaCy tokens
    nlp = spacy.load(params["spacy_model"], exclude=["ner", "lemmatizer"])
    sents, wmaps = [], []
    for (s, _), m, tok_ids in zip(test, maps, ids):
        if len(tok_ids) >= maxlen:  # truncated: the parse would not match
            continue
        doc = nlp(s)
        w = syntax.piece_word_ids(src.sp.encode(s, out_type=str), s, [t.idx for t in doc])
        if w is None or len(w) != m.shape[-1]:
            continue
        sents.append({"heads": [t.head.i + 1 if t.head.i != t.i else 0 for t in doc],
                      "deprels": [t.dep_ if t.head.i != t.i else "ROOT" for t in doc]})
        wmaps.append(headroles.to_words(m, w))
    base = headroles.offset_baseline(sents)
    synt = headroles.syntactic_scores(wmaps, sents)
    functions = headroles.assign_functions(pos, synt, base, rare, params["positional_min"], params["syntactic_margin"],
                                           params["rare_min_share"])

    # z+ LRP head relevance (teacher-forced on the references)
    lrp_rows = test[: params["lrp_sentences"]]
    rel = []
    for b in translation.batches(src, tgt, lrp_rows, {"max_len": maxlen, "batch_size": params["batch_size"]}):
        b = {k: v for k, v in b.items() if k != "order"}
        rel.append(lrp.head_relevance(model, inst, b))
    relevance = np.concatenate(rel, 0).mean(0)  # (rows, H): every attention layer

    # rare-token head examples (fig5): sentences with a rare token, the rare head's maps
    rl, rh = np.unravel_index(int(np.nanargmax(rare)), rare.shape) if np.isfinite(rare).any() else (0, 0)
    examples = []
    for m, tok_ids in zip(maps, ids):
        r = [rank.get(i, len(rank)) for i in tok_ids[:-1]]
        if r and max(r) >= params["rare_top"] and 6 <= len(tok_ids) <= 14:
            examples.append({"tokens": src.sp.id_to_piece(tok_ids[:-1]) + ["</s>"], "map": m[rl, rh].round(4).tolist(),
                             "rarest": int(np.argmax(r))})
        if len(examples) >= params["example_sentences"]:
            break
    write_json(outputs["json"], {
        "kinds": inst.kinds, "enc_rows": enc_rows, "confidence": conf.tolist(),
        "positional": {str(k): v.tolist() for k, v in pos.items()},
        "rare_share": np.nan_to_num(rare, nan=-1).tolist(), "rare_sentences": n_rare, "rare_head": [int(rl), int(rh)],
        "relevance": relevance.tolist(),
        "baseline": {r: {"offset": v[0], "share": v[1], "n": v[2], "distribution": {str(k): x for k, x in v[3].items()}}
                     for r, v in base.items()},
        "syntactic": {f"{r}|{d}": {"acc": a.tolist(), "n": n, "label": headroles.label(r, d)}
                      for (r, d), (a, n) in synt.items()},
        "functions": functions, "sentences": len(test), "parsed": len(sents), "lrp_sentences": len(lrp_rows),
        "examples": examples})


def _bleu(model, src, tgt, rows, params) -> float:
    return translation.evaluate_bleu(model, src, tgt, rows, params)


def prune(args, outputs, params) -> None:
    _setup(params)
    data = Path(args["data"])
    src, tgt = nmt.SPText(data / "src.model"), nmt.SPText(data / "tgt.model")
    device = translation.device_of(params)
    model = nmt.load_model(args["model"], device)
    inst = Instrument(model)
    if params["types"] == "encoder":
        rows = [i for i, k in enumerate(inst.kinds) if k == "Enc-Enc"]
        enc = model.get_encoder()
        trainable = list(enc.parameters())  # the source embeddings and the encoder (decoder frozen)
    else:
        rows, trainable = list(range(inst.n_layers)), None
    gates = hc.HeadGates(len(rows), inst.n_heads, seed=params["seed"])
    if params.get("reference"):  # the same fine-tuning with every gate fixed open (g = 1): the BLEU reference
        gates.log_alpha.data.fill_(20.0)
        params = {**params, "lam": 0.0, "gate_lr": 0.0}
    train_rows = nmt.read_split(data / "train.tsv")
    b = translation.to_device(translation.batches(src, tgt, train_rows, params), device)
    curve = hc.fit_gates(model, inst, gates, rows, b, params, params["seed"], trainable=trainable)
    g = inst.gates.clone()
    test = nmt.read_split(data / "test.tsv")
    bleu = _bleu(model, src, tgt, test, params)
    la = gates.log_alpha.detach()
    write_json(outputs["json"], {
        "lam": params["lam"], "types": params["types"], "reference": bool(params.get("reference")), "kinds": inst.kinds, "rows": rows,
        "gates": g.tolist(), "log_alpha": la.tolist(), "open": (g > 0).int().tolist(),
        "binarised_open": (hc.p_one(la) > hc.p_closed(la)).int().tolist(),
        "bleu": bleu, "curve": curve})


def scratch(args, outputs, params) -> None:
    """The kept/removed configuration of a ``prune`` run (its open gates, fixed at 0/1) trained from random
    initialisation with the shared model's recipe; BLEU on the test split."""
    from replicate.models.training import seed_everything

    _setup(params)
    data = Path(args["data"])
    src, tgt = nmt.SPText(data / "src.model"), nmt.SPText(data / "tgt.model")
    pruned = json.loads(Path(args["pruned"]).read_text())
    seed_everything(params["seed"])
    device = translation.device_of(params)
    model = nmt.build_model(len(src), len(tgt), params).to(device)
    inst = Instrument(model)
    mask = torch.as_tensor(pruned["open"], dtype=torch.float32)
    inst.gates = mask
    rows = {k: nmt.read_split(data / f"{k}.tsv") for k in ("train", "dev", "test")}
    result = mt.train(model, translation.to_device(translation.batches(src, tgt, rows["train"], params), device),
                      translation.to_device(translation.batches(src, tgt, rows["dev"], params), device), params, {},
                      params["seed"])
    model.eval()
    write_json(outputs["json"], {"lam": pruned["lam"], "open": pruned["open"], "kinds": pruned["kinds"],
                                 "bleu": _bleu(model, src, tgt, rows["test"], params), "pruned_bleu": pruned["bleu"],
                                 "curve": result["curve"]})

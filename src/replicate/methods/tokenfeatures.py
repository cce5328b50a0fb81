"""Linguistic features of WordPiece positions (Kovaleva et al. 2019, §4.6-4.7 of the card).

A sentence (or a sentence pair) is parsed with spaCy and tokenised with the model's tokenizer;
each feature is the set of wordpiece positions whose characters lie inside a spaCy token with
that feature (character offsets, not the notebook's first-string-match lookup):

* NOUN: tags NN, NNP, NNPS, NNS; VERB: VB, VBD, VBG, VBN, VBP, VBZ; PRON: PRP, PRP$;
* SUBJ: dependencies nsubj, nsubjpass, csubj, csubjpass, agent, expl;
* OBJ: dobj, iobj, dative, attr, oprd;
* NEG: the paper's word list, matched as whole words on the raw text (``don't`` as written);
* PUNCT: wordpieces made of punctuation only; [CLS]: position 0; [SEP]: every [SEP].
"""

from __future__ import annotations

import re
import string

import numpy as np

FEATURES = ("PRON", "NOUN", "VERB", "OBJ", "SUBJ", "NEG", "PUNCT", "[CLS]", "[SEP]")
TAGS = {"NOUN": {"NN", "NNP", "NNPS", "NNS"}, "VERB": {"VB", "VBD", "VBG", "VBN", "VBP", "VBZ"},
        "PRON": {"PRP", "PRP$"}}
DEPS = {"SUBJ": {"nsubj", "nsubjpass", "csubj", "csubjpass", "agent", "expl"},
        "OBJ": {"dobj", "iobj", "dative", "attr", "oprd"}}
NEGATIONS = ("neither", "nor", "not", "never", "none", "don't", "won't", "didn't", "hadn't", "haven't", "can't",
             "isn't", "wasn't", "shouldn't", "couldn't", "nothing", "nowhere")
_NEG = re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(w) for w in NEGATIONS) + r")(?![\w'])", re.IGNORECASE)
PUNCT = set(string.punctuation)


def is_punct(token: str) -> bool:
    return len(token) > 0 and all(c in PUNCT for c in token)


def _char_features(doc, text: str) -> list[tuple[int, int, str]]:
    """(start, end, feature) character spans of one parsed text."""
    spans = []
    for t in doc:
        for feat, tags in TAGS.items():
            if t.tag_ in tags:
                spans.append((t.idx, t.idx + len(t.text), feat))
        for feat, deps in DEPS.items():
            if t.dep_ in deps:
                spans.append((t.idx, t.idx + len(t.text), feat))
    spans += [(m.start(), m.end(), "NEG") for m in _NEG.finditer(text)]
    return spans


def feature_positions(tok, nlp, texts: list, max_length: int = 128, docs: list | None = None) -> list[dict]:
    """For each text (a string or a pair), ``{"tokens": [...], feature: [positions]}``.

    ``docs``: spaCy docs of the texts (pairs: a tuple of two docs), to reuse a parse.
    """
    if docs is None:
        flat = [t for text in texts for t in (text if isinstance(text, tuple) else (text,))]
        parsed = iter(nlp.pipe(flat, batch_size=64))
        docs = [tuple(next(parsed) for _ in text) if isinstance(text, tuple) else next(parsed) for text in texts]
    out = []
    for text, doc in zip(texts, docs):
        parts, part_docs = (text, doc) if isinstance(text, tuple) else ((text,), (doc,))
        if isinstance(text, tuple):
            enc = tok(parts[0], parts[1], truncation=True, max_length=max_length, return_offsets_mapping=True)
        else:
            enc = tok(text, truncation=True, max_length=max_length, return_offsets_mapping=True)
        tokens = tok.convert_ids_to_tokens(enc["input_ids"])
        seq_ids = enc.sequence_ids()
        spans = [_char_features(d, p) for p, d in zip(parts, part_docs)]
        feats = {f: [] for f in FEATURES}
        for pos, (tokname, (a, b), sid) in enumerate(zip(tokens, enc["offset_mapping"], seq_ids)):
            if tokname == tok.cls_token:
                feats["[CLS]"].append(pos)
            elif tokname == tok.sep_token:
                feats["[SEP]"].append(pos)
            if sid is None:
                continue
            if is_punct(tokname):
                feats["PUNCT"].append(pos)
            for s, e, feat in spans[sid]:
                if a < e and b > s and pos not in feats[feat]:
                    feats[feat].append(pos)
        out.append({"tokens": tokens, **feats})
    return out


def cls_row_features(last_layer: np.ndarray, positions: dict, features=FEATURES) -> np.ndarray:
    """Kovaleva fig7 for one sentence: attention of the [CLS] query (row 0) of each head of one
    layer ``(H, T, T)`` to each feature, the maximum over the feature's positions;
    NaN where the sentence has no such token.  Returns (len(features), H)."""
    row = last_layer[:, 0, :]
    out = np.full((len(features), row.shape[0]), np.nan)
    for k, feat in enumerate(features):
        pos = positions.get(feat, [])
        if pos:
            out[k] = row[:, pos].max(1)
    return out

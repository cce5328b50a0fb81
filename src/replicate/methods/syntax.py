"""Dependency probing of attention heads (Clark et al. 2019, "What does BERT look at?", §4).

Each head is read as a classifier that predicts the syntactic head of a word: the word it puts
the most weight on.  Any (layers, heads, T, T) map works: attention, or an attribution map whose
rows are distributions over the input tokens (Pascual et al. 2021 compare the two).

* :func:`word_level` — token-to-token maps to word-to-word maps as Clark et al. do: the weight
  *to* a split word is the sum over its pieces, the weight *from* a split word is the mean over
  its pieces.  Special tokens ([CLS], [SEP]; word id ``None``/-1) are dropped, so a prediction is
  always a word of the sentence.
* :func:`head_predictions` — the predicted head of every word for every map: the argmax over the
  other words' columns (ties: the first).
* :func:`relation_accuracy` — per dependency relation, the accuracy of every map at pointing from
  the dependent to its head (root arcs are skipped); :func:`best_heads` — the best single head per
  relation and over all arcs.
* :func:`offset_baseline` — the fixed-offset baseline: per relation, the most frequent relative
  position of the head (head index - dependent index) and its accuracy.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

ALL = "all relations"


def piece_word_ids(pieces: list[str], text: str, token_starts: list[int]) -> list[int] | None:
    """For each sentencepiece piece of ``text`` (pieces never cross whitespace; "▁" marks a word start) the
    index of the parser token it falls in, given each token's character offset (``token_starts``, e.g. spaCy's
    ``t.idx``), followed by -1 for the appended ``</s>``; None when the lengths disagree (normalised characters)
    or a token gets no piece."""
    words = text.split()
    groups, cur = [], None
    for p in pieces:
        if p.startswith("▁") or cur is None:
            cur = []
            groups.append(cur)
        cur.append(p.lstrip("▁") if p.startswith("▁") else p)
    groups = [g for g in groups if "".join(g)] if len(groups) != len(words) else groups
    if len(groups) != len(words):
        return None
    starts, pos = [], 0
    for w in words:  # character offset of each whitespace word
        pos = text.index(w, pos)
        starts.append(pos)
        pos += len(w)
    tok_starts = np.asarray(token_starts)
    ids = []
    for g, w0, w in zip(groups, starts, words):
        if sum(len(x) for x in g) != len(w):
            return None
        off = w0
        for x in g:
            ids.append(max(int(np.searchsorted(tok_starts, off, side="right")) - 1, 0))
            off += len(x)
    if len(ids) != len(pieces) or set(ids) != set(range(len(tok_starts))):
        return None
    return ids + [-1]


def word_level(maps: np.ndarray, word_ids) -> np.ndarray:
    """(..., T, T) token maps -> (..., W, W) word maps: sum over the attended-to pieces of a word,
    mean over the attending pieces.  ``word_ids``: T word indices (0..W-1), ``None`` or a negative
    number for special tokens, which are dropped."""
    ids = np.array([-1 if w is None else int(w) for w in word_ids])
    n_words = int(ids.max()) + 1 if (ids >= 0).any() else 0
    onehot = np.zeros((len(ids), n_words))
    keep = ids >= 0
    onehot[np.flatnonzero(keep), ids[keep]] = 1.0
    if (onehot.sum(0) == 0).any():
        raise ValueError("every word needs at least one token")
    mean_from = onehot / onehot.sum(0, keepdims=True)  # (T, W): averaging weights over a word's pieces
    return np.einsum("tw,...ts,sv->...wv", mean_from, np.asarray(maps, np.float64), onehot)


def head_predictions(word_maps: np.ndarray) -> np.ndarray:
    """(..., W, W) word maps -> (..., W) predicted head word (0-based) of each word: the column of
    the largest weight, the word itself excluded."""
    m = np.array(word_maps, np.float64, copy=True)
    w = m.shape[-1]
    m[..., np.arange(w), np.arange(w)] = -np.inf
    return m.argmax(-1)


def arcs(sentences: list[dict]) -> list[tuple[int, int, int, str]]:
    """(sentence, dependent, head, relation) of every non-root arc; indices 0-based.  Each sentence
    is ``{"heads": [...], "deprels": [...]}`` with CoNLL-U heads (1-based, 0 = root)."""
    out = []
    for s, sent in enumerate(sentences):
        for d, (h, rel) in enumerate(zip(sent["heads"], sent["deprels"])):
            if h > 0:
                out.append((s, d, h - 1, rel))
    return out


def relation_accuracy(predictions: list[np.ndarray], sentences: list[dict], min_count: int = 1) -> dict:
    """Accuracy of every map per relation: ``{relation: (acc (...,), n_arcs)}``.

    ``predictions``: per sentence, (..., W) predicted heads from :func:`head_predictions` (the
    leading axes, e.g. layer and head, are kept).  Relations with fewer than ``min_count`` arcs
    are left out; :data:`ALL` pools every arc.
    """
    by_rel: dict[str, list] = {}
    for s, d, h, rel in arcs(sentences):
        hit = predictions[s][..., d] == h
        by_rel.setdefault(rel, []).append(hit)
        by_rel.setdefault(ALL, []).append(hit)
    return {rel: (np.mean(hits, 0), len(hits)) for rel, hits in by_rel.items() if len(hits) >= min_count or rel == ALL}


def best_heads(accuracy: dict) -> dict:
    """``{relation: (index of the best map as a tuple, accuracy, n_arcs)}`` from :func:`relation_accuracy`
    (ties: the first map in C order, i.e. the lowest layer, then head)."""
    out = {}
    for rel, (acc, n) in accuracy.items():
        idx = np.unravel_index(int(np.argmax(acc)), np.shape(acc))
        out[rel] = (tuple(int(i) for i in idx), float(acc[idx]), n)
    return out


def offset_baseline(sentences: list[dict], min_count: int = 1) -> dict:
    """``{relation: (offset, accuracy, n_arcs)}``: the most frequent head offset (head - dependent)
    per relation and the share of its arcs at that offset (ties: the offset closest to 0, then the
    negative one)."""
    by_rel: dict[str, list] = {}
    for _, d, h, rel in arcs(sentences):
        by_rel.setdefault(rel, []).append(h - d)
        by_rel.setdefault(ALL, []).append(h - d)
    out = {}
    for rel, offs in by_rel.items():
        if len(offs) < min_count and rel != ALL:
            continue
        counts = Counter(offs)
        off = min(counts, key=lambda o: (-counts[o], abs(o), o))
        out[rel] = (int(off), counts[off] / len(offs), len(offs))
    return out

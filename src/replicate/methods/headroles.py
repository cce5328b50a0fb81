"""Head functions of Voita et al. (2019, §4-§5) from attention maps (any (L, H, T, T) maps per sentence,
token order, the last token ``</s>``):

* :func:`confidence` — a head's mean, over query tokens (``</s>`` excluded), of its maximum attention weight;
* :func:`positional_shares` — how often a head's most-attended key is the token at offset -1 / +1; a head is
  positional when one share is at least 0.9 (§5.1);
* :func:`syntactic_scores` — per dependency relation and direction (dependent -> head and head -> dependent),
  how often the most-attended word (word-level maps: sum over the attended word's pieces, mean over the
  attending word's pieces) is the arc's other end; the baseline (:func:`offset_baseline`) is the share of arcs
  at the most frequent relative position of the dependent (dependent - head): for dobj +2 (determiners) (§5.2);
* :func:`rare_token_shares` — in sentences whose rarest token is outside the ``top`` most frequent tokens, how
  often a query's most-attended key is that rarest token (§5.3);
* :func:`assign_functions` — the Fig. 1(c) labels: positional, else syntactic (a relation at least ``margin``
  above its baseline), else the rare-token head.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from replicate.methods.syntax import word_level

RELATIONS = ("nsubj", "dobj", "amod", "advmod")
SHORT = {"nsubj": ("v", "s"), "dobj": ("v", "o"), "amod": ("n", "a"), "advmod": ("v", "adv")}


def confidence(maps: list[np.ndarray]) -> np.ndarray:
    """(L, H) mean over the query tokens of the maximum attention weight, ``</s>`` excluded as query and key
    (not renormalised; the card's recommendation)."""
    return np.mean(np.concatenate([m[:, :, :-1, :-1].max(-1) for m in maps], -1), -1)


def positional_shares(maps: list[np.ndarray]) -> dict[int, np.ndarray]:
    """``{-1: (L, H), +1: (L, H)}``: share of query tokens (``</s>`` excluded, and the key ``</s>`` left out
    of the argmax) whose most-attended key is at that offset, among the queries that have such a neighbour."""
    hits = {-1: [], 1: []}
    for m in maps:
        t = m.shape[-1] - 1
        if t < 2:
            continue
        arg = m[:, :, :t, :t].argmax(-1)  # (L, H, t)
        q = np.arange(t)
        for off in hits:
            ok = (q + off >= 0) & (q + off < t)
            hits[off].append(arg[:, :, ok] == (q[ok] + off))
    return {off: np.mean(np.concatenate(v, -1), -1) for off, v in hits.items()}


def offset_baseline(sentences: list[dict], relations=RELATIONS) -> dict:
    """``{relation: (offset, share, n_arcs, {offset: share})}``: the distribution of the dependent's position
    relative to its head (dependent - head) and its mode (ties: the offset nearest to 0, then negative)."""
    offs: dict[str, list] = {r: [] for r in relations}
    for s in sentences:
        for d, (h, rel) in enumerate(zip(s["heads"], s["deprels"])):
            if h > 0 and rel in offs:
                offs[rel].append(d - (h - 1))
    out = {}
    for rel, o in offs.items():
        if not o:
            continue
        c = Counter(o)
        mode = min(c, key=lambda k: (-c[k], abs(k), k))
        out[rel] = (int(mode), c[mode] / len(o), len(o), {int(k): v / len(o) for k, v in sorted(c.items())})
    return out


def syntactic_scores(word_maps: list[np.ndarray], sentences: list[dict], relations=RELATIONS) -> dict:
    """``{(relation, direction): (acc (L, H), n)}`` with direction ``dep2head`` or ``head2dep``;
    ``word_maps``: per sentence (L, H, W, W) word-level maps (:func:`to_words`)."""
    hits: dict = {}
    for wm, s in zip(word_maps, sentences):
        m = np.array(wm, copy=True)
        w = m.shape[-1]
        m[..., np.arange(w), np.arange(w)] = -np.inf
        pred = m.argmax(-1)  # (L, H, W)
        for d, (h, rel) in enumerate(zip(s["heads"], s["deprels"])):
            if h > 0 and rel in relations:
                hits.setdefault((rel, "dep2head"), []).append(pred[:, :, d] == h - 1)
                hits.setdefault((rel, "head2dep"), []).append(pred[:, :, h - 1] == d)
    return {k: (np.mean(v, 0), len(v)) for k, v in hits.items()}


def label(rel: str, direction: str) -> str:
    head, dep = SHORT.get(rel, ("h", rel))
    return f"{dep}→{head}" if direction == "dep2head" else f"{head}→{dep}"


def to_words(maps: np.ndarray, word_ids: list[int]) -> np.ndarray:
    """Token maps (L, H, T, T) -> word maps (L, H, W, W); ``word_ids``: per token its word, -1 for ``</s>``."""
    return word_level(maps, word_ids)


def rare_token_shares(maps: list[np.ndarray], token_ids: list[list[int]], rank: dict, top: int = 500) -> tuple[np.ndarray, int]:
    """(L, H) share of query tokens (``</s>`` excluded) whose most-attended key is the sentence's rarest
    token, over the sentences whose rarest token has frequency rank >= ``top`` (``rank``: id -> 0-based
    rank in the training counts, unseen ids last); and the number of such sentences."""
    out, n = [], 0
    for m, ids in zip(maps, token_ids):
        ids = list(ids)[: m.shape[-1] - 1]
        if len(ids) < 2:
            continue
        r = [rank.get(i, len(rank)) for i in ids]
        k = int(np.argmax(r))
        if r[k] < top:
            continue
        n += 1
        out.append(m[:, :, : len(ids)].argmax(-1) == k)
    if not out:
        return np.full(maps[0].shape[:2], np.nan), 0
    return np.mean(np.concatenate(out, -1), -1), n


def assign_functions(pos: dict, synt: dict, base: dict, rare: np.ndarray, pos_min: float = 0.9,
                     margin: float = 0.10, rare_min: float = 0.25) -> list[list[str]]:
    """Per head a label: ``+1`` / ``-1`` (positional), ``s→v`` etc. (syntactic: the relation most above its
    baseline, if by at least ``margin``), ``r`` (the one head with the largest rare-token share, if at least
    ``rare_min``), else ``""``."""
    L, H = pos[-1].shape
    out = [["" for _ in range(H)] for _ in range(L)]
    rare_head = None
    if rare is not None and np.isfinite(rare).any():
        idx = np.unravel_index(int(np.nanargmax(rare)), rare.shape)
        if rare[idx] >= rare_min:
            rare_head = (int(idx[0]), int(idx[1]))
    for l in range(L):
        for h in range(H):
            best_off = max((-1, 1), key=lambda o: pos[o][l, h])
            if pos[best_off][l, h] >= pos_min:
                out[l][h] = f"{best_off:+d}"
                continue
            gains = [(acc[l, h] - base[rel][1], label(rel, d)) for (rel, d), (acc, _) in synt.items() if rel in base]
            if gains:
                g, name = max(gains)
                if g >= margin:
                    out[l][h] = name
                    continue
            if rare_head == (l, h):
                out[l][h] = "r"
    return out


def function_kind(lbl: str) -> str:
    if lbl in ("+1", "-1"):
        return "positional"
    if lbl == "r":
        return "rare"
    return "syntactic" if lbl else "none"

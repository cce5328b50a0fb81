"""Token identifiability (Brunner et al. 2020, §4): map hidden tokens back to input embeddings.

* :func:`fit_linear` — a linear map with bias fitted by least squares (the optimum of the L2
  loss; the paper trains with Adam and early stopping, which approaches the same optimum).
* :func:`identification_rate` — a hidden token is identified when the nearest candidate input
  token (L2 or cosine distance) of its mapped vector is its own input token.  Candidates: the
  input tokens of the same sequence (``groups``), or all input tokens given.
"""

from __future__ import annotations

import numpy as np


def fit_linear(x: np.ndarray, y: np.ndarray, ridge: float = 1e-6) -> np.ndarray:
    """(D_in + 1, D_out) weights of ``y ≈ [x, 1] W`` by (slightly regularised) least squares, float64."""
    xb = np.hstack([x, np.ones((len(x), 1))]).astype(np.float64)
    gram = xb.T @ xb
    gram[np.diag_indices_from(gram)] += ridge * np.trace(gram) / len(gram)
    return np.linalg.solve(gram, xb.T @ y.astype(np.float64))


def apply_linear(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ w


def _distances(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    if metric == "l2":
        return (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]
    if metric == "cosine":
        an = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
        bn = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-12)
        return 1 - an @ bn.T
    raise ValueError(f"metric must be l2 or cosine, got {metric!r}")


def _hits(d: np.ndarray) -> np.ndarray:
    """Row i is a hit when its own candidate i is (one of) the nearest: identical input vectors (the
    same token at the same position in two sequences, e.g. [CLS]) tie and count as identified."""
    own = np.diagonal(d)
    return own <= d.min(1) + 1e-9 * np.abs(d).max(1).clip(1e-12)


def identification_rate(pred: np.ndarray, inputs: np.ndarray, groups: np.ndarray | None, metric: str) -> float:
    """Share of rows i whose nearest row of ``inputs`` (within the same group, or among all) is row i."""
    pred, inputs = np.asarray(pred, np.float64), np.asarray(inputs, np.float64)
    if groups is None:
        return float(_hits(_distances(pred, inputs, metric)).mean())
    hits = 0
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        hits += int(_hits(_distances(pred[idx], inputs[idx], metric)).sum())
    return hits / len(pred)

"""Representational similarity between models (Abnar et al.'s ``distill/repsim_util.py``; the blog post
"Visualizing Model Comparison") and its 2-D MDS picture.

1. per model, the n x n cosine similarity of its representations of the same n examples;
2. between two models, the cosine of corresponding rows of those matrices, averaged over rows
   (second-order similarity, the diagonal kept); distance = 1 - similarity;
3. the m x m distance matrix divided by its maximum and embedded in 2-D with scikit-learn's MDS.
"""

from __future__ import annotations

import numpy as np


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def first_order(reps) -> np.ndarray:
    """n x n cosine similarity of the rows of ``reps`` (n, d)."""
    r = _unit_rows(np.asarray(reps).reshape(len(reps), -1))
    return r @ r.T


def second_order(reps_a, reps_b, batch_size: int | None = None) -> float:
    """Mean row-wise cosine of the first-order matrices of two models on the same examples; with
    ``batch_size``, computed per batch of examples and averaged over batches (the original: 64)."""
    a, b = np.asarray(reps_a), np.asarray(reps_b)
    if len(a) != len(b):
        raise ValueError(f"RSA needs the same examples: {len(a)} vs {len(b)} rows")
    step = batch_size or len(a)
    sims = []
    for i in range(0, len(a), step):
        sa, sb = _unit_rows(first_order(a[i:i + step])), _unit_rows(first_order(b[i:i + step]))
        sims.append(float((sa * sb).sum(1).mean()))
    return float(np.mean(sims))


def distance_matrix(reps: list, batch_size: int | None = None) -> np.ndarray:
    """m x m second-order distances (1 - similarity) between the models' representations."""
    m = len(reps)
    d = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            d[i, j] = d[j, i] = 1.0 - second_order(reps[i], reps[j], batch_size)
    return np.clip(d, 0.0, None)


def mds_2d(distances: np.ndarray, seed: int = 12345) -> np.ndarray:
    """2-D metric MDS of a precomputed distance matrix (divided by its maximum, as the original's
    ``project2d``); every argument explicit (scikit-learn's defaults change across versions)."""
    from sklearn.manifold import MDS

    d = np.asarray(distances, dtype=np.float64)
    d = d / d.max() if d.max() > 0 else d
    mds = MDS(n_components=2, metric_mds=True, metric="precomputed", n_init=4, init="random", max_iter=300,
              eps=1e-6, random_state=seed, n_jobs=1, normalized_stress="auto")  # scikit-learn >= 1.8 names
    return mds.fit_transform(d)

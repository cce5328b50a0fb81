"""Comparing layer representations (Voita, Sennrich & Titov 2019, "The bottom-up evolution of representations"):

* :func:`mi_kmeans` — the paper's mutual-information approximation: discretise the states with mini-batch
  k-means (scikit-learn ``MiniBatchKMeans``) and take the plug-in MI (natural log, scikit-learn
  ``mutual_info_score``) between a discrete label (token identity, output label) and the cluster id.  The
  plug-in MI is biased upwards when the cluster count approaches the sample size: keep both fixed across
  models and layers.  :func:`balanced_sample` picks the sample (the ``n_types`` most frequent labels x
  ``per_type`` occurrences each), so the label entropy is ``ln n_types`` exactly.
* :func:`cca` / :func:`pwcca` — projection-weighted CCA (Morcos, Raghu & Bengio 2018), written here: each
  view is mean-centred, its column space orthonormalised by a rank-revealing SVD (directions with singular
  value below ``rtol`` x the largest are dropped, which replaces svcca's epsilon and neuron dropping), the
  canonical correlations are the singular values of ``Qx^T Qy``.  The weights come from ONE view (the
  documented asymmetry): alpha_i ∝ sum_j |<h_i, x_j>| over that view's centred neurons x_j, with h_i its
  orthonormal canonical variates.  ``weights="first"`` (the default, as the paper and svcca with equal
  widths) or ``"second"``; swapping the arguments and the weighting view gives the same number, and the
  canonical correlations themselves are symmetric.  Unlike the public ``google/svcca`` ``pwcca.py`` the
  directions of the second view are never computed from the first view's activations, and the weights use
  centred activations.  Cost O(n d^2) in the number of rows n (linear).
* :func:`knn_indices` and the neighbour rates (:func:`neighbour_agreement`, :func:`position_distance`):
  Euclidean nearest neighbours (self excluded) over a sample bounded by the caller (brute force, O(n^2 d)
  for a sample of n rows: the sample size is a config value).
* :func:`tsne` — a seeded, deterministic scikit-learn t-SNE (PCA initialisation).
* :func:`frequency_groups` — frequency-rank groups of token ids (the paper's 1-10, 10-25, ... buckets).
"""

from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- mutual information


def balanced_sample(labels: np.ndarray, n_types: int, per_type: int, seed: int,
                    allowed: np.ndarray | None = None) -> np.ndarray:
    """Row indices: ``per_type`` occurrences (seeded choice) of each of the ``n_types`` most frequent labels
    that have at least ``per_type`` occurrences (``allowed``: a boolean row mask applied first).  Fewer types
    when too few labels are that frequent."""
    labels = np.asarray(labels)
    rows = np.flatnonzero(allowed) if allowed is not None else np.arange(len(labels))
    vals, counts = np.unique(labels[rows], return_counts=True)
    order = np.lexsort((vals, -counts))  # most frequent first, ties by label
    types = [v for v, c in zip(vals[order], counts[order]) if c >= per_type][:n_types]
    rng = np.random.default_rng(seed)
    out = [np.sort(rng.choice(rows[labels[rows] == t], per_type, replace=False)) for t in types]
    return np.concatenate(out) if out else np.zeros(0, int)


def kmeans_labels(x: np.ndarray, n_clusters: int, seed: int, batch_size: int = 2048, max_iter: int = 20) -> np.ndarray:
    """Cluster ids of the rows of ``x`` by scikit-learn ``MiniBatchKMeans`` (seeded, one initialisation).
    Cost: O(max_iter x n x n_clusters x d), linear in the sample."""
    from sklearn.cluster import MiniBatchKMeans

    km = MiniBatchKMeans(n_clusters=n_clusters, random_state=seed, batch_size=batch_size, n_init=1,
                         max_iter=max_iter, init="random" if n_clusters > 256 else "k-means++")
    return km.fit_predict(np.asarray(x, np.float32))


def mi(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Plug-in mutual information in nats (scikit-learn ``mutual_info_score``)."""
    from sklearn.metrics import mutual_info_score

    return float(mutual_info_score(labels, clusters))


def mi_kmeans(x: np.ndarray, labels: np.ndarray, n_clusters: int, seed: int, **kw) -> float:
    """MI (nats) between ``labels`` and the k-means cluster ids of ``x``."""
    return mi(labels, kmeans_labels(x, n_clusters, seed, **kw))


# ----------------------------------------------------------------------------- (PW)CCA


def _basis(x: np.ndarray, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """(centred x, orthonormal basis of its column space) by SVD, directions below ``rtol`` dropped."""
    xc = np.asarray(x, np.float64)
    xc = xc - xc.mean(0, keepdims=True)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    keep = s > rtol * (s[0] if len(s) else 0.0)
    return xc, u[:, keep]


def cca(x: np.ndarray, y: np.ndarray, rtol: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rho, hx, hy)``: canonical correlations (descending, min(rank x, rank y) of them) and the
    orthonormal canonical variates of each view (n x r), rows = samples (centred inside)."""
    if len(x) != len(y):
        raise ValueError(f"CCA needs the same samples in both views, got {len(x)} and {len(y)} rows")
    _, qx = _basis(x, rtol)
    _, qy = _basis(y, rtol)
    u, rho, vt = np.linalg.svd(qx.T @ qy, full_matrices=False)
    r = len(rho)
    return np.clip(rho, 0.0, 1.0), qx @ u[:, :r], qy @ vt.T[:, :r]


def pwcca(x: np.ndarray, y: np.ndarray, weights: str = "first", rtol: float = 1e-8) -> float:
    """Projection-weighted CCA similarity of two views (rows = the same samples); ``weights`` names the view
    whose centred neurons weight the canonical correlations ("first" or "second")."""
    if weights not in ("first", "second"):
        raise ValueError(f"weights must be 'first' or 'second', got {weights!r}")
    if len(x) < 2:
        raise ValueError("PWCCA needs at least two samples")
    rho, hx, hy = cca(x, y, rtol)
    acts, h = (x, hx) if weights == "first" else (y, hy)
    ac = np.asarray(acts, np.float64) - np.asarray(acts, np.float64).mean(0, keepdims=True)
    alpha = np.abs(h.T @ ac).sum(1)  # sum over neurons of |<h_i, x_j>|
    if alpha.sum() <= 0:
        return float("nan")
    return float((alpha / alpha.sum()) @ rho)


def pwcca_distance(x: np.ndarray, y: np.ndarray, **kw) -> float:
    """1 - :func:`pwcca` (the paper's distance)."""
    return 1.0 - pwcca(x, y, **kw)


# ----------------------------------------------------------------------------- nearest neighbours


def knn_indices(x: np.ndarray, k: int) -> np.ndarray:
    """(n, k) indices of each row's ``k`` nearest other rows (Euclidean; ties by index)."""
    from sklearn.neighbors import NearestNeighbors

    x = np.asarray(x, np.float32)
    k = min(k, len(x) - 1)
    nn = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(x)
    idx = nn.kneighbors(x, return_distance=False)
    out = np.empty((len(x), k), int)
    for i, row in enumerate(idx):  # drop self (it may not be first when duplicates tie)
        row = row[row != i]
        out[i] = row[:k]
    return out


def neighbour_agreement(nbrs: np.ndarray, labels: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Mean over query rows (``valid`` ones) of the share of their neighbours with the query's label."""
    labels = np.asarray(labels)
    same = labels[nbrs] == labels[:, None]
    if valid is not None:
        same = same[np.asarray(valid, bool)]
    return float(same.mean()) if same.size else float("nan")


def position_distance(x: np.ndarray, tokens: np.ndarray, positions: np.ndarray, k: int, min_count: int | None = None,
                      max_per_type: int | None = None, seed: int = 0) -> float:
    """Mean |pos(q) - pos(neighbour)| over the ``k`` nearest neighbours of each occurrence among the
    occurrences of the same token (types with at least ``min_count`` (default k + 1) occurrences; at most
    ``max_per_type`` occurrences of each, a seeded choice, which bounds the cost)."""
    tokens, positions = np.asarray(tokens), np.asarray(positions)
    rng = np.random.default_rng(seed)
    total, n = 0.0, 0
    for t in np.unique(tokens):
        idx = np.flatnonzero(tokens == t)
        if len(idx) < (min_count or k + 1):
            continue
        if max_per_type and len(idx) > max_per_type:
            idx = np.sort(rng.choice(idx, max_per_type, replace=False))
        nb = knn_indices(x[idx], k)
        total += float(np.abs(positions[idx][nb] - positions[idx][:, None]).sum())
        n += nb.size
    return total / n if n else float("nan")


# ----------------------------------------------------------------------------- t-SNE and groups


def tsne(x: np.ndarray, seed: int, perplexity: float = 30.0, max_iter: int = 500) -> np.ndarray:
    """2-D scikit-learn t-SNE (PCA initialisation, exact seed; the perplexity capped below the sample size)."""
    from sklearn.manifold import TSNE

    x = np.asarray(x, np.float64)
    p = float(min(perplexity, max(2.0, (len(x) - 1) / 3.0)))
    return TSNE(n_components=2, perplexity=p, init="pca", random_state=seed, max_iter=max_iter,
                learning_rate="auto").fit_transform(x)


def frequency_groups(counts: np.ndarray, edges: list[int]) -> np.ndarray:
    """Group index per token id by frequency rank (rank 1 = most frequent among ids with count > 0):
    group g holds ranks in (edges[g], edges[g+1]]; -1 for unseen ids and ranks beyond the last edge."""
    counts = np.asarray(counts)
    order = np.lexsort((np.arange(len(counts)), -counts))
    rank = np.empty(len(counts), int)
    rank[order] = np.arange(1, len(counts) + 1)
    group = np.full(len(counts), -1)
    for g in range(len(edges) - 1):
        group[(rank > edges[g]) & (rank <= edges[g + 1])] = g
    group[counts <= 0] = -1
    return group

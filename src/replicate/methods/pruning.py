"""Michel et al. (2019) head pruning without a model: orders of heads by a score, the gate
configurations of a pruning curve, the share prunable "without noticeable loss" (§5), and the
heads to remove per layer (§6).  numpy only; the evaluation under gates is
:mod:`replicate.methods.heads`."""

from __future__ import annotations

import numpy as np


def pruning_order(scores: np.ndarray, rng: np.random.Generator | None = None) -> list[tuple[int, int]]:
    """Heads in increasing order of ``scores`` (ties broken by position); random if ``rng``."""
    L, H = scores.shape
    heads = [(l, h) for l in range(L) for h in range(H)]
    if rng is not None:
        return [heads[i] for i in rng.permutation(len(heads))]
    flat = scores.flatten()
    return [heads[i] for i in np.argsort(flat, kind="stable")]


def pruning_configs(order: list[tuple[int, int]], fractions: list[float]) -> list[dict]:
    """One gate config per fraction f: the first round(f * n) heads of ``order`` masked (Michel §5)."""
    return [{"mask": order[: int(round(f * len(order)))]} for f in fractions]


def prunable_share(curve, fractions, baseline: float, tol: float) -> float:
    """The largest pruned fraction up to which every point of ``curve`` stays within ``tol`` of
    ``baseline`` (Michel §5: "pruned without noticeable loss")."""
    flat = 0.0
    for f, s in zip(fractions, curve):
        if s < baseline - tol - 1e-9:
            break
        flat = f
    return flat


def prune_map(order: list[tuple[int, int]], fraction: float, n_heads: int, min_per_layer: int = 1) -> dict[int, list[int]]:
    """The first ``round(fraction * len(order))`` heads of ``order`` as ``{layer: [heads]}``,
    skipping a head that would leave its layer with fewer than ``min_per_layer`` heads (the next
    one in the order is taken instead; Michel's ``--at_least_x_heads_per_layer``)."""
    want = int(round(fraction * len(order)))
    out: dict[int, list[int]] = {}
    taken = 0
    for l, h in order:
        if taken == want:
            break
        if n_heads - len(out.get(l, [])) - 1 < min_per_layer:
            continue
        out.setdefault(l, []).append(h)
        taken += 1
    if taken < want:
        raise ValueError(f"cannot prune {want} heads keeping {min_per_layer} per layer")
    return {l: sorted(hs) for l, hs in sorted(out.items())}

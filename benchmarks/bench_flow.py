#!/usr/bin/env python
"""Attention-flow benchmark: networkx Edmonds-Karp (as in the original code) vs replicate.attention.flow.

Abnar & Zuidema 2020, §3: the flow of a source node (layer l, position s) to
input token v is the max-flow from (l, s) to (0, v) in the layered graph of the
residual-augmented, head-averaged attention; a "CLS row" is the flows from
position 0 at every layer 1..L to every input token (L*T max-flow problems).

Prints
  1. 6 layers x 32 tokens, CLS row: networkx `maximum_flow_value(...,
     flow_func=edmonds_karp)` on the whole (L+1)*T-node DiGraph (built once, as
     the original code does) vs ours; times, speed-up, max |difference| of the
     normalised flows.
  2. 12 layers x 128 tokens, CLS row: our time.
  3. 6 layers x 32 tokens, all sources (L*T*T problems): our time.

Random row-stochastic attention: softmax of standard-normal logits (or
Dirichlet(1) rows with --dist dirichlet) from a seeded numpy Generator, 8
heads.  Single-threaded (BLAS/OpenMP pools set to 1 thread before numpy is
imported).  Runtime about 10-15 s, most of it networkx.

    python benchmarks/bench_flow.py [--seed 0] [--dist softmax|dirichlet] [--nx-sinks 32]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402
from networkx.algorithms.flow import edmonds_karp  # noqa: E402

from replicate.methods.attention import add_residual, flow, head_mean, rollout  # noqa: E402


def random_attention(rng: np.random.Generator, L: int, H: int, T: int, dist: str) -> np.ndarray:
    """(L, H, T, T) row-stochastic attention."""
    if dist == "dirichlet":
        return rng.dirichlet(np.ones(T), size=(L, H, T))
    x = np.exp(rng.normal(size=(L, H, T, T)))
    return x / x.sum(axis=-1, keepdims=True)


def networkx_cls_row(att: np.ndarray, sinks) -> tuple[np.ndarray, float]:
    """Raw CLS flows (L, len(sinks)) the original way; returns (values, seconds)."""
    t0 = time.perf_counter()
    A = add_residual(head_mean(att))
    L, T, _ = A.shape
    n = (L + 1) * T
    adj = np.zeros((n, n))
    for l in range(1, L + 1):
        adj[l * T : (l + 1) * T, (l - 1) * T : l * T] = A[l - 1]
    G = nx.from_numpy_array(adj, edge_attr="capacity", create_using=nx.DiGraph)
    out = np.zeros((L, len(sinks)))
    for l in range(1, L + 1):
        for k, v in enumerate(sinks):
            out[l - 1, k] = nx.maximum_flow_value(G, l * T, v, flow_func=edmonds_karp)
    return out, time.perf_counter() - t0


def time_ours(fn, repeat: int) -> tuple[float, float]:
    """(median, min) wall time in seconds over ``repeat`` runs after one warm-up run."""
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), float(np.min(ts))


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.2f} ms" if seconds < 10 else f"{seconds:9.2f} s "


def time_ours_cls(att: np.ndarray, repeat: int) -> tuple[float, float, np.ndarray]:
    med, best = time_ours(lambda: flow(att, sources="cls"), repeat)
    return med, best, flow(att, sources="cls")[:, 0, :]


def compare_with_networkx(att: np.ndarray, ours_timing, nx_sinks: int, label: str) -> None:
    """Section [1]: the CLS row by networkx Edmonds-Karp and by ours, same flows."""
    L, _, T, _ = att.shape
    med, best, ours = ours_timing
    sinks = list(range(min(T, nx_sinks)))
    nx_vals, t_nx = networkx_cls_row(att, sinks)
    t_nx_full = t_nx * T / len(sinks)
    # both normalised over the same sinks (all T unless --nx-sinks is smaller)
    sub = ours[:, sinks] / ours[:, sinks].sum(axis=1, keepdims=True)
    diff = float(np.abs(sub - nx_vals / nx_vals.sum(axis=1, keepdims=True)).max())
    print(f"[1] {L} layers x {T} tokens, CLS row ({L * T} max-flows), {label} attention")
    extra = ""
    if len(sinks) < T:
        extra = f"  (EXTRAPOLATED x{T}/{len(sinks)} from {fmt(t_nx).strip()} on {len(sinks)} sinks)"
    print(f"    networkx edmonds_karp : {fmt(t_nx_full)}{extra}")
    print(f"    ours                  : {fmt(med)}  (min {fmt(best).strip()})")
    print(f"    speed-up              : {t_nx_full / med:9.0f}x  (vs our min: {t_nx_full / best:.0f}x)")
    print(f"    max |ours - networkx| over the normalised flows: {diff:.2e}")
    l1 = float(np.abs(ours[0] - rollout(att)[0, 0]).max())
    print(f"    check: max |flow - rollout| at layer 1 = {l1:.1e}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--dist",
        choices=["softmax", "dirichlet", "both"],
        default="both",
        help="random attention for [1] (both: one comparison each); [2], [3] use softmax unless dirichlet",
    )
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument(
        "--nx-sinks",
        type=int,
        default=32,
        help="input tokens networkx is timed on (< 32: its time is extrapolated to all 32)",
    )
    ap.add_argument("--repeat", type=int, default=30, help="timed runs of ours (6x32 cases)")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"networkx {nx.__version__}; threads: OMP={os.environ['OMP_NUM_THREADS']}, "
        f"OPENBLAS={os.environ['OPENBLAS_NUM_THREADS']}"
    )
    print(f"random attention: {args.heads} heads, seed {args.seed}; residual Â = 0.5A + 0.5I")
    print("times: ours = median (min) of repeated runs after a warm-up, taken before networkx runs;")
    print("       networkx = one run\n")

    L, T = 6, 32
    dists = ["softmax", "dirichlet"] if args.dist == "both" else [args.dist]
    atts = {dist: random_attention(rng, L, args.heads, T, dist) for dist in dists}
    # ours is timed first (its steady state, before networkx's many small objects churn the heap)
    ours = {dist: time_ours_cls(atts[dist], args.repeat) for dist in dists}
    for dist in dists:
        compare_with_networkx(atts[dist], ours[dist], args.nx_sinks, dist)
    main_dist = dists[0]

    # ---- 2. 12 layers x 128 tokens, CLS row ---------------------------------------------
    L2, T2 = 12, 128
    att2 = random_attention(rng, L2, args.heads, T2, main_dist)
    med2, best2 = time_ours(lambda: flow(att2, sources="cls"), 5)
    print(f"[2] {L2} layers x {T2} tokens, CLS row ({L2 * T2} max-flows), {main_dist} attention")
    print(f"    ours                  : {fmt(med2)}  (min {fmt(best2).strip()})  target < 1 s\n")

    # ---- 3. 6 layers x 32 tokens, all sources -----------------------------------------
    att = atts[main_dist]
    med3, best3 = time_ours(lambda: flow(att, sources="all"), max(3, args.repeat // 6))
    print(f"[3] {L} layers x {T} tokens, all sources ({L * T * T} max-flows), {main_dist} attention")
    print(f"    ours                  : {fmt(med3)}  (min {fmt(best3).strip()})")


if __name__ == "__main__":
    main()

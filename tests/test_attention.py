"""Tests for replicate.attention (Abnar & Zuidema 2020: rollout eq. 1, attention flow §3).

References used here are independent of the module's fast path:
networkx Edmonds-Karp on the paper's full (L+1)*T-node graph (float capacities),
a plain per-pair scipy max-flow on the full graph, explicit matrix-product
loops, and a hand-computed case.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from networkx.algorithms.flow import edmonds_karp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

import replicate.methods.attention as ra
from replicate.methods.attention import (
    add_residual,
    flow,
    head_mean,
    raw_attention,
    relevance,
    rollout,
)


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #
def random_att(rng, L, H, T, kind="softmax"):
    """Row-stochastic attention (L, H, T, T)."""
    if kind == "dirichlet":
        return rng.dirichlet(np.ones(T), size=(L, H, T))
    scale = {"softmax": 1.0, "peaky": 4.0}[kind]
    x = np.exp(scale * rng.normal(size=(L, H, T, T)))
    return x / x.sum(-1, keepdims=True)


def source_list(sources, T):
    if sources == "all":
        return list(range(T))
    if sources == "cls":
        return [0]
    return list(sources)


def layer_mats(att, residual=True):
    A = att.mean(axis=1)
    if residual:
        A = 0.5 * A + 0.5 * np.eye(A.shape[-1])
    return A


def full_capacity_matrix(A):
    """(L+1)T x (L+1)T matrix of the paper's graph: node (l, i) -> (l-1, j), capacity A_l[i, j]."""
    L, T, _ = A.shape
    n = (L + 1) * T
    cap = np.zeros((n, n))
    for l in range(1, L + 1):
        cap[l * T : (l + 1) * T, (l - 1) * T : l * T] = A[l - 1]
    return cap


def networkx_flow(att, sources, residual=True):
    """Original-code style: networkx DiGraph of the whole graph, Edmonds-Karp per pair."""
    A = layer_mats(att, residual)
    L, T, _ = A.shape
    G = nx.from_numpy_array(full_capacity_matrix(A), edge_attr="capacity", create_using=nx.DiGraph)
    out = np.zeros((L, len(sources), T))
    for l in range(1, L + 1):
        for a, s in enumerate(sources):
            for v in range(T):
                out[l - 1, a, v] = nx.maximum_flow_value(G, l * T + s, v, flow_func=edmonds_karp)
    return out / out.sum(-1, keepdims=True)


def scipy_direct_raw(att, sources, scale=ra.DEFAULT_SCALE):
    """Integer max-flow values, one scipy call per pair on the full graph (same rounding as the module)."""
    A = ra._layer_mats(att, True)
    C, _ = ra._integer_capacities(A, scale)
    L, T, _ = C.shape
    g = csr_matrix(full_capacity_matrix(C).astype(np.int32))
    out = np.zeros((L, len(sources), T), dtype=np.int64)
    for l in range(1, L + 1):
        for a, s in enumerate(sources):
            for v in range(T):
                out[l - 1, a, v] = maximum_flow(g, l * T + s, v).flow_value
    return out


# --------------------------------------------------------------------------- #
# head mean / residual / raw attention
# --------------------------------------------------------------------------- #
def test_head_mean_and_raw_attention():
    rng = np.random.default_rng(0)
    att = random_att(rng, 3, 4, 5)
    expected = (att[:, 0] + att[:, 1] + att[:, 2] + att[:, 3]) / 4
    np.testing.assert_allclose(head_mean(att), expected, rtol=0, atol=1e-15)
    np.testing.assert_allclose(raw_attention(att), expected, rtol=0, atol=1e-15)
    with pytest.raises(ValueError):
        head_mean(att[0])  # (H, T, T) is not (L, H, T, T)


def test_add_residual_is_half_identity_for_row_stochastic():
    rng = np.random.default_rng(1)
    A = head_mean(random_att(rng, 3, 2, 6))
    np.testing.assert_allclose(add_residual(A), 0.5 * A + 0.5 * np.eye(6), atol=1e-15)
    # single (T, T) matrix, and a non-stochastic one is renormalised row-wise
    M = np.array([[1.0, 3.0], [0.0, 2.0]])
    np.testing.assert_allclose(add_residual(M), [[2 / 5, 3 / 5], [0.0, 1.0]])
    np.testing.assert_allclose(add_residual(M).sum(-1), 1.0)


# --------------------------------------------------------------------------- #
# rollout
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("residual", [True, False])
def test_rollout_matches_matrix_product_loop_and_rows_sum_to_one(residual):
    rng = np.random.default_rng(2)
    att = random_att(rng, 5, 3, 7, "dirichlet")
    A = layer_mats(att, residual)
    R = rollout(att, residual=residual)
    assert R.shape == (5, 7, 7)
    joint = np.eye(7)
    for l in range(5):
        joint = A[l] @ joint  # layer l on top of the layers below it
        np.testing.assert_allclose(R[l], joint, atol=1e-13)
    np.testing.assert_allclose(R.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(R[-1], np.linalg.multi_dot(A[::-1]), atol=1e-13)


def test_rollout_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    att = random_att(rng, 3, 2, 4)
    t = torch.tensor(att, dtype=torch.float32, requires_grad=True)
    np.testing.assert_allclose(rollout(t), rollout(att.astype(np.float32)), atol=1e-12)
    np.testing.assert_allclose(flow(t), flow(att.astype(np.float32)), atol=1e-12)


# --------------------------------------------------------------------------- #
# attention flow
# --------------------------------------------------------------------------- #
def test_flow_hand_computed_two_tokens():
    # residual=False, one head: the capacities are exactly these matrices.
    A1 = [[0.9, 0.1], [0.2, 0.8]]
    A2 = [[0.6, 0.4], [0.3, 0.7]]
    A3 = [[0.5, 0.5], [0.1, 0.9]]
    att = np.array([A1, A2, A3])[:, None]  # (L=3, H=1, T=2, T=2)
    # layer 1: the edge itself -> (0.9, 0.1).
    # layer 2, source 0: two disjoint paths per sink:
    #   v=0: min(.6,.9) + min(.4,.2) = .8 ;  v=1: min(.6,.1) + min(.4,.8) = .5
    # layer 3, source 0 (source edges .5/.5):
    #   v=0: cut {source} = 1.0, reached: (2,0)->(1,0) .5, (2,1)->(1,0) .3, (2,1)->(1,1) .2
    #   v=1: cut {sink} = .1 + .8 = .9, reached: (2,0)->(1,1) .4, (2,1)->(1,1) .4, (2,0)->(1,0) .1
    # layer 3, source 1 (source edges .1/.9):
    #   v=0: (1,0) gets at most .1 + .3, (1,1)->v0 carries .2 -> .6
    #        (cut: source->(2,0) .1 + (2,1)->(1,0) .3 + (1,1)->v0 .2 = .6)
    #   v=1: (1,1) gets .7 from (2,1) and .1 from (2,0) -> .8, (1,0) gets .2 -> .1 : .9
    expected_cls = np.array([[0.9, 0.1], [0.8 / 1.3, 0.5 / 1.3], [1.0 / 1.9, 0.9 / 1.9]])
    expected_src1_l3 = np.array([0.6 / 1.5, 0.9 / 1.5])
    out = flow(att, sources="all", residual=False)
    assert out.shape == (3, 2, 2)
    np.testing.assert_allclose(out[:, 0], expected_cls, atol=1e-8)
    np.testing.assert_allclose(out[2, 1], expected_src1_l3, atol=1e-8)
    np.testing.assert_allclose(flow(att, residual=False)[:, 0], expected_cls, atol=1e-8)
    # and the (independent) networkx reference agrees with the hand computation
    np.testing.assert_allclose(networkx_flow(att, [0], residual=False)[:, 0], expected_cls, atol=1e-12)


@pytest.mark.parametrize(
    "L,H,T,sources,kind,residual",
    [
        (3, 2, 3, "all", "softmax", True),
        (5, 2, 8, "all", "dirichlet", True),  # sparse subgraph + saturation lemma
        (6, 3, 12, "cls", "softmax", True),
        (6, 2, 10, [0, 4, 9, 4], "peaky", True),  # uncertified pairs go to the full graph
        (4, 2, 9, "all", "peaky", False),
        (7, 1, 6, "cls", "dirichlet", False),
    ],
)
def test_flow_matches_networkx_edmonds_karp(L, H, T, sources, kind, residual):
    rng = np.random.default_rng(L * 100 + T)
    att = random_att(rng, L, H, T, kind)
    src = source_list(sources, T)
    ours = flow(att, sources=sources, residual=residual)
    ref = networkx_flow(att, src, residual=residual)
    assert ours.shape == (L, len(src), T)
    assert np.abs(ours - ref).max() < 1e-6


def test_flow_equals_rollout_at_layer_one():
    rng = np.random.default_rng(4)
    att = random_att(rng, 4, 3, 9)
    out = flow(att, sources="all")
    np.testing.assert_allclose(out[0], rollout(att)[0], atol=1e-14)
    np.testing.assert_allclose(out[0], add_residual(head_mean(att))[0], atol=1e-14)
    np.testing.assert_allclose(flow(att, sources=[5, 2])[0], rollout(att)[0][[5, 2]], atol=1e-14)


@pytest.mark.parametrize("kind", ["softmax", "dirichlet", "peaky"])
def test_flow_rows_are_distributions(kind):
    rng = np.random.default_rng(5)
    out = flow(random_att(rng, 6, 4, 16, kind), sources="all")
    assert np.all(np.isfinite(out))
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-12)


def test_fast_path_is_bit_identical_to_per_pair_scipy_and_uses_both_passes(monkeypatch):
    """Layers >= 3: batched, subgraph-certified integer flows == one scipy call per pair."""
    used = []
    real_solve = ra._solve

    def spy(plan, l, s, v, cap):
        used.append(("full" if plan.full else "sub", l, s.size))
        return real_solve(plan, l, s, v, cap)

    monkeypatch.setattr(ra, "_solve", spy)
    rng = np.random.default_rng(6)
    for kind, sources in [("softmax", "cls"), ("peaky", [0, 7, 3]), ("dirichlet", "all")]:
        att = random_att(rng, 6, 2, 14, kind)
        src = source_list(sources, 14)
        ref = scipy_direct_raw(att, src)
        ref = ref / ref.sum(-1, keepdims=True)
        ours = flow(att, sources=sources)
        np.testing.assert_array_equal(ours[2:], ref[2:])  # same integers, same division
        assert np.abs(ours[:2] - ref[:2]).max() < 1e-8  # layers 1-2: exact closed forms
    kinds = {u[0] for u in used}
    assert kinds == {"sub", "full"}, used
    assert any(u[0] == "full" and u[1] >= 4 for u in used), "no uncertified pair exercised the fallback"


def test_saturation_lemma_skips_work_and_stays_exact(monkeypatch):
    solved = []
    real_solve = ra._solve

    def spy(plan, l, s, v, cap):
        solved.append(s.size)
        return real_solve(plan, l, s, v, cap)

    monkeypatch.setattr(ra, "_solve", spy)
    rng = np.random.default_rng(7)
    L, T = 8, 10
    att = random_att(rng, L, 4, T, "softmax")
    out = flow(att, sources="all")
    # without the lemma every pair of layers 3..8 is solved at least once
    assert sum(solved) < (L - 2) * T * T
    ref = scipy_direct_raw(att, list(range(T)))
    np.testing.assert_array_equal(out[2:], ref[2:] / ref[2:].sum(-1, keepdims=True))


def test_flow_layers_argument():
    rng = np.random.default_rng(8)
    att = random_att(rng, 5, 2, 8)
    full = flow(att, sources="all")
    part = flow(att, sources="all", layers=[1, 4])
    assert part.shape == full.shape
    assert np.all(np.isnan(part[[0, 2, 3]]))
    np.testing.assert_array_equal(part[[1, 4]], full[[1, 4]])
    with pytest.raises(ValueError):
        flow(att, layers=[5])


def test_flow_argument_validation():
    rng = np.random.default_rng(9)
    att = random_att(rng, 3, 2, 4)
    with pytest.raises(ValueError, match="sources"):
        flow(att, sources="first")
    with pytest.raises(ValueError, match="source positions"):
        flow(att, sources=[4])
    with pytest.raises(ValueError, match="scale"):
        flow(att, scale=2**31)
    with pytest.raises(ValueError):
        flow(-att)
    with pytest.raises(ValueError):
        flow(att[0])


def test_flow_small_scale_still_close():
    # a coarse integer scale only coarsens the rounding of the capacities
    rng = np.random.default_rng(10)
    att = random_att(rng, 4, 2, 6)
    coarse = flow(att, scale=10**4)
    fine = flow(att)
    assert np.abs(coarse - fine).max() < 1e-3


# --------------------------------------------------------------------------- #
# relevance
# --------------------------------------------------------------------------- #
def test_relevance_aggregations():
    m = np.array(
        [
            [[0.1, 0.9, 0.0], [0.5, 0.2, 0.3], [0.0, 0.3, 0.7]],
            [[0.4, 0.4, 0.2], [0.6, 0.1, 0.3], [0.2, 0.2, 0.6]],
        ]
    )
    np.testing.assert_array_equal(relevance(m), m[:, 0, :])
    np.testing.assert_array_equal(relevance(m, "cls"), [[0.1, 0.9, 0.0], [0.4, 0.4, 0.2]])
    np.testing.assert_array_equal(relevance(m, "max"), [[0.5, 0.9, 0.7], [0.6, 0.4, 0.6]])
    np.testing.assert_allclose(relevance(m, "sum"), [[0.6, 1.4, 1.0], [1.2, 0.7, 1.1]])
    # flow output (L, S, T): "cls" is the first source row
    rng = np.random.default_rng(11)
    att = random_att(rng, 4, 2, 5)
    f = flow(att, sources="all")
    np.testing.assert_array_equal(relevance(f, "cls"), flow(att)[:, 0])
    assert relevance(rollout(att), "max").shape == (4, 5)


def test_relevance_rejects_unknown_aggregate():
    with pytest.raises(ValueError, match="cls.*max.*sum"):
        relevance(np.zeros((2, 3, 3)), "mean")

"""Methods of voita2019evolution: MI by k-means, PWCCA, kNN rates, t-SNE, the LM's causality, MLM masking."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from replicate.methods import similarity as sim


def test_mi_known_case():
    # 4 well separated clusters, one per label: MI = ln 4 exactly; labels independent of clusters: MI ~ 0
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 100)
    x = np.eye(4)[labels] * 10 + rng.normal(0, 0.01, (400, 4))
    assert sim.mi_kmeans(x, labels, 4, seed=0) == pytest.approx(math.log(4), abs=1e-9)
    shuffled = rng.permutation(labels)
    assert sim.mi(labels, shuffled) < 0.05
    # plug-in MI by hand: a 2x2 table [[2, 0], [1, 1]] / 4
    a, b = np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1])
    p = np.array([[0.5, 0.0], [0.25, 0.25]])
    hand = sum(p[i, j] * math.log(p[i, j] / (p[i].sum() * p[:, j].sum())) for i in range(2) for j in range(2) if p[i, j])
    assert sim.mi(a, b) == pytest.approx(hand)


def test_balanced_sample():
    labels = np.array([5] * 10 + [7] * 6 + [9] * 2)
    idx = sim.balanced_sample(labels, n_types=3, per_type=5, seed=0)
    assert sorted(np.unique(labels[idx], return_counts=True)[1]) == [5, 5]  # 9 has too few occurrences


def test_pwcca_self_independent_symmetric():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3000, 16))
    a = rng.normal(size=(16, 16))  # invertible linear map
    assert sim.pwcca(x, x) == pytest.approx(1.0, abs=1e-9)
    assert sim.pwcca(x, x @ a) == pytest.approx(1.0, abs=1e-9)
    assert sim.pwcca(x, rng.normal(size=(3000, 16))) < 0.15  # independent: only chance correlations (~ sqrt(d/n))
    y = x[:, :8] @ rng.normal(size=(8, 12)) + rng.normal(size=(3000, 12))
    # symmetric up to the weighting view: swapping the arguments and the weighting view gives the same number
    assert sim.pwcca(x, y, weights="first") == pytest.approx(sim.pwcca(y, x, weights="second"), abs=1e-12)
    rho_xy, _, _ = sim.cca(x, y)
    rho_yx, _, _ = sim.cca(y, x)
    np.testing.assert_allclose(rho_xy, rho_yx, atol=1e-12)
    # mean shifts do not matter (centred)
    assert sim.pwcca(x + 5.0, y - 3.0) == pytest.approx(sim.pwcca(x, y), abs=1e-12)


def test_pwcca_hand_case():
    # view 2 = (x1, noise): canonical correlations (1, ~0); weights from view 1 = x1 and x2 of equal scale,
    # so the first canonical variate (x1 direction) carries |<h, x1>| = |x1|, |<h, x2>| ~ 0: PWCCA ~ 1/2 + tiny
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20000, 2))
    y = np.stack([x[:, 0], rng.normal(size=20000)], 1)
    rho, hx, _ = sim.cca(x, y)
    assert rho[0] == pytest.approx(1.0, abs=1e-9) and rho[1] < 0.03
    assert sim.pwcca(x, y) == pytest.approx(0.5, abs=0.03)
    # when the first view's directions beyond the second view's width exist (wider view 1), no crash and <= 1
    z = rng.normal(size=(20000, 5))
    assert 0 <= sim.pwcca(z, y) <= 1 and 0 <= sim.pwcca(y, z) <= 1


def test_knn_separable():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 60)
    x = np.eye(3)[labels] * 20 + rng.normal(0, 1, (180, 3))
    nb = sim.knn_indices(x, 50)
    assert sim.neighbour_agreement(nb, labels) == 1.0
    assert (nb != np.arange(180)[:, None]).all()
    # position: each type's occurrences lie on a line ordered by position; the nearest neighbours are +-1 apart
    pos = np.tile(np.arange(60), 3)
    line = np.c_[labels * 1000.0, pos.astype(float)]
    assert sim.position_distance(line, labels, pos, k=2) == pytest.approx((1 + 1) / 2, abs=0.02)


def test_tsne_deterministic():
    x = np.random.default_rng(0).normal(size=(60, 8))
    a, b = sim.tsne(x, seed=3, max_iter=250), sim.tsne(x, seed=3, max_iter=250)
    np.testing.assert_array_equal(a, b)


def test_frequency_groups():
    counts = np.array([0, 50, 10, 30, 0, 5])
    g = sim.frequency_groups(counts, [0, 1, 3, 10])
    assert g.tolist() == [-1, 0, 1, 1, -1, 2]  # ranks: 50 -> 1, 30 -> 2, 10 -> 3, 5 -> 4


def _toy_encoder():
    from replicate.models import encoder_lm as E
    from replicate.models import mt

    p = dict(d_model=16, layers=2, heads=2, ffn_dim=32, dropout=0.0, max_positions=32)
    return E, E.init_encoder(lambda: mt.toy_model(50, p), seed=0)


def test_lm_is_causal_and_block():
    E, enc = _toy_encoder()
    enc.eval()
    ids = torch.randint(3, 50, (2, 9))
    mask = torch.ones(2, 9, dtype=torch.long)
    ids2 = ids.clone()
    ids2[:, 5] = (ids[:, 5] + 1 - 3) % 47 + 3
    with torch.no_grad():
        a = E.layer_states(enc, ids, mask, causal=True)
        b = E.layer_states(enc, ids2, mask, causal=True)
        full = E.layer_states(enc, ids, mask, causal=False)
        blk = torch.zeros(2, 9, dtype=torch.bool)
        blk[:, 5] = True
        c = E.layer_states(enc, ids, mask, causal=False, block=blk, block_layer=2)
    for x, y in zip(a, b):  # a future token cannot change a past representation
        torch.testing.assert_close(x[:, :5], y[:, :5])
    assert (a[-1][:, 5:] - b[-1][:, 5:]).abs().max() > 1e-4
    torch.testing.assert_close(c[1], full[1])  # below the blocked layer: unchanged
    assert (c[2] - full[2]).abs().max() > 1e-5
    # the same initialisation as the MT encoder: two builds with one seed are identical
    _, enc2 = _toy_encoder()
    for p, q in zip(enc.parameters(), enc2.parameters()):
        torch.testing.assert_close(p, q)


def test_mlm_masking_rates():
    from replicate.models import encoder_lm as E

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, 1000, (400, 500))
    mask = torch.ones_like(ids)
    ids[:, -1] = 1  # </s> never chosen
    mask[:, -50:-1] = 0
    x, chosen = E.mlm_corrupt(ids, mask, mask_id=1000, vocab_size=1000, generator=g)
    real = mask.bool() & (ids != 1)
    assert not chosen[~real].any()
    rate = chosen.sum().item() / real.sum().item()
    assert rate == pytest.approx(0.15, abs=0.003)
    n = chosen.sum().item()
    masked = (x[chosen] == 1000).sum().item() / n
    same = (x[chosen] == ids[chosen]).sum().item() / n
    assert masked == pytest.approx(0.8, abs=0.01)
    assert same == pytest.approx(0.1 + 0.1 / 997, abs=0.01)  # unchanged 10% (+ random draws of the same id)
    assert 1 - masked - same == pytest.approx(0.1, abs=0.01)
    assert (x[~chosen] == ids[~chosen]).all()

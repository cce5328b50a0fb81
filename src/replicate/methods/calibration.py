"""Calibration: expected calibration error (ECE) and reliability-diagram bins.

ECE is torchmetrics' top-label ``multiclass_calibration_error`` (norm ``l1``): the confidence of
the arg-max class is binned in ``n_bins`` equal-width bins of [0, 1] and
ECE = sum_b (n_b / N) |acc_b - conf_b|.  This is TensorFlow Probability's
``expected_calibration_error`` (bins ``floor(conf * n_bins)``), the definition of Abnar et al.'s
code (1,000,000 bins); the one difference is a confidence of exactly 1.0, which torchmetrics puts
in a bin of its own and TFP in the last bin (the two agree whenever the predictions in the last
bin are all right or all wrong, as in the tests).
"""

from __future__ import annotations

import numpy as np

TFP_BINS = 1_000_000  # Abnar et al.'s code (tfp.stats.expected_calibration_error)


def ece(logits, labels, n_bins: int = 15) -> float:
    """Expected calibration error of ``logits`` (N, C; or probabilities) against integer ``labels``."""
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    logits = torch.as_tensor(np.asarray(logits), dtype=torch.float32)
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    return float(multiclass_calibration_error(logits, labels, num_classes=logits.shape[1], n_bins=n_bins, norm="l1"))


def softmax(logits) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def reliability(logits, labels, n_bins: int = 20) -> dict:
    """Reliability-diagram bins (the original's 20): per bin of top-label confidence
    ``[k/n, (k+1)/n)`` (1.0 in the last), the accuracy, mean confidence and count (NaN where empty)."""
    p = softmax(logits)
    conf, pred = p.max(1), p.argmax(1)
    correct = (pred == np.asarray(labels)).astype(float)
    idx = np.clip(np.floor(conf * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.bincount(idx, weights=correct, minlength=n_bins) / count
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
    return {"lower": np.arange(n_bins) / n_bins, "upper": np.arange(1, n_bins + 1) / n_bins,
            "accuracy": acc, "confidence": mean_conf, "count": count}

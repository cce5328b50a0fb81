"""Knowledge distillation loss (Abnar et al.'s ``distill_loss``, Reflect ``tf2_models/metrics.py``).

L_KD = mean over examples of CE(softmax(z_t / T), log_softmax(z_s / T)) * scale, where the original
code's scale is **1 / T^2** (``scale="inverse"``); Hinton et al.'s is T^2 (``scale="hinton"``).
At T = 1 both are the plain cross-entropy against the teacher's probabilities.
"""

from __future__ import annotations

SCALES = ("inverse", "hinton")


def kd_loss(student_logits, teacher_logits, temperature: float = 1.0, scale: str = "inverse"):
    import torch

    if scale not in SCALES:
        raise ValueError(f"KD scale {scale!r} is not one of {SCALES}")
    t = float(temperature)
    target = torch.softmax(teacher_logits.detach() / t, dim=-1)
    ce = -(target * torch.log_softmax(student_logits / t, dim=-1)).sum(-1).mean()
    return ce / t**2 if scale == "inverse" else ce * t**2

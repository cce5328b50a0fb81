"""Training with gold labels or by offline knowledge distillation, for the small classifiers of
:mod:`replicate.models.small` (``forward -> (logits, representation)``).

Offline KD: the teacher's logits on the training set are computed once (:func:`predict`) and
reused every epoch; the student minimises alpha * KD + (1 - alpha) * CE(gold)
(:func:`replicate.methods.distill.kd_loss`).  Adam, gradient norm clipped (the original's clipnorm
1.0), seeded shuffles; the last epoch is kept.  ``checkpoints``: epochs (0 = before training) at which
``on_checkpoint(epoch, model)`` is called (training trajectories).
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from replicate.methods.distill import kd_loss
from replicate.models.training import device, seed_everything


@torch.no_grad()
def predict(model, n: int, batch, batch_size: int = 256, train_mode: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(logits, representations) of examples ``0..n-1``; ``batch(indices) -> input tensor``.
    ``train_mode``: dropout and batch-statistics BatchNorm active (the original's RSA / teacher quirk)."""
    was = model.training
    model.train(train_mode)
    dev = next(model.parameters()).device
    logits, reps = [], []
    for i in range(0, n, batch_size):
        lo, rep = model(batch(list(range(i, min(n, i + batch_size)))).to(dev))
        logits.append(lo.float().cpu())
        reps.append(rep.float().cpu())
    model.train(was)
    return torch.cat(logits).numpy(), torch.cat(reps).numpy()


def fit(model, n: int, batch, labels, params: dict, teacher_logits=None, checkpoints=(), on_checkpoint=None,
        desc: str = "train") -> dict:
    """Train ``model`` on examples ``0..n-1`` (``batch(indices) -> inputs``, ``labels`` (n,)).

    ``params``: epochs, batch_size, lr, clip, seed; with ``teacher_logits`` (n, C) also temperature,
    alpha (weight of the KD term; 1 = pure distillation) and kd_scale (inverse | hinton)."""
    seed_everything(params["seed"])
    dev = device()
    model.to(dev)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    teacher = None if teacher_logits is None else torch.as_tensor(np.asarray(teacher_logits), dtype=torch.float32)
    alpha = float(params.get("alpha", 1.0)) if teacher is not None else 0.0
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
    gen = torch.Generator().manual_seed(params["seed"])
    bs, curve = params["batch_size"], []
    if 0 in checkpoints and on_checkpoint:
        on_checkpoint(0, model)
    for epoch in tqdm(range(1, params["epochs"] + 1), desc=desc, unit="epoch"):
        model.train()
        order = torch.randperm(n, generator=gen).tolist()
        total = 0.0
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            logits, _ = model(batch(idx).to(dev))
            loss = 0.0
            if alpha > 0:
                loss = alpha * kd_loss(logits, teacher[idx].to(dev), params["temperature"], params["kd_scale"])
            if alpha < 1:
                loss = loss + (1 - alpha) * torch.nn.functional.cross_entropy(logits, y[idx].to(dev))
            opt.zero_grad()
            loss.backward()
            if params.get("clip"):
                torch.nn.utils.clip_grad_norm_(model.parameters(), params["clip"])
            opt.step()
            total += float(loss) * len(idx)
        curve.append({"epoch": epoch, "train_loss": total / n})
        if epoch in checkpoints and on_checkpoint:
            on_checkpoint(epoch, model)
    model.eval()
    return {"curve": curve}

"""Hard Concrete gates on attention heads and the relaxed L0 penalty (Louizos et al. 2018), as Voita et al.
(2019, §6.1) use them and as their first public code (``lib/layers/concrete_gate.py``) implements them.

A gate g = clip(s * (zeta - gamma) + gamma, 0, 1) with s = sigmoid((log u - log(1 - u) + log_alpha) / beta),
u ~ U(eps, 1 - eps), resampled for every batch; the code's constants beta = 0.33 (temperature), (gamma, zeta) =
(-0.1, 1.1).  Closed forms: P(g = 0) = sigmoid(beta log(-gamma / zeta) - log_alpha),
P(g = 1) = sigmoid(log_alpha - beta log((1 - gamma) / (zeta - 1))), P(g != 0) = 1 - P(g = 0).
The penalty is the mean over gated attention layers of sum_heads P(g != 0) (the code's ``concrete_coef`` times
that mean); at evaluation the gate is deterministic, clip(sigmoid(log_alpha) (zeta - gamma) + gamma, 0, 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

BETA, GAMMA, ZETA, EPS = 0.33, -0.1, 1.1, 1e-6


def p_closed(log_alpha, beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA):
    """P(g = 0) (works on tensors and numpy arrays / floats)."""
    return _sigmoid(beta * math.log(-gamma / zeta) - log_alpha)


def p_open(log_alpha, beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA):
    """P(g != 0) = 1 - P(g = 0), clipped to [eps, 1 - eps] as in the code."""
    p = _sigmoid(log_alpha - beta * math.log(-gamma / zeta))
    return p.clamp(EPS, 1 - EPS) if torch.is_tensor(p) else np.clip(p, EPS, 1 - EPS)


def p_one(log_alpha, beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA):
    """P(g = 1)."""
    return _sigmoid(log_alpha - beta * math.log((1 - gamma) / (zeta - 1)))


def _sigmoid(x):
    return torch.sigmoid(x) if torch.is_tensor(x) else 1 / (1 + np.exp(-np.asarray(x, dtype=float)))


def sample(log_alpha: torch.Tensor, beta: float = BETA, gamma: float = GAMMA, zeta: float = ZETA,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One reparameterised Hard Concrete sample per entry of ``log_alpha`` (differentiable in it)."""
    u = torch.rand(log_alpha.shape, generator=generator, dtype=log_alpha.dtype).to(log_alpha.device)
    u = u * (1 - 2 * EPS) + EPS
    s = torch.sigmoid((torch.log(u) - torch.log(1 - u) + log_alpha) / beta)
    return (s * (zeta - gamma) + gamma).clamp(0.0, 1.0)


def eval_gate(log_alpha, gamma: float = GAMMA, zeta: float = ZETA):
    """The code's deterministic evaluation gate clip(sigmoid(log_alpha) (zeta - gamma) + gamma, 0, 1)."""
    g = _sigmoid(log_alpha) * (zeta - gamma) + gamma
    return g.clamp(0.0, 1.0) if torch.is_tensor(g) else np.clip(g, 0.0, 1.0)


def l0_penalty(log_alpha: torch.Tensor, beta: float = BETA) -> torch.Tensor:
    """Mean over gated layers (rows) of the expected number of open heads, sum_h P(g != 0)."""
    return p_open(log_alpha, beta).sum(-1).mean()


def concrete_density(s, log_alpha: float, beta: float):
    """Density of the (binary) Concrete distribution on (0, 1)."""
    s = np.asarray(s, dtype=float)
    a = math.exp(log_alpha)
    return beta * a * s ** (-beta - 1) * (1 - s) ** (-beta - 1) / (a * s ** -beta + (1 - s) ** -beta) ** 2


def hard_concrete_density(x, log_alpha: float, beta: float, gamma: float = GAMMA, zeta: float = ZETA):
    """Density of the stretched Concrete on the open interval (0, 1); the point masses at 0 and 1 are
    :func:`p_closed` and :func:`p_one`."""
    s = (np.asarray(x, dtype=float) - gamma) / (zeta - gamma)
    return concrete_density(s, log_alpha, beta) / (zeta - gamma)


class HeadGates(nn.Module):
    """Trainable log_alpha for a (rows, heads) block of gates; ``rows``: the gated attention layers."""

    def __init__(self, rows: int, heads: int, seed: int = 0, beta: float = BETA):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        bound = math.sqrt(6.0 / (1 + heads))  # Glorot-uniform on the code's [1, heads, 1, 1] shape
        self.log_alpha = nn.Parameter((torch.rand(rows, heads, generator=gen) * 2 - 1) * bound * 0.1)
        self.beta = beta
        self.gen = torch.Generator().manual_seed(seed + 1)

    def forward(self) -> torch.Tensor:
        if self.training:
            return sample(self.log_alpha, self.beta, generator=self.gen)
        return eval_gate(self.log_alpha)

    def penalty(self) -> torch.Tensor:
        return l0_penalty(self.log_alpha, self.beta)


def full_gates(gates: "HeadGates", rows: list[int], n_layers: int, n_heads: int) -> torch.Tensor:
    """The instrument's (n_layers, n_heads) gate matrix: ones, with ``gates()`` in ``rows``."""
    g = gates()
    full = torch.ones(n_layers, n_heads, dtype=g.dtype)
    return full.index_put((torch.as_tensor(rows),), g)


def fit_gates(model, inst, gates: "HeadGates", rows: list[int], batches: list[dict], params: dict, seed: int,
              trainable=None) -> list[dict]:
    """Fine-tune ``model`` with Hard Concrete gates on the attention layers ``rows`` (gate rows of ``inst``):
    loss = label-smoothed token cross-entropy + ``params['lam']`` x :func:`l0_penalty`, a new gate sample per
    batch.  ``trainable``: the model parameters to update (default all; the encoder-only runs pass the source
    embeddings and the encoder).  Returns the per-epoch curve (loss, penalty, expected open heads)."""
    from tqdm.auto import tqdm

    params_model = list(model.parameters()) if trainable is None else list(trainable)
    for p in model.parameters():
        p.requires_grad_(False)
    for p in params_model:
        p.requires_grad_(True)
    opt = torch.optim.Adam([{"params": params_model, "lr": params["lr"]},
                            {"params": [gates.log_alpha], "lr": params["gate_lr"]}], betas=(0.9, 0.98))
    ce = nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=params.get("label_smoothing", 0.1))
    gen = torch.Generator().manual_seed(seed)
    curve = []
    model.train()
    gates.train()
    for epoch in tqdm(range(params["epochs"]), desc=f"prune lam={params['lam']}", unit="epoch"):
        tot, pen, n = 0.0, 0.0, 0
        order = torch.randperm(len(batches), generator=gen).tolist()
        for k in order[: params.get("max_steps") or None]:
            b = {key: v for key, v in batches[k].items() if key != "order"}
            inst.gates = full_gates(gates, rows, inst.n_layers, inst.n_heads)
            logits = model(**b).logits
            xent = ce(logits.flatten(0, 1), b["labels"].flatten())
            penalty = gates.penalty()
            loss = xent + params["lam"] * penalty
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params_model, 1.0)
            opt.step()
            tot, pen, n = tot + xent.item(), pen + penalty.item(), n + 1
        curve.append({"epoch": epoch + 1, "xent": tot / n, "penalty": pen / n,
                      "expected_open": float(p_open(gates.log_alpha.detach()).sum())})
    model.eval()
    gates.eval()
    inst.gates = full_gates(gates, rows, inst.n_layers, inst.n_heads).detach()
    return curve

"""Layer-wise relevance propagation with the z+ rule (alpha = 1, beta = 0) through a transformers encoder-decoder,
and the head relevance of Voita et al. (2019, §4 and App. A).

Implemented with the gradient trick: every rule is a forward that keeps the layer's value but changes its
gradient, so that (input x gradient) at any tensor is that tensor's relevance:

* ``nn.Linear`` (z+): z_ij = x_i w_ij, z_j+ = sum_i max(0, z_ij); R_i = sum_j max(0, z_ij) / z_j+ * R_j
  (the bias takes no relevance; relevance is conserved exactly);
* element-wise maps (the activation, LayerNorm with its statistics held fixed): relevance passes through
  unchanged per element (R_in = R_out);
* the attention core: the attention weights are held constant (detached), so the relevance of a head's output
  flows to its values (the value projection), none to queries or keys;
* residual sums split relevance in proportion to the summands (the gradient of a sum).

Head relevance: the relevance of the top-1 logit at each target position (teacher-forced), propagated to the
output neurons of each head (its context A.V before the output projection), summed over the neurons and
positions, taken in absolute value and normalised over the heads of each layer, then averaged over sentences.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

STAB = 1e-9


def _stab(z: torch.Tensor) -> torch.Tensor:
    return z + STAB * torch.where(z >= 0, 1.0, -1.0)


def zplus_linear_forward(x: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (= x W^T + b) with the z+ rule's gradient."""
    zp = F.linear(x.clamp(min=0), weight.clamp(min=0)) + F.linear(x.clamp(max=0), weight.clamp(max=0))
    return zp * (out / _stab(zp)).detach()


def passthrough_forward(x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``out`` (same shape as ``x``) with relevance passed through per element."""
    return x * (out / _stab(x)).detach()


@contextlib.contextmanager
def zplus(model: nn.Module, inst=None):
    """Within the block, (input x gradient) of ``model`` is z+ relevance.  ``inst``: the model's
    :class:`replicate.instrument.Instrument` (its attention weights are detached while inside)."""
    hooks = []

    def lin(mod, inp, out):
        return zplus_linear_forward(inp[0], mod.weight, out)

    def elem(mod, inp, out):
        return passthrough_forward(inp[0], out)

    for m in model.modules():
        if isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin))
        elif isinstance(m, nn.LayerNorm) or "Activation" in type(m).__name__ or isinstance(m, (nn.GELU, nn.ReLU, nn.SiLU)):
            hooks.append(m.register_forward_hook(elem))
    old = None
    if inst is not None:
        old = inst.state.detach_probs
        inst.state.detach_probs = True
    try:
        yield
    finally:
        for h in hooks:
            h.remove()
        if inst is not None:
            inst.state.detach_probs = old


def head_relevance(model, inst, batch: dict, rows: list[int] | None = None) -> np.ndarray:
    """Per-sentence head relevance (B, rows, H) of one teacher-forced batch (``input_ids``,
    ``attention_mask``, ``labels`` with -100 for padding): for every target position t, the z+ relevance of
    the top-1 logit at t on each head's output neurons, |.| summed over neurons and query positions, then
    summed over t and normalised over the heads of each layer."""
    rows = list(range(inst.n_layers)) if rows is None else rows
    labels = batch["labels"]
    dec_in = labels.masked_fill(labels == -100, model.config.pad_token_id)
    dec_in = torch.cat([torch.full_like(dec_in[:, :1], model.config.decoder_start_token_id), dec_in[:, :-1]], 1)
    B, T = labels.shape
    total = torch.zeros(B, len(rows), inst.n_heads)
    with zplus(model, inst):
        for t in range(T):
            valid = labels[:, t] != -100
            if not bool(valid.any()):
                break
            model.zero_grad(set_to_none=True)
            with inst.recording(keep_grad=True, values=True):
                logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                               decoder_input_ids=dec_in).logits
                ctx = [inst.contexts[r] for r in rows]
                for c in ctx:
                    c.retain_grad()
                top = logits[:, t].max(-1).values
                (top * valid).sum().backward()
                for k, c in enumerate(ctx):
                    r = (c * c.grad).detach()  # (B, H, Tq, d)
                    total[:, k] += r.abs().sum((-1, -2)) * valid[:, None]
    norm = total / total.sum(-1, keepdim=True).clamp_min(1e-12)
    return norm.numpy()

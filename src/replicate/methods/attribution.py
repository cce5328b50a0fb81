"""Input attribution for sequence classifiers: blank-out and input gradients.

Both follow Abnar & Zuidema (2020, §4) and their released code:

* blank-out: replace token i by a blank token (``<unk>`` / ``[MASK]``) and score
  ``|p_target(x) - p_target(x with token i blanked)|``;
* input gradients, taken with respect to the *input embeddings* (the output of the
  model's embedding module): ``grad_i = |sum_d df/de_{i,d}|`` and
  ``inputgrad_i = |sum_d e_{i,d} df/de_{i,d}|`` (sum over the hidden dimension first,
  then the absolute value, as the original; neither is an L2 norm).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


@torch.no_grad()
def blank_out(
    predict_proba: Callable[[torch.Tensor], torch.Tensor],
    input_ids: torch.Tensor,
    blank_id: int,
    target: int,
    batch_size: int = 64,
) -> np.ndarray:
    """Blank-out importance of every position of one example ``input_ids`` (T,).

    ``predict_proba`` maps a (N, T) batch of ids to class probabilities (N, C).
    All T blanked copies run as batches, not T separate calls.
    """
    ids = input_ids.reshape(-1)
    t = ids.shape[0]
    base = predict_proba(ids[None])[0, target]
    copies = ids.repeat(t, 1)
    copies[torch.arange(t), torch.arange(t)] = blank_id
    probs = torch.cat([predict_proba(copies[i : i + batch_size]) for i in range(0, t, batch_size)])
    return (base - probs[:, target]).abs().cpu().numpy()


def embedding_gradients(
    forward: Callable[[], torch.Tensor],
    embeddings: torch.nn.Module,
    objective: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[np.ndarray, np.ndarray]:
    """(grad, grad×input) per position, each (B, T), w.r.t. the output of ``embeddings``.

    ``forward()`` runs the model and returns logits; ``objective(logits)`` returns one
    scalar per example (e.g. p(class 0) - p(class 1), or one logit).  Examples in a batch
    do not interact, so one backward pass gives every example's gradient.
    """
    captured = {}

    def hook(_module, _inputs, output):
        output.retain_grad()
        captured["e"] = output

    handle = embeddings.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = forward()
            objective(logits).sum().backward()
    finally:
        handle.remove()
    e = captured["e"]
    grad = e.grad.sum(-1).abs()
    grad_x_input = (e.grad * e).sum(-1).abs()
    return grad.detach().cpu().numpy(), grad_x_input.detach().cpu().numpy()


def prob_difference(logits: torch.Tensor) -> torch.Tensor:
    """f = p(class 0) - p(class 1), the original SVA gradient target."""
    p = torch.softmax(logits, -1)
    return p[:, 0] - p[:, 1]


def logit_of(index: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """f = logit[index]; ``-1`` is the original table3 quirk (always the last, positive logit)."""
    return lambda logits: logits[:, index]

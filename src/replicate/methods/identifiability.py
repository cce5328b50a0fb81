"""Identifiability of attention and hidden-token attribution (Brunner et al. 2020; Pascual et al. 2021).

Attention identifiability (Brunner et al. 2020, §3).  Head h of a layer adds ``A_h T_h`` to the
residual stream, with ``T_h = V_h H_h``, ``V_h = E W^V_h + 1 b_h^T`` (T × d_v, value bias
included) and ``H_h`` the head's rows of ``W^O``.  Any attention ``A'`` whose rows differ from
``A``'s by vectors of the left null space ``LN(T_h) = {x : x^T T_h = 0}`` gives the same output.
``LN(V_h H_h) = LN(V_h)`` when ``H_h`` has full row rank (generic), so the SVD of the small value
matrix ``V_h`` is used.  Its dimension is ``T - rank(V_h) >= T - d_v``.

* :func:`null_space` — rank and an orthonormal basis of ``LN(V)``: SVD in float64, rank tolerance
  ``sigma_max * max(T, d) * eps`` with ``eps`` the machine epsilon of the dtype the activations
  were *computed* in (float32 for the suite's models; a float64 eps would count float32 rounding
  noise as rank).
* :func:`effective_attention` — ``A - A N N^T`` (each row's null-space component removed) and the
  null attention ``A N N^T``.
* :func:`alternative_row` — a different valid attention row (non-negative, sums to one) with the
  same head output: ``a + t δ`` with ``δ ∈ LN(V) ∩ 1^⊥`` and ``t`` the largest step that keeps
  every entry non-negative, times ``fraction``.

Hidden-token attribution (HTA, Brunner et al. 2020 §5): ``c_{i,j} = ||∂e^l_j / ∂e^0_i||_F``,
normalised over the input tokens ``i``.  :func:`squared_jacobian_norms` computes the squared
Frobenius norms of every block of the Jacobian of any function of the embedding output ``e^0``
with forward-mode products batched by ``torch.func.vmap`` (no loop over scalar outputs): exactly,
with all ``T·D`` unit tangents, or unbiasedly with Hutchinson's estimator
``||J||_F^2 = E ||J v||^2`` (Rademacher ``v`` at one input position).  One pass gives every
layer's hidden tokens and every head's output (Pascual et al.'s attribution target) together.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from replicate.methods import stats

if TYPE_CHECKING:
    import torch

# ----------------------------------------------------------------------------- null space


def null_space(value: np.ndarray | torch.Tensor, eps: float = float(np.finfo(np.float32).eps)):
    """(rank, N, singular values) of one head's value matrix ``value`` (T, d_v).

    ``N`` (T, T - rank) is an orthonormal basis of the left null space, in float64.  ``eps``: the
    machine epsilon of the dtype the values were computed in (default float32).
    """
    import torch

    v = torch.as_tensor(value).detach().to(torch.float64)
    u, s, _ = torch.linalg.svd(v, full_matrices=True)
    tol = (float(s.max()) if s.numel() else 0.0) * max(v.shape) * eps
    rank = int((s > tol).sum())
    return rank, u[:, rank:], s


def effective_attention(attention, values, eps: float = float(np.finfo(np.float32).eps)):
    """Effective and null attention of every head of one layer and one (unpadded) sequence.

    ``attention``: (H, T, T); ``values``: (H, T, d_v).  Returns float64 arrays
    ``(effective (H, T, T), null (H, T, T), null_dims (H,))`` with effective + null = attention
    and ``effective @ V == attention @ V``.
    """
    import torch

    a = torch.as_tensor(attention).detach().to(torch.float64)
    eff, nul, dims = torch.empty_like(a), torch.empty_like(a), []
    for h in range(a.shape[0]):
        _, n, _ = null_space(values[h], eps)
        proj = (a[h] @ n) @ n.T
        eff[h], nul[h] = a[h] - proj, proj
        dims.append(n.shape[1])
    return eff.numpy(), nul.numpy(), np.array(dims)


def alternative_row(row, basis, target: int | None = None, seed: int = 0, fraction: float = 0.9) -> np.ndarray:
    """Another attention row with the same head output: ``row + t δ``, δ ∈ span(basis) ∩ 1^⊥.

    ``row``: (T,) strictly positive, summing to one; ``basis``: (T, k) orthonormal basis of the left
    null space of the head's values.  ``target=None``: δ is a random direction and ``t`` is
    ``fraction`` times the largest step that keeps every entry non-negative.  ``target=k``: δ is
    the direction that puts the most attention on key ``k`` (a linear programme over
    ``δ = N c``, ``row + δ >= 0``, ``1^T δ = 0``), scaled by ``fraction`` (the row then stays
    strictly positive).  The sum and ``row @ V`` are unchanged up to rounding.  Raises ValueError
    if ``LN ∩ 1^⊥`` is {0}.
    """
    import torch

    a = torch.as_tensor(row).detach().to(torch.float64)
    n = torch.as_tensor(basis).to(torch.float64)
    if n.shape[1] == 0:
        raise ValueError("the left null space is {0}: the attention row is identifiable")
    w = n.sum(0)  # N^T 1: 1^T (N c) = w·c
    if target is not None:
        from scipy.optimize import linprog

        nn_, aa, ww = n.numpy(), a.numpy(), w.numpy()
        res = linprog(-nn_[target], A_ub=-nn_, b_ub=aa, A_eq=ww[None], b_eq=[0.0], bounds=[(None, None)] * nn_.shape[1],
                      method="highs")
        if res.status != 0:
            raise ValueError(f"linear programme failed: {res.message}")
        delta = n @ torch.from_numpy(res.x)
        delta = delta - n @ (w * (w @ torch.from_numpy(res.x)) / (w @ w)) if float(w.norm()) > 1e-12 else delta
        if float(delta.abs().max()) < 1e-9:
            raise ValueError("LN(V) ∩ 1^⊥ is {0}: no alternative row keeps the sum at one")
    else:
        gen = torch.Generator().manual_seed(seed)
        c = torch.randn(n.shape[1], generator=gen, dtype=torch.float64)
        if float(w.norm()) > 1e-12:
            c = c - w * (w @ c) / (w @ w)
        delta = n @ c
        if float(delta.abs().max()) < 1e-9:
            raise ValueError("LN(V) ∩ 1^⊥ is {0}: no alternative row keeps the sum at one")
    neg = delta < 0
    t_max = float((a[neg] / -delta[neg]).min()) if bool(neg.any()) else 1.0
    if target is not None:
        t_max = min(1.0, t_max)  # the LP step (1) up to its rounding
    return (a + fraction * t_max * delta).numpy()


def token_type_mass(attention: np.ndarray, types: list[str]) -> dict[str, np.ndarray]:
    """Mean attention mass per key token type, averaged over query positions: {type: (..., )}.

    ``attention``: (..., T, T); ``types``: T labels.  Mass may be negative for effective attention.
    """
    labels = np.asarray(types)
    return {t: attention[..., labels == t].sum(-1).mean(-1) for t in sorted(set(types))}


def token_types(tokens: list[str], cls: str = "[CLS]", sep: str = "[SEP]") -> list[str]:
    """Clark et al. (2019) token groups: [CLS], [SEP], punctuation ("." and ","), other."""
    return ["[CLS]" if t == cls else "[SEP]" if t == sep else "punct" if t in {".", ","} else "other" for t in tokens]


# ----------------------------------------------------------------------------- Jacobian norms


@contextlib.contextmanager
def embedding_input(model: torch.nn.Module):
    """Inside: ``slot['e0']`` replaces the output of ``model.embeddings`` (the HTA input e^0)."""
    slot: dict = {}
    handle = model.embeddings.register_forward_hook(lambda _m, _i, out: slot["e0"] if "e0" in slot else out)
    try:
        yield slot
    finally:
        handle.remove()


def encoder_outputs(model, inst, input_ids: torch.Tensor, slot: dict) -> Callable:
    """f(e0 (T, D)) -> (hidden states (L, T, D) of layers 1..L, per-head outputs (L, H, T, d_v)).

    For one unpadded sequence ``input_ids`` (T,); ``inst`` an :class:`Instrument` on ``model``
    and ``slot`` from :func:`embedding_input`.
    """
    import torch

    def f(e0):
        slot["e0"] = e0[None]
        with inst.recording(keep_grad=True, values=True):
            out = model(input_ids=input_ids[None], output_hidden_states=True)
        hidden = torch.stack(out.hidden_states[1:])[:, 0]
        contexts = torch.stack(inst.contexts)[:, 0]
        return hidden, contexts

    return f


def squared_jacobian_norms(f: Callable, e0: torch.Tensor, probes: int | None = None, chunk: int = 256,
                           seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Squared Frobenius norms of the Jacobian blocks of ``f`` w.r.t. each input position of ``e0``.

    ``e0``: (T, D).  ``f(e0)`` returns a tuple of tensors of shape (..., F); for each the result
    has shape (..., T_in): entry ``[..., i]`` is ``||∂out[...] / ∂e0[i]||_F^2`` (squares summed
    over the last output axis F and the D input features).  ``probes=None``: exact, with all
    ``T·D`` unit tangents; an integer: Hutchinson's estimate with that many Rademacher tangents
    per input position.  Tangents run through ``vmap(jvp)`` in chunks of ``chunk``.
    """
    import torch

    t, d = e0.shape
    if probes is None:
        pos = torch.arange(t).repeat_interleave(d)
        feat = torch.arange(d).repeat(t)
        n = t * d
        weight = 1.0
    else:
        gen = torch.Generator().manual_seed(seed)
        pos = torch.arange(t).repeat_interleave(probes)
        n = t * probes
        weight = 1.0 / probes

    def tangent_batch(lo, hi):
        tan = torch.zeros(hi - lo, t, d, dtype=e0.dtype, device=e0.device)
        rows = torch.arange(hi - lo, device=e0.device)
        if probes is None:
            tan[rows, pos[lo:hi].to(e0.device), feat[lo:hi].to(e0.device)] = 1.0
        else:
            signs = (torch.randint(0, 2, (hi - lo, d), generator=gen).to(e0.dtype) * 2 - 1).to(e0.device)
            tan[rows, pos[lo:hi].to(e0.device)] = signs
        return tan

    def push(tan):
        return torch.func.jvp(f, (e0,), (tan,))[1]

    batched = torch.func.vmap(push)
    totals = None
    with torch.no_grad():
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            outs = batched(tangent_batch(lo, hi))
            sq = [o.pow(2).sum(-1) for o in outs]  # each (N, ...)
            if totals is None:
                totals = [torch.zeros(*s.shape[1:], t, dtype=torch.float64) for s in sq]
            for tot, s in zip(totals, sq):
                tot.index_add_(tot.dim() - 1, pos[lo:hi], s.to("cpu", torch.float64).movedim(0, -1) * weight)
    return tuple(totals)


def normalise(norms: np.ndarray | torch.Tensor, axis: int = -1) -> np.ndarray:
    """Contributions normalised over input tokens: ``c / sum_i c`` along ``axis``."""
    c = np.asarray(norms, dtype=np.float64)
    return c / c.sum(axis=axis, keepdims=True)


def hta(model, inst, input_ids: torch.Tensor, probes: int | None = None, chunk: int = 256, seed: int = 0):
    """HTA and head-output attribution of one unpadded sequence.

    Runs on the device of ``model`` (CUDA when the caller put it there).
    Returns ``(hidden (L, T_out, T_in), heads (L, H, T_out, T_in), e0)``: Frobenius-norm
    contributions ``||∂·/∂e^0_i||_F`` normalised over the input tokens ``i`` (rows sum to one).
    """
    import torch

    input_ids = input_ids.to(next(model.parameters()).device)
    with embedding_input(model) as slot, torch.no_grad():
        e0 = model.embeddings(input_ids=input_ids[None])[0].detach()
        f = encoder_outputs(model, inst, input_ids, slot)
        sq_hidden, sq_heads = squared_jacobian_norms(f, e0, probes=probes, chunk=chunk, seed=seed)
    return normalise(sq_hidden.clamp_min(0).sqrt()), normalise(sq_heads.clamp_min(0).sqrt()), e0


# ----------------------------------------------------------------------------- comparisons


def jensen_shannon(p: np.ndarray, q: np.ndarray, axis: int = -1) -> np.ndarray:
    """Jensen–Shannon divergence (natural log, in [0, ln 2]) between distributions along ``axis``."""
    p = np.clip(np.asarray(p, np.float64), 0, None)
    q = np.clip(np.asarray(q, np.float64), 0, None)
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log(a / b), 0.0).sum(axis)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation between matching rows (last axis) of ``a`` and ``b``; NaN for a
    constant row (:func:`replicate.methods.stats.pearson` along the last axis)."""
    return stats.pearson(a, b, axis=-1)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the two arrays flattened; NaN when one is constant."""
    return stats.pearson(a, b)


def offset_profile(matrix: np.ndarray, max_offset: int) -> np.ndarray:
    """Mean of ``matrix[..., j, i]`` over query rows j per offset i - j in [-max_offset, max_offset].

    ``matrix``: (..., T, T).  Offsets outside the sequence are NaN-free (averaged over valid rows).
    """
    t = matrix.shape[-1]
    out = []
    for off in range(-max_offset, max_offset + 1):
        rows = [j for j in range(t) if 0 <= j + off < t]
        out.append(np.stack([matrix[..., j, j + off] for j in rows], -1).mean(-1) if rows else
                   np.full(matrix.shape[:-2], math.nan))
    return np.stack(out, -1)


def attention_and_values(model, inst, input_ids: torch.Tensor):
    """(attention (L, H, T, T), values (L, H, T, d_v), contexts (L, H, T, d_v)) of one unpadded sequence, on the CPU."""
    import torch

    with torch.no_grad():
        input_ids = input_ids.to(next(model.parameters()).device)
        with inst.recording(values=True) as att:
            model(input_ids=input_ids[None])
        return (torch.stack(att)[:, 0].cpu(), torch.stack(inst.values)[:, 0].cpu(),
                torch.stack(inst.contexts)[:, 0].cpu())

"""Relevance methods with one call shape, in one registry (a benchmark is a loop over ``METHODS``).

Every method is called the same way (captum's ``attribute(inputs, target=...)`` is the model)::

    rel = METHODS[name](model, inst, batch, target, **options)    # float64 array (rows, T)

* ``model``: a classifier (a transformers ``...ForSequenceClassification`` or the suite's
  :class:`~replicate.models.sva_transformer.CLSEncoderClassifier`); the attention-based methods
  and HTA also take a bare transformers encoder.  Put it in ``eval()`` mode first.
* ``inst``: the :class:`~replicate.instrument.Instrument` attached to ``model``.
* ``batch``: the model's keyword inputs for ONE unpadded example, tensors with a leading batch
  dimension of 1 (``{"input_ids": (1, T)}``, or a tokenizer's output for one text).
* ``target``: the class whose prediction is explained — an int (its logit for the gradients,
  its probability for blank-out), a callable ``objective(logits (B, C)) -> (B,)`` for the
  gradients (e.g. :func:`~replicate.methods.attribution.prob_difference`), or ``None`` for the
  model's predicted class.  The attention-based methods and HTA explain a query position
  instead (``aggregate``) and ignore ``target``.
* returns ``(rows, T)``: the relevance of each of the ``T`` input tokens.  ``rows = L`` (one row
  per layer, layer 1 nearest the input) for the layer-wise methods (:data:`LAYERWISE`):
  raw attention, rollout, flow, effective attention, HTA — row ``l`` is the relevance for the
  query row(s) chosen by ``aggregate`` at layer ``l + 1`` (``"cls"``: position 0, as Abnar &
  Zuidema's Tables 1-2; ``"max"``/``"sum"`` over all query rows, see
  :func:`replicate.methods.attention.relevance`).  ``rows = 1`` for the output-level methods
  (blank-out, input gradient, gradient×input): their one row is the model's output.

Each entry only wires the call shape to the shared implementation (``replicate.methods.attention``,
``attribution``, ``identifiability``); none computes a method itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from replicate.methods import attention, attribution
from replicate.methods import identifiability as idf

__all__ = ["METHODS", "LAYERWISE", "attention_stack", "raw_attention", "rollout", "flow", "blank_out",
           "input_gradient", "gradient_x_input", "effective_attention", "hidden_token_attribution"]


# ----------------------------------------------------------------------------- plumbing


def _one(batch: dict) -> dict:
    shapes = {k: tuple(v.shape) for k, v in batch.items() if torch.is_tensor(v)}
    if "input_ids" not in batch or any(len(s) < 1 or s[0] != 1 for s in shapes.values()):
        raise ValueError(f"batch must hold input_ids and tensors of ONE example (leading dimension 1); got {shapes}")
    return batch


def _ids(batch: dict) -> torch.Tensor:
    """The (T,) ids of a one-example batch whose other inputs are the defaults (no padding, one
    segment): the identifiability functions run the model on ``input_ids`` alone."""
    mask, types = batch.get("attention_mask"), batch.get("token_type_ids")
    if (mask is not None and not bool((mask != 0).all())) or (types is not None and bool((types != 0).any())):
        raise ValueError("effective attention and HTA run the model on input_ids alone: pass one unpadded, "
                         "single-segment example (attention_mask all 1, token_type_ids all 0)")
    return _one(batch)["input_ids"][0]


def _logits(model, batch: dict) -> torch.Tensor:
    out = model(**batch)
    return out.logits if hasattr(out, "logits") else out


def _embeddings(model) -> torch.nn.Module:
    """The module whose output the input gradients are taken against (the input embeddings)."""
    if hasattr(model, "embeddings"):
        return model.embeddings
    return model.base_model.embeddings


def _class(model, batch: dict, target) -> int:
    if target is not None:
        return int(target)
    with torch.no_grad():
        return int(_logits(model, batch)[0].argmax())


@torch.no_grad()
def attention_stack(model, inst, batch: dict) -> np.ndarray:
    """(L, H, T, T) float64 post-softmax attention of one example (``inst`` records it)."""
    with inst.recording() as att:
        model(**_one(batch))
    return torch.stack([a[0] for a in att]).double().cpu().numpy()


# ----------------------------------------------------------------------------- attention-based


def raw_attention(model, inst, batch: dict, target=None, aggregate: str = "cls") -> np.ndarray:
    """Raw attention (Abnar & Zuidema 2020 §3): the head mean ``A_l`` of each layer, row(s) by
    ``aggregate``. -> (L, T)."""
    return attention.relevance(attention.raw_attention(attention_stack(model, inst, batch)), aggregate)


def rollout(model, inst, batch: dict, target=None, aggregate: str = "cls", residual: bool = True) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020, eq. 1): ``R_1 = Â_1``, ``R_l = Â_l R_{l-1}`` with
    ``Â = 0.5 A + 0.5 I``. -> (L, T)."""
    return attention.relevance(attention.rollout(attention_stack(model, inst, batch), residual), aggregate)


def flow(model, inst, batch: dict, target=None, aggregate: str = "cls", residual: bool = True,
         sources=None, layers=None) -> np.ndarray:
    """Attention flow (Abnar & Zuidema 2020 §3): the max-flow from each source node of layer ``l``
    to each input token in the layered graph with capacities ``Â``, normalised over the tokens.

    ``sources``: default ``"cls"`` for ``aggregate="cls"`` (position 0 only, the cheap case),
    else ``"all"``; ``layers``: 0-based layers to compute (the others' rows are NaN). -> (L, T).
    """
    if sources is None:
        sources = "cls" if aggregate == "cls" else "all"
    mat = attention.flow(attention_stack(model, inst, batch), sources=sources, residual=residual, layers=layers)
    return attention.relevance(mat, aggregate)


def effective_attention(model, inst, batch: dict, target=None, aggregate: str = "cls") -> np.ndarray:
    """Effective attention (Brunner et al. 2020 §4): ``Ã = A - A N Nᵀ`` per head, ``N`` an
    orthonormal basis of the left null space of the head's value matrix (the part of ``A`` that
    changes the layer output), averaged over heads like raw attention. -> (L, T)."""
    att, val, _ = idf.attention_and_values(model, inst, _ids(batch))
    eff = np.stack([idf.effective_attention(att[l], val[l])[0] for l in range(att.shape[0])])
    return attention.relevance(attention.head_mean(eff), aggregate)


def hidden_token_attribution(model, inst, batch: dict, target=None, aggregate: str = "cls",
                             probes: int | None = None, chunk: int = 256, seed: int = 0) -> np.ndarray:
    """Hidden-token attribution (Brunner et al. 2020 §5): ``c_{i,j} = ||∂e^l_j / ∂e^0_i||_F``
    normalised over the input tokens ``i``, for hidden token ``j`` of each layer ``l``
    (exact with ``probes=None``, else Hutchinson's estimate). Needs a transformers encoder
    (a classifier's ``base_model`` is used). -> (L, T)."""
    base = getattr(model, "base_model", model)
    hidden, _, _ = idf.hta(base, inst, _ids(batch), probes=probes, chunk=chunk, seed=seed)
    return attention.relevance(hidden, aggregate)


# ----------------------------------------------------------------------------- output-level


def blank_out(model, inst, batch: dict, target=None, blank_id: int | None = None, batch_size: int = 64) -> np.ndarray:
    """Blank-out (Abnar & Zuidema 2020 §4): ``|p_target(x) - p_target(x with token i -> blank)|``.

    ``blank_id``: the blank token (``<unk>`` / ``[MASK]``), required. -> (1, T).
    """
    if blank_id is None:
        raise ValueError("blank_out needs blank_id=<id of the blank token> (<unk> or [MASK])")
    batch = _one(batch)
    rest = {k: v for k, v in batch.items() if k != "input_ids"}

    def proba(ids):
        inputs = {k: (v.expand(ids.shape[0], *v.shape[1:]) if torch.is_tensor(v) else v) for k, v in rest.items()}
        return torch.softmax(_logits(model, {"input_ids": ids, **inputs}), -1)

    ids = batch["input_ids"][0]
    return attribution.blank_out(proba, ids, blank_id, _class(model, batch, target), batch_size)[None].astype(np.float64)


def _objective(model, batch: dict, target) -> Callable[[torch.Tensor], torch.Tensor]:
    return target if callable(target) else attribution.logit_of(_class(model, batch, target))


def input_gradient(model, inst, batch: dict, target=None) -> np.ndarray:
    """Input gradient (Abnar & Zuidema 2020 §4): ``|Σ_d ∂f/∂e_{i,d}|`` w.r.t. the input embeddings,
    ``f`` the target's logit (or the objective ``target``). -> (1, T)."""
    batch = _one(batch)
    grad, _ = attribution.embedding_gradients(lambda: _logits(model, batch), _embeddings(model),
                                              _objective(model, batch, target))
    return grad.astype(np.float64)


def gradient_x_input(model, inst, batch: dict, target=None) -> np.ndarray:
    """Gradient × input (Abnar & Zuidema 2020 §4): ``|Σ_d e_{i,d} ∂f/∂e_{i,d}|``. -> (1, T)."""
    batch = _one(batch)
    _, gxi = attribution.embedding_gradients(lambda: _logits(model, batch), _embeddings(model),
                                             _objective(model, batch, target))
    return gxi.astype(np.float64)


#: name -> method(model, inst, batch, target, **options) -> float64 (rows, T)
METHODS: dict[str, Callable[..., np.ndarray]] = {
    "raw_attention": raw_attention,
    "rollout": rollout,
    "flow": flow,
    "blank_out": blank_out,
    "input_gradient": input_gradient,
    "gradient_x_input": gradient_x_input,
    "effective_attention": effective_attention,
    "hidden_token_attribution": hidden_token_attribution,
}

#: the methods with one row per layer (the others return one row, the model's output)
LAYERWISE = frozenset({"raw_attention", "rollout", "flow", "effective_attention", "hidden_token_attribution"})

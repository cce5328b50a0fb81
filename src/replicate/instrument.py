"""One instrumented attention for Hugging Face encoders, encoder-decoders (Marian) and the suite's
own transformers.

Every self-attention in an instrumented model goes through :func:`attend`, which

* records the post-softmax attention probabilities of each layer (optionally kept
  in the autograd graph, so gradients with respect to them can be read);
* replaces chosen heads by the uniform distribution over the non-padding keys
  (Kovaleva et al. 2019, §5 "disabled" heads);
* multiplies each head's attention (hence its output, which is linear in it) by a
  gate ``g[l, h]``: 0/1 masks, or continuous gates whose gradient is Michel et
  al.'s (2019) head importance (eq. 2 there).

transformers 5.x dropped ``head_mask`` and ``prune_heads``; this module
registers its own attention function with ``AttentionInterface`` together with
the eager mask function (without the mask registration padded keys would not be
masked). Supported: transformers >= 5.0 (tested with 5.23).  The suite's own
models call :func:`attend` directly.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import torch
from torch import nn

IMPLEMENTATION = "replicate_gated"


@dataclass
class _State:
    gates: torch.Tensor  # (L, H) float
    uniform: torch.Tensor  # (L, H) bool
    recording: bool = False
    keep_grad: bool = False
    record_values: bool = False
    detach_probs: bool = False  # attention weights held constant in the backward pass (LRP's attention-core rule)
    attentions: list = field(default_factory=list)
    values: list = field(default_factory=list)  # (B, H, T, d) value vectors (with bias), when asked
    contexts: list = field(default_factory=list)  # (B, H, T, d) per-head outputs A·V (before W^O), when asked


def attend(module: nn.Module, query, key, value, attention_mask, scaling: float, dropout: float = 0.0):
    """Scaled dot-product attention with recording, uniform heads and gates.

    ``query``/``key``/``value``: (B, H, T, d); ``attention_mask``: additive, broadcastable
    to (B, H, Tq, Tk) with 0 for visible keys and a large negative number for hidden ones,
    or None.  Returns (output (B, Tq, H, d), probabilities (B, H, Tq, Tk)).  Without an
    instrument attached to ``module`` this is plain eager attention.
    """
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    probs = torch.softmax(scores, dim=-1)
    hooked = getattr(module, "_replicate", None)
    if hooked is not None:
        state, layer = hooked
        uniform = state.uniform[layer].to(probs.device)
        if bool(uniform.any()):
            if attention_mask is None:
                visible = torch.ones_like(probs)
            else:
                visible = (attention_mask.expand_as(probs) > torch.finfo(probs.dtype).min / 2).to(probs.dtype)
            flat = visible / visible.sum(-1, keepdim=True).clamp_min(1.0)
            probs = torch.where(uniform.view(1, -1, 1, 1), flat, probs)
        if state.recording:
            if state.keep_grad and probs.requires_grad:
                probs.retain_grad()
            state.attentions[layer] = probs if state.keep_grad else probs.detach()
    probs_used = nn.functional.dropout(probs, p=dropout, training=module.training)
    if hooked is not None and state.detach_probs:
        probs_used = probs_used.detach()
    if hooked is not None:
        probs_used = probs_used * state.gates[layer].to(probs.device, probs.dtype).view(1, -1, 1, 1)
    context = torch.matmul(probs_used, value)
    if hooked is not None and state.recording and state.record_values:
        state.values[layer] = value if state.keep_grad else value.detach()
        state.contexts[layer] = context if state.keep_grad else context.detach()
    out = context.transpose(1, 2).contiguous()
    return out, probs


def _hf_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    return attend(module, query, key, value, attention_mask, scaling, dropout)


_registered = False


def _register() -> None:
    global _registered
    if _registered:
        return
    from transformers import AttentionInterface, AttentionMaskInterface
    from transformers.masking_utils import eager_mask

    AttentionInterface.register(IMPLEMENTATION, _hf_attention)
    AttentionMaskInterface.register(IMPLEMENTATION, eager_mask)
    _registered = True


#: The attention types of an encoder-decoder (Michel et al. §3.2, Table 2), in gate-row order.
KINDS = ("Enc-Enc", "Dec-Dec", "Enc-Dec")


def seq2seq_attention(model: nn.Module) -> tuple[list[nn.Module], list[str]] | None:
    """An encoder-decoder's (Marian/BART-style) attention modules and their kinds: every encoder
    layer's ``self_attn``, then every decoder layer's ``self_attn``, then its ``encoder_attn``;
    None for other models."""
    if not getattr(getattr(model, "config", None), "is_encoder_decoder", False):
        return None
    enc, dec = model.get_encoder().layers, model.get_decoder().layers
    groups = ([l.self_attn for l in enc], [l.self_attn for l in dec], [l.encoder_attn for l in dec])
    return [m for g in groups for m in g], [k for k, g in zip(KINDS, groups) for _ in g]


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """Attention modules in forward order (one per layer; for an encoder-decoder, see
    :func:`seq2seq_attention`)."""
    own = [m for m in model.modules() if getattr(m, "is_replicate_attention", False)]
    if own:
        return own
    s2s = seq2seq_attention(model)
    if s2s is not None:
        return s2s[0]
    mods = [
        m
        for m in model.modules()
        if type(m).__name__.endswith("SelfAttention") and hasattr(m, "scaling")
    ]
    if not mods:
        raise TypeError(
            f"{type(model).__name__}: no self-attention modules found; supported are BERT-family "
            "encoders of transformers>=5 and the suite's own models"
        )
    return mods


def _n_heads(module: nn.Module) -> int:
    for name in ("num_attention_heads", "n_heads", "num_heads"):
        if hasattr(module, name):
            return int(getattr(module, name))
    raise TypeError(f"cannot tell the number of heads of {type(module).__name__}")


class Instrument:
    """Attach gates, uniform heads and attention recording to ``model``.

    >>> inst = Instrument(model)
    >>> inst.gates[2, 5] = 0.0                 # mask head 5 of layer 3
    >>> with inst.recording() as att:          # att: list of (B, H, T, T), one per layer
    ...     model(**batch)

    For an encoder-decoder (MarianMTModel) the rows of ``gates`` are the encoder self-attention
    layers, then the decoder self-attention layers, then the encoder-decoder attention layers;
    ``inst.kinds[row]`` says which (``Enc-Enc``, ``Dec-Dec``, ``Enc-Dec``).
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.modules = attention_modules(model)
        self.n_layers = len(self.modules)
        s2s = seq2seq_attention(model)
        # the attention type of each gate row (encoder-decoders), else "self" for every layer
        self.kinds = s2s[1] if s2s is not None else ["self"] * self.n_layers
        heads = {_n_heads(m) for m in self.modules}
        if len(heads) != 1:
            raise TypeError(f"layers have different head counts: {sorted(heads)}")
        self.n_heads = heads.pop()
        self.state = _State(
            gates=torch.ones(self.n_layers, self.n_heads),
            uniform=torch.zeros(self.n_layers, self.n_heads, dtype=torch.bool),
        )
        for i, m in enumerate(self.modules):
            m._replicate = (self.state, i)
        if not getattr(self.modules[0], "is_replicate_attention", False):
            _register()
            model.set_attn_implementation(IMPLEMENTATION)

    @property
    def gates(self) -> torch.Tensor:
        return self.state.gates

    @gates.setter
    def gates(self, value: torch.Tensor) -> None:
        value = torch.as_tensor(value)
        if tuple(value.shape) != (self.n_layers, self.n_heads):
            raise ValueError(f"gates must have shape {(self.n_layers, self.n_heads)}, got {tuple(value.shape)}")
        self.state.gates = value

    @property
    def uniform(self) -> torch.Tensor:
        return self.state.uniform

    @property
    def values(self) -> list:
        return self.state.values

    @property
    def contexts(self) -> list:
        return self.state.contexts

    def reset(self) -> None:
        self.state.gates = torch.ones(self.n_layers, self.n_heads)
        self.state.uniform = torch.zeros(self.n_layers, self.n_heads, dtype=torch.bool)

    @contextlib.contextmanager
    def recording(self, keep_grad: bool = False, values: bool = False):
        """Record each layer's attention probabilities during the forward passes inside.

        With ``values=True`` each layer's value vectors (B, H, T, d, value bias included) and
        per-head outputs A·V (B, H, T, d, before the output projection) are recorded too, in
        ``self.values`` and ``self.contexts``.  ``keep_grad=True`` keeps everything recorded
        in the graph (also under ``torch.func`` transforms).
        """
        self.state.recording = True
        self.state.keep_grad = keep_grad
        self.state.record_values = values
        self.state.attentions = [None] * self.n_layers
        self.state.values = [None] * self.n_layers
        self.state.contexts = [None] * self.n_layers
        try:
            yield self.state.attentions
        finally:
            self.state.recording = False
            self.state.keep_grad = False
            self.state.record_values = False
        missing = [i for i, a in enumerate(self.state.attentions) if a is None]
        if missing:
            raise RuntimeError(f"no attention was recorded for layers {missing}: was the model run inside recording()?")

    def detach(self) -> None:
        """Remove the instrument (the model goes back to eager attention)."""
        for m in self.modules:
            m._replicate = None
        if not getattr(self.modules[0], "is_replicate_attention", False):
            self.model.set_attn_implementation("eager")

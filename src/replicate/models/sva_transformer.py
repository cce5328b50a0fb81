"""The suite's own small transformer: Abnar & Zuidema's (2020) verb-number classifier.

A bidirectional encoder of pre-LayerNorm GPT-2 blocks without a causal mask, learned
position embeddings, a ``<cls>`` token at position 0 whose final-layer state feeds a
linear classifier (paper §3; Reflect's ``ClassifierBERT`` with ``small_gpt_v9``:
6 layers, 8 heads, d = 128).  Attention goes through :func:`replicate.instrument.attend`
so it is recorded and gated exactly as for Hugging Face models.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from replicate.instrument import attend


@dataclass
class EncoderConfig:
    vocab_size: int
    n_labels: int = 2
    d_model: int = 128
    n_layers: int = 6
    n_heads: int = 8
    max_len: int = 64
    embd_pdrop: float = 0.2
    resid_pdrop: float = 0.2
    attn_pdrop: float = 0.2
    initializer_range: float = 0.05
    pad_id: int = 0


class SelfAttention(nn.Module):
    is_replicate_attention = True

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.num_attention_heads = cfg.n_heads
        self.head_dim = cfg.d_model // cfg.n_heads
        self.scaling = self.head_dim**-0.5
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.attn_pdrop = cfg.attn_pdrop
        self._replicate = None

    def forward(self, x, mask):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.num_attention_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out, _ = attend(self, q, k, v, mask, self.scaling, self.attn_pdrop)
        return self.proj(out.reshape(b, t, d))


class Block(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, 4 * cfg.d_model), nn.GELU(), nn.Linear(4 * cfg.d_model, cfg.d_model)
        )
        self.drop = nn.Dropout(cfg.resid_pdrop)

    def forward(self, x, mask):
        x = x + self.drop(self.attn(self.ln1(x), mask))
        return x + self.drop(self.mlp(self.ln2(x)))


class Embeddings(nn.Module):
    """Token + position embedding: the "input embeddings" the gradients are taken against."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Embedding(cfg.max_len, cfg.d_model)

    def forward(self, ids):
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.tok(ids) + self.pos(positions)[None]


class CLSEncoderClassifier(nn.Module):
    """``forward(input_ids, attention_mask=None) -> logits (B, n_labels)`` read at position 0."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = Embeddings(cfg)
        self.drop = nn.Dropout(cfg.embd_pdrop)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.classifier = nn.Linear(cfg.d_model, cfg.n_labels)
        self.apply(self._init)

    def _init(self, m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=self.config.initializer_range)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask=None):
        if input_ids.shape[1] > self.config.max_len:
            raise ValueError(f"input of length {input_ids.shape[1]} exceeds max_len {self.config.max_len}")
        if attention_mask is None:
            attention_mask = input_ids != self.config.pad_id
        # additive key mask (B, 1, 1, T): padded keys are hidden from every query
        additive = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.drop(self.embeddings(input_ids))
        for block in self.blocks:
            x = block(x, additive)
        return self.classifier(self.ln_f(x[:, 0]))

    def save(self, folder: str | Path, extra: dict | None = None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.state_dict(), folder / "model.pt")
        (folder / "config.json").write_text(json.dumps({**asdict(self.config), **(extra or {})}, indent=1))

    @classmethod
    def load(cls, folder: str | Path, map_location="cpu") -> "CLSEncoderClassifier":
        folder = Path(folder)
        raw = json.loads((folder / "config.json").read_text())
        fields = EncoderConfig.__dataclass_fields__
        model = cls(EncoderConfig(**{k: v for k, v in raw.items() if k in fields}))
        model.load_state_dict(torch.load(folder / "model.pt", map_location=map_location))
        return model.eval()

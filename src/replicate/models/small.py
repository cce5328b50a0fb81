"""Small classifiers of Abnar, Dehghani & Zuidema (2020), scaled by their configs.

Every model's ``forward(x, ...)`` returns ``(logits, representation)``: the representation is the
penultimate layer the paper compares in RSA (LSTM final state, ``<cls>`` or last-token state, the
MLP's last hidden layer, the CNN's pooled features).

- :class:`LSTMClassifier`: embedding, stacked LSTM, the last non-pad state -> linear (``cl_lstm``);
- :class:`TransformerClassifier`: pre-LayerNorm GPT-2 blocks (the suite's
  :class:`replicate.models.sva_transformer.Block`), ``kind`` = ``cls`` (bidirectional, ``<cls>`` at
  position 0: ``cl_bert``), ``seq`` (causal, last token: ``cl_gpt2``), ``useq`` (causal, one block
  shared by all layers: the Universal Transformer ``cl_gpt2_shared``);
- :class:`MLP` (``ff_mnist4``: dense layers each with ReLU, BatchNorm, dropout) and :class:`CNN`
  (``vcnn_mnist7``: 3x3 convolutions each with channel max-out, BatchNorm, ReLU, max-pool, dropout;
  global average pooling).
"""

from __future__ import annotations

import torch
from torch import nn

from replicate.models.sva_transformer import Block, EncoderConfig

SEQ_KINDS = ("lstm", "cls", "seq", "useq")


class LSTMClassifier(nn.Module):
    def __init__(self, vocab_size: int, d_embed: int, d_hidden: int, n_layers: int, dropout: float,
                 input_dropout: float, n_labels: int = 2, pad_id: int = 0):
        super().__init__()
        self.pad_id = pad_id
        self.embed = nn.Embedding(vocab_size, d_embed, padding_idx=pad_id)
        self.in_drop = nn.Dropout(input_dropout)
        self.lstm = nn.LSTM(d_embed, d_hidden, n_layers, batch_first=True, dropout=dropout if n_layers > 1 else 0.0)
        self.out_drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(d_hidden, n_labels)

    def forward(self, ids):
        lengths = (ids != self.pad_id).sum(1).clamp_min(1)
        packed = nn.utils.rnn.pack_padded_sequence(self.in_drop(self.embed(ids)), lengths.cpu(), batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        rep = h[-1]
        return self.classifier(self.out_drop(rep)), rep


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size: int, kind: str, d_model: int, n_layers: int, n_heads: int, max_len: int,
                 dropout: float, n_labels: int = 2, pad_id: int = 0):
        super().__init__()
        if kind not in ("cls", "seq", "useq"):
            raise ValueError(f"transformer kind {kind!r} is not cls | seq | useq")
        self.kind, self.pad_id, self.n_layers, self.max_len = kind, pad_id, n_layers, max_len
        cfg = EncoderConfig(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                            max_len=max_len, embd_pdrop=dropout, resid_pdrop=dropout, attn_pdrop=dropout, pad_id=pad_id)
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(1 if kind == "useq" else n_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.classifier = nn.Linear(d_model, n_labels)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=cfg.initializer_range)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def forward(self, ids):
        ids = ids[:, : self.max_len]
        b, t = ids.shape
        keep = ids != self.pad_id
        neg = torch.finfo(torch.float32).min
        mask = (1.0 - keep[:, None, None, :].float()) * neg  # padded keys hidden (B, 1, 1, T)
        if self.kind != "cls":
            causal = torch.triu(torch.ones(t, t, dtype=torch.bool, device=ids.device), 1)
            mask = torch.clamp(mask + causal.float()[None, None] * neg, min=neg)
        x = self.drop(self.tok(ids) + self.pos(torch.arange(t, device=ids.device))[None])
        for layer in range(self.n_layers):
            x = self.blocks[0 if self.kind == "useq" else layer](x, mask)
        x = self.ln_f(x)
        if self.kind == "cls":
            rep = x[:, 0]
        else:
            rep = x[torch.arange(b, device=ids.device), keep.sum(1).clamp_min(1) - 1]
        return self.classifier(rep), rep


def sequence_model(kind: str, vocab_size: int, cfg: dict, pad_id: int) -> nn.Module:
    """One of :data:`SEQ_KINDS` from its config section (``lstm`` or ``transformer`` keys)."""
    if kind == "lstm":
        c = cfg["lstm"]
        return LSTMClassifier(vocab_size, c["d_embed"], c["d_hidden"], c["n_layers"], c["dropout"], c["input_dropout"],
                              pad_id=pad_id)
    c = cfg["transformer"] if kind != "useq" else {**cfg["transformer"], **cfg.get("universal", {})}
    return TransformerClassifier(vocab_size, kind, c["d_model"], c["n_layers"], c["n_heads"], c["max_len"],
                                 c["dropout"], pad_id=pad_id)


class MLP(nn.Module):
    def __init__(self, hidden=(512, 128, 32), dropout: float = 0.1, n_in: int = 784, n_labels: int = 10):
        super().__init__()
        layers, d = [], n_in
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.BatchNorm1d(h), nn.Dropout(dropout)]
            d = h
        self.body = nn.Sequential(nn.Flatten(), *layers)
        self.classifier = nn.Linear(d, n_labels)

    def forward(self, x):
        rep = self.body(x)
        return self.classifier(rep), rep


class MaxOut(nn.Module):
    """Channel max-out: ``c`` channels -> ``k`` by the max over groups of c/k consecutive channels."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x):
        b, c, h, w = x.shape
        return x.view(b, self.k, c // self.k, h, w).amax(2)


class CNN(nn.Module):
    def __init__(self, filters=(128, 64, 64), maxout=(128, 64, 16), pools=(1, 2, 2), dropout: float = 0.3,
                 n_labels: int = 10):
        super().__init__()
        layers, c = [], 1
        for f, k, p in zip(filters, maxout, pools):
            layers += [nn.Conv2d(c, f, 3, padding=1), MaxOut(k), nn.BatchNorm2d(k), nn.ReLU()]
            if p > 1:
                layers.append(nn.MaxPool2d(p))
            layers.append(nn.Dropout(dropout))
            c = k
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(c, n_labels)

    def forward(self, x):
        rep = self.body(x[:, None] if x.dim() == 3 else x)
        return self.classifier(rep), rep


def vision_model(kind: str, cfg: dict) -> nn.Module:
    if kind == "mlp":
        return MLP(tuple(cfg["mlp"]["hidden"]), cfg["mlp"]["dropout"])
    if kind == "cnn":
        c = cfg["cnn"]
        return CNN(tuple(c["filters"]), tuple(c["maxout"]), tuple(c["pools"]), c["dropout"])
    raise ValueError(f"vision model {kind!r} is not mlp | cnn")

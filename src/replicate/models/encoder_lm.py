"""Language models on the translation model's encoder (Voita, Sennrich & Titov 2019): a left-to-right LM and a
BERT-style masked LM with the architecture, vocabulary and initialisation of the MT encoder.

* :func:`init_encoder` builds the MarianMTModel of the shared translation model under
  ``seed_everything(seed)`` (as the MT trainer does) and keeps its encoder: the LM and MLM start from
  exactly the MT encoder's initial weights; only the objective differs.
* :class:`EncoderLM`: that encoder + an output layer tied to the token embeddings; ``causal=True`` for the LM
  (a position attends to itself and the left), bidirectional for the MLM.  The MLM's ``<mask>`` is one extra
  embedding row (id = the MT vocabulary size).
* :func:`layer_states` runs the encoder layer by layer (layer 0 = scaled embeddings + positions) with an
  optional per-layer key block (``block``: at layer n only, no position attends to the blocked positions),
  which the influence analysis needs; it serves the MT encoder too.
* :func:`mlm_corrupt`: 15% of the tokens chosen, 80% -> <mask>, 10% random token, 10% unchanged.
* :func:`token_dropout`: each input token replaced by a random token with probability p (the paper's control).
* :func:`train`: Adam with inverse-sqrt warm-up, a fixed number of steps, seeded batches.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

N_SPECIAL = 3  # <pad>, </s>, <unk> (replicate.models.mt.WordVocab)


def init_encoder(build, seed: int):
    """The encoder of the MarianMTModel that ``seed_everything(seed); build()`` makes: the translation model's
    trainer seeds and builds the same way, so the encoder starts from the MT encoder's initial weights."""
    from replicate.models.training import seed_everything

    seed_everything(seed)
    return build().model.encoder


class EncoderLM(nn.Module):
    """A Marian encoder with a tied output layer; ``causal`` (LM) or bidirectional (MLM)."""

    def __init__(self, encoder, causal: bool, extra_tokens: int = 0):
        super().__init__()
        self.encoder, self.causal = encoder, causal
        if extra_tokens:  # <mask>: extra embedding rows (seeded with the encoder's init std)
            emb = encoder.embed_tokens
            old = emb.weight.data
            g = torch.Generator().manual_seed(12345)
            new = torch.randn(extra_tokens, old.shape[1], generator=g) * encoder.config.init_std
            grown = nn.Embedding(old.shape[0] + extra_tokens, old.shape[1], padding_idx=emb.padding_idx)
            grown.weight.data = torch.cat([old, new])
            encoder.embed_tokens = grown
        self.vocab_size = encoder.embed_tokens.weight.shape[0]

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, V) of the top layer."""
        h = layer_states(self.encoder, ids, mask, causal=self.causal)[-1]
        return F.linear(h, self.encoder.embed_tokens.weight)


def additive_mask(mask: torch.Tensor, causal: bool, block: torch.Tensor | None = None, dtype=torch.float32) -> torch.Tensor:
    """(B, 1, T, T) additive attention mask: padding keys, future keys (``causal``) and ``block`` (B, T) keys
    removed.  A query whose keys are all removed keeps itself (no NaN rows)."""
    b, t = mask.shape
    keep = mask.bool()[:, None, None, :].expand(b, 1, t, t).clone()
    if causal:
        keep &= torch.ones(t, t, dtype=torch.bool, device=mask.device).tril()[None, None]
    if block is not None:
        keep &= ~block.bool()[:, None, None, :]
    eye = torch.eye(t, dtype=torch.bool, device=mask.device)[None, None]
    keep |= eye & ~keep.any(-1, keepdim=True)
    return torch.zeros(keep.shape, dtype=dtype, device=mask.device).masked_fill(~keep, torch.finfo(dtype).min)


def embed(encoder, ids: torch.Tensor) -> torch.Tensor:
    x = encoder.embed_tokens(ids) * encoder.embed_scale
    return x + encoder.embed_positions(x.shape[:-1])


def run_layer(encoder, n: int, h: torch.Tensor, mask4: torch.Tensor) -> torch.Tensor:
    """Layer ``n`` (1-based) of ``encoder`` on states ``h``."""
    out = encoder.layers[n - 1](h, mask4)
    return out[0] if isinstance(out, tuple) else out


def layer_states(encoder, ids: torch.Tensor, mask: torch.Tensor, causal: bool = False,
                 block: torch.Tensor | None = None, block_layer: int | None = None) -> list[torch.Tensor]:
    """States of layers 0..L (B, T, d); at layer ``block_layer`` (1-based) the ``block`` positions are
    hidden from every query (the layers below see them as usual)."""
    h = embed(encoder, ids)
    h = F.dropout(h, p=encoder.dropout, training=encoder.training)
    base = additive_mask(mask, causal, dtype=h.dtype)
    blocked = additive_mask(mask, causal, block, dtype=h.dtype) if block is not None else None
    out = [h]
    for n in range(1, len(encoder.layers) + 1):
        h = run_layer(encoder, n, h, blocked if (blocked is not None and n == block_layer) else base)
        out.append(h)
    return out


def mlm_corrupt(ids: torch.Tensor, mask: torch.Tensor, mask_id: int, vocab_size: int, generator: torch.Generator,
                rate: float = 0.15, probs=(0.8, 0.1, 0.1)) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, chosen): ``rate`` of the non-pad, non-eos tokens chosen; of those ``probs`` = (<mask>, random
    token, unchanged).  Random tokens are drawn from the real vocabulary (ids N_SPECIAL..vocab_size-1)."""
    real = mask.bool() & (ids != 0) & (ids != 1)  # not <pad>, not </s>
    u = torch.rand(ids.shape, generator=generator)
    chosen = real & (u < rate)
    v = torch.rand(ids.shape, generator=generator)
    rand_tok = torch.randint(N_SPECIAL, vocab_size, ids.shape, generator=generator)
    inputs = ids.clone()
    inputs[chosen & (v < probs[0])] = mask_id
    swap = chosen & (v >= probs[0]) & (v < probs[0] + probs[1])
    inputs[swap] = rand_tok[swap]
    return inputs, chosen


def token_dropout(ids: torch.Tensor, mask: torch.Tensor, p: float, vocab_size: int, generator: torch.Generator) -> torch.Tensor:
    """Each real token replaced by a random vocabulary token with probability ``p``."""
    if p <= 0:
        return ids
    real = mask.bool() & (ids != 1)
    hit = real & (torch.rand(ids.shape, generator=generator) < p)
    out = ids.clone()
    out[hit] = torch.randint(N_SPECIAL, vocab_size, ids.shape, generator=generator)[hit]
    return out


def lm_loss(model: EncoderLM, ids, mask, vocab_size: int, gen, p_drop: float = 0.0) -> torch.Tensor:
    """Next-token cross-entropy: position t predicts token t+1 (the input at t may be dropped out)."""
    x = token_dropout(ids, mask, p_drop, vocab_size, gen)
    logits = model(x, mask)[:, :-1]
    target = ids[:, 1:].masked_fill(~mask[:, 1:].bool(), -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def mlm_loss(model: EncoderLM, ids, mask, vocab_size: int, gen, mask_id: int) -> torch.Tensor:
    x, chosen = mlm_corrupt(ids, mask, mask_id, vocab_size, gen)
    logits = model(x, mask)
    target = ids.masked_fill(~chosen, -100)
    if not chosen.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100)


def batches(seqs: list[list[int]], batch_size: int, rng: np.random.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Length-bucketed padded batches in a seeded random order."""
    from replicate.models.training import pad_batch

    order = np.argsort([len(s) for s in seqs], kind="stable")
    out = []
    for i in range(0, len(seqs), batch_size):
        idx = order[i:i + batch_size]
        ids, m = pad_batch([seqs[j] for j in idx], 0)
        out.append((ids, m.long()))
    return [out[i] for i in rng.permutation(len(out))]


def train(model: EncoderLM, objective: str, train_seqs, valid_seqs, params: dict, vocab_size: int, seed: int) -> dict:
    """Train for ``params['steps']`` steps (``batch_size``, ``lr``, ``warmup``, ``token_dropout``); returns
    the loss curve and the validation loss / accuracy (LM: next token; MLM: the chosen tokens)."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    mask_id = vocab_size  # MLM only: the extra row
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"], betas=(0.9, 0.98))
    warm = max(1, params["warmup"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, math.sqrt(warm / (s + 1))))
    p_drop = params.get("token_dropout", 0.0)

    def loss_fn(ids, m):
        if objective == "lm":
            return lm_loss(model, ids, m, vocab_size, gen, p_drop)
        return mlm_loss(model, ids, m, vocab_size, gen, mask_id)

    model.train()
    curve, pool, step = [], [], 0
    bar = tqdm(total=params["steps"], desc=f"train {objective}", mininterval=5)
    while step < params["steps"]:
        if not pool:
            pool = batches(train_seqs, params["batch_size"], rng)
        ids, m = pool.pop()
        loss = loss_fn(ids, m)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        bar.update(1)
        if step % 50 == 0 or step == params["steps"]:
            curve.append((step, loss.item()))
    bar.close()
    model.eval()
    return {"curve": curve, **evaluate(model, objective, valid_seqs, vocab_size, seed)}


@torch.no_grad()
def evaluate(model: EncoderLM, objective: str, seqs, vocab_size: int, seed: int, batch_size: int = 128) -> dict:
    gen = torch.Generator().manual_seed(seed + 1)
    rng = np.random.default_rng(seed + 1)
    tot, n, hit = 0.0, 0, 0
    for ids, m in batches(seqs, batch_size, rng):
        if objective == "lm":
            logits = model(ids, m)[:, :-1]
            target = ids[:, 1:].masked_fill(~m[:, 1:].bool(), -100)
        else:
            x, chosen = mlm_corrupt(ids, m, vocab_size, vocab_size, gen)
            logits = model(x, m)
            target = ids.masked_fill(~chosen, -100)
        keep = target != -100
        tot += float(F.cross_entropy(logits[keep], target[keep], reduction="sum"))
        hit += int((logits[keep].argmax(-1) == target[keep]).sum())
        n += int(keep.sum())
    return {"valid_loss": tot / max(n, 1), "valid_accuracy": hit / max(n, 1), "valid_tokens": n}

"""Head-level methods on instrumented BERT classifiers: evaluation under gates or uniform
("disabled") heads with a layer cache, Michel et al.'s head importance, pruning orders and
curves, and per-head attention statistics (Kovaleva et al.).

Every function works on a Hugging Face ``*ForSequenceClassification`` BERT-family model with an
:class:`~replicate.instrument.Instrument` attached; batches are dicts of tensors from the
tokenizer plus ``labels``.
"""

from __future__ import annotations

import numpy as np
import torch

from replicate.instrument import Instrument
from replicate.methods import stats
from replicate.methods.pruning import pruning_configs


def make_batches(tok, pairs: list[tuple[str, int]], max_length: int = 128, batch_size: int = 32) -> list[dict]:
    """Tokenised batches with labels, sentences sorted by length (less padding; scores are
    order-free)."""
    from replicate.data.prepare import encode_texts

    lengths = [len(ids) for ids in encode_texts(tok, [s for s, _ in pairs], truncation=True, max_length=max_length)["input_ids"]]
    pairs = [pairs[i] for i in np.argsort(lengths, kind="stable")]
    out = []
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i : i + batch_size]
        enc = encode_texts(tok, [s for s, _ in chunk], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        enc = dict(enc)
        enc["labels"] = torch.as_tensor([y for _, y in chunk])
        out.append(enc)
    return out


def _inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k != "labels"}


def _encoder_layers(model):
    base = getattr(model, model.base_model_prefix)
    return base, list(base.encoder.layer)


def _bert_style(layer) -> bool:
    """A post-LN BERT/RoBERTa encoder layer (self-attention with query/key/value, intermediate, output)."""
    att = getattr(layer, "attention", None)
    return (all(hasattr(getattr(att, "self", None), n) for n in ("query", "key", "value", "scaling"))
            and hasattr(att, "output") and hasattr(layer, "intermediate") and hasattr(layer, "output")
            and not getattr(layer, "is_decoder", False) and not getattr(layer, "chunk_size_feed_forward", 0))


def _heads_of(x: torch.Tensor, d: int) -> torch.Tensor:
    return x.view(x.shape[0], x.shape[1], -1, d).transpose(1, 2)


def projections(layer, h: torch.Tensor, first_only: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Query, key and value (B, H, T, d) of a BERT-style layer's self-attention for input ``h``
    (``first_only``: the query of the first position only)."""
    sa = layer.attention.self
    d = sa.attention_head_size
    return _heads_of(sa.query(h[:, :1] if first_only else h), d), _heads_of(sa.key(h), d), _heads_of(sa.value(h), d)


def bert_layer(layer, h: torch.Tensor, attention_mask=None, *args, first_only: bool = False, qkv=None,
               **kwargs) -> torch.Tensor:
    """A BERT-style encoder ``layer`` (post-LN: self-attention, output dense + LayerNorm, feed-forward)
    written out, equal to ``layer(h)``, with two shortcuts for the layer cache:

    * ``first_only``: the output at the first position only, (B, 1, D): the query, attention output and
      feed-forward of one token, keys and values of all (every sublayer but attention is
      position-wise).  A classifier that reads the first token needs nothing more from the last layer.
    * ``qkv``: the layer's query/key/value for ``h`` computed before (:func:`projections`): where a
      configuration changes heads of this layer but none before it, its attention inputs are unchanged.

    The instrument's gates and uniform heads apply as in the full layer (through
    :func:`replicate.instrument.attend`)."""
    from replicate.instrument import attend

    if attention_mask is None:
        attention_mask = kwargs.get("attention_mask")
    sa = layer.attention.self
    q, k, v = qkv if qkv is not None else projections(layer, h, first_only)
    if first_only:
        q, h = q[:, :, :1], h[:, :1]
        if attention_mask is not None and attention_mask.dim() == 4 and attention_mask.shape[-2] > 1:
            attention_mask = attention_mask[..., :1, :]
    context, _ = attend(sa, q, k, v, attention_mask, sa.scaling, 0.0)
    a = layer.attention.output(context.reshape(h.shape[0], h.shape[1], -1), h)
    return layer.output(layer.intermediate(a), a)


class LayerCache:
    """Cache every encoder layer's input for fixed batches, so a configuration that only
    changes heads of layers >= l re-runs layers l..L and the classifier head only.

    Built once with all gates at 1 and no head disabled (the baseline); ``logits(l)``
    must be called with the instrument holding a configuration that leaves layers < l
    untouched (checked).
    """

    def __init__(self, model, inst: Instrument, batches: list[dict]):
        self.model, self.inst, self.batches = model, inst, batches
        self.base, self.layers = _encoder_layers(model)
        # BERT-style layers are run written out (bert_layer): the last at the first token only (the
        # classifier reads nothing else), the first changed one from its cached query/key/value
        self.bert_style = all(_bert_style(layer) for layer in self.layers)
        self._seen: dict[tuple, torch.Tensor] = {}
        self._qkv: tuple[int, list] = (-1, [])  # (layer, per batch): one layer's projections at a time
        self.calls: list[list[tuple]] = []
        captured: list[tuple] = []

        def hook(module, args, kwargs):
            captured.append((args[0].detach(), args[1:], dict(kwargs)))

        handles = [layer.register_forward_pre_hook(hook, with_kwargs=True) for layer in self.layers]
        try:
            with torch.no_grad():
                for b in batches:
                    captured.clear()
                    model(**_inputs(b))
                    self.calls.append(list(captured))
        finally:
            for h in handles:
                h.remove()

    @torch.no_grad()
    def logits(self, start: int = 0) -> torch.Tensor:
        changed = (self.inst.gates != 1) | self.inst.uniform
        if bool(changed[:start].any()):
            raise ValueError(f"the configuration changes layers before {start}: cannot start from the cache there")
        # a configuration met before (every head masked, on each pruning curve; the same sweep scored
        # with a second metric) is not run again
        key = (start, self.inst.gates.numpy().tobytes(), self.inst.uniform.numpy().tobytes())
        if key not in self._seen:
            self._seen[key] = self._logits(start)
        return self._seen[key]

    def _projections(self, layer: int) -> list:
        """The baseline query/key/value of ``layer`` for every batch (kept for one layer at a time: sweeps
        visit configurations layer by layer)."""
        if self._qkv[0] != layer:
            self._qkv = (-1, [])  # the previous layer's projections freed before the next are made
            self._qkv = (layer, [projections(self.layers[layer], calls[layer][0]) for calls in self.calls])
        return self._qkv[1]

    def _logits(self, start: int) -> torch.Tensor:
        out = []
        last = len(self.layers) - 1
        qkv = self._projections(start) if self.bert_style else None
        for b, calls in enumerate(self.calls):
            h, args, kwargs = calls[start]
            for i in range(start, len(self.layers)):
                _, args, kwargs = calls[i]
                if self.bert_style:
                    h = bert_layer(self.layers[i], h, *args, first_only=i == last,
                                   qkv=qkv[b] if i == start else None, **kwargs)
                    continue
                h = self.layers[i](h, *args, **kwargs)
                h = h[0] if isinstance(h, tuple) else h
            pooled = self.base.pooler(h) if self.base.pooler is not None else h[:, 0]
            out.append(self.model.classifier(self.model.dropout(pooled)))
        return torch.cat(out)


@torch.no_grad()
def full_logits(model, batches: list[dict]) -> torch.Tensor:
    return torch.cat([model(**_inputs(b)).logits for b in batches])


def labels_of(batches: list[dict]) -> np.ndarray:
    return torch.cat([b["labels"] for b in batches]).numpy()


def accuracy(logits: torch.Tensor, labels: np.ndarray) -> float:
    return float((logits.argmax(-1).numpy() == labels).mean())


def mcc(logits: torch.Tensor, labels: np.ndarray) -> float:
    """Matthews correlation of the predicted classes (CoLA's metric); 0 when undefined
    (:func:`replicate.methods.stats.mcc`)."""
    return stats.mcc(labels, logits.argmax(-1).numpy())


def f1(logits: torch.Tensor, labels: np.ndarray) -> float:
    """F1 of the positive class 1 (MRPC's metric); 0 when there is no true or predicted positive
    (:func:`replicate.methods.stats.f1`, ``average="binary"``)."""
    return stats.f1(labels, logits.argmax(-1).numpy(), "binary")


def log_likelihood(logits: torch.Tensor, labels: np.ndarray) -> float:
    """Mean log-probability of the gold labels (a tie-breaker where accuracies tie)."""
    logp = torch.log_softmax(logits.double(), -1)
    return float(logp[torch.arange(len(labels)), torch.as_tensor(labels)].mean())


def corr(logits: torch.Tensor, labels: np.ndarray) -> float:
    """STS-B's metric for a regression head (one output): the mean of Pearson's r and Spearman's
    rho between the predicted and gold scores (:func:`replicate.methods.stats.regression_scores`; 0 for
    a constant prediction)."""
    return stats.regression_scores(labels, logits[..., 0].double().numpy())["corr"]


METRICS = {"accuracy": accuracy, "mcc": mcc, "f1": f1, "log_likelihood": log_likelihood, "corr": corr}


def task_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The fine-tuning loss: cross-entropy for class labels, the mean squared error of the one
    output for float labels (a regression task, as ``problem_type="regression"`` in transformers)."""
    if labels.is_floating_point():
        return torch.nn.functional.mse_loss(logits[..., 0], labels.to(logits.dtype))
    return torch.nn.functional.cross_entropy(logits, labels)


def metric(name: str):
    """The score function of a task's ``metric`` (accuracy, mcc, f1; corr for a regression task)."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose from {sorted(METRICS)}")
    return METRICS[name]


def _first_changed(inst: Instrument) -> int:
    changed = ((inst.gates != 1) | inst.uniform).any(1)
    idx = torch.nonzero(changed).flatten()
    return int(idx[0]) if len(idx) else inst.n_layers


def sweep(model, inst: Instrument, cache: LayerCache, configs: list[dict], metric=accuracy) -> list[float]:
    """Score each configuration ``{"mask": [(l, h), ...], "uniform": [(l, h), ...]}``."""
    labels = labels_of(cache.batches)
    scores = []
    for cfg in configs:
        inst.reset()
        for l, h in cfg.get("mask", []):
            inst.gates[l, h] = 0.0
        for l, h in cfg.get("uniform", []):
            inst.uniform[l, h] = True
        start = min(_first_changed(inst), inst.n_layers - 1)
        scores.append(metric(cache.logits(start), labels))
    inst.reset()
    return scores


def single_head_configs(n_layers: int, n_heads: int, kind: str) -> list[dict]:
    return [{kind: [(l, h)]} for l in range(n_layers) for h in range(n_heads)]


def layer_configs(n_layers: int, n_heads: int, kind: str) -> list[dict]:
    return [{kind: [(l, h) for h in range(n_heads)]} for l in range(n_layers)]


def all_but_one_configs(n_layers: int, n_heads: int) -> list[dict]:
    """Michel Table 3: in layer l keep only head h (mask the others)."""
    return [{"mask": [(l, k) for k in range(n_heads) if k != h]} for l in range(n_layers) for h in range(n_heads)]


# ----------------------------------------------------------------------------- importance


def classifier_loss(model, batch: dict) -> torch.Tensor:
    """The fine-tuning loss of a sequence classifier (or regressor) on ``batch``: :func:`task_loss`."""
    return task_loss(model(**_inputs(batch)).logits, batch["labels"])


def head_importance(model, inst: Instrument, batches: list[dict], abs_level: str = "token",
                    normalize: bool = True, loss_fn=classifier_loss) -> np.ndarray:
    """Michel et al.'s head importance I_h, (L, H).

    For head h the contribution of query token t is ``<dL/dctx_t, ctx_t>`` (ctx = the head's
    context vector); since ctx_t = sum_j A[t, j] v_j this equals ``sum_j A[t, j] dL/dA[t, j]``,
    read here from the recorded attention and its gradient.  ``abs_level``: ``token`` (the
    released code: absolute value per token), ``example`` (the paper's formula), or ``none``
    (the signed sum, i.e. the gradient of the summed batch losses w.r.t. the head gate).
    The loss is ``loss_fn(model, batch)``: the batch-mean cross-entropy, as in the code (the mean
    squared error for a regression task, :func:`task_loss`; for a seq2seq model the teacher-forced
    token cross-entropy, pad targets ignored: padded query positions then get zero gradient, i.e.
    the MT code's pad masking).  ``normalize``: divide each layer (gate row) by its l2 norm (the
    code's final step; the code's token-count divisors cancel).
    """
    model.eval()
    imp = torch.zeros(inst.n_layers, inst.n_heads, dtype=torch.float64)
    for b in batches:
        model.zero_grad(set_to_none=True)
        with inst.recording(keep_grad=True) as att:
            loss = loss_fn(model, b)
        loss.backward()
        for l, a in enumerate(att):
            dot = (a.detach() * a.grad).sum(-1).double().cpu()  # (B, H, T) per query token
            if abs_level == "token":
                imp[l] += dot.abs().sum((0, 2))
            elif abs_level == "example":
                imp[l] += dot.sum(2).abs().sum(0)
            elif abs_level == "none":
                imp[l] += dot.sum((0, 2))
            else:
                raise ValueError(f"abs_level must be token, example or none; got {abs_level!r}")
    model.zero_grad(set_to_none=True)
    out = imp.numpy()
    if normalize:
        out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-20)
    return out


def gate_gradient(model, inst: Instrument, batch: dict, loss_fn=classifier_loss) -> np.ndarray:
    """d loss / d gate for every head (gates at their current values), by autograd."""
    gates = inst.gates.detach().clone().requires_grad_(True)
    inst.gates = gates
    loss = loss_fn(model, batch)
    (grad,) = torch.autograd.grad(loss, gates)
    inst.gates = gates.detach()
    return grad.numpy()


@torch.no_grad()
def attention_confidence(inst: Instrument, model, batches: list[dict]) -> np.ndarray:
    """Mean over non-pad query tokens of the head's maximum attention weight (Voita et al.), (L, H)."""
    total = torch.zeros(inst.n_layers, inst.n_heads, dtype=torch.float64)
    count = 0
    for b in batches:
        with inst.recording() as att:
            model(**_inputs(b))
        mask = b["attention_mask"].double()  # (B, T)
        for l, a in enumerate(att):
            total[l] += (a.max(-1).values.double() * mask[:, None, :]).sum((0, 2))
        count += float(mask.sum())
    return (total / count).numpy()


def pruning_curve(model, inst: Instrument, cache: LayerCache, order: list[tuple[int, int]],
                  fractions: list[float], metric=accuracy, baseline: float | None = None) -> list[float]:
    """Score after masking the first ``fraction`` of ``order``; ``baseline`` (the unpruned
    score, if known) is reused for fraction 0."""
    n = len(order)
    todo = [f for f in fractions if not (baseline is not None and int(round(f * n)) == 0)]
    scores = dict(zip(todo, sweep(model, inst, cache, pruning_configs(order, todo), metric)))
    return [scores.get(f, baseline) for f in fractions]


# ----------------------------------------------------------------------------- attention statistics


def encode_one(tok, text, max_length: int = 128):
    """Tokenise one sentence or one sentence pair (a tuple) as a batch of one."""
    if isinstance(text, tuple):
        return tok(text[0], text[1], truncation=True, max_length=max_length, return_tensors="pt")
    return tok(text, truncation=True, max_length=max_length, return_tensors="pt")


@torch.no_grad()
def attention_maps(model, inst: Instrument, tok, sentences: list, max_length: int = 128):
    """Yield (tokens, list of (H, T, T) arrays per layer) for each sentence (or pair), unpadded."""
    for s in sentences:
        enc = encode_one(tok, s, max_length)
        with inst.recording() as att:
            model(**enc)
        yield tok.convert_ids_to_tokens(enc["input_ids"][0]), [a[0].numpy() for a in att]


def key_shares(tokens: list[str], maps: list[np.ndarray], categories: dict) -> dict[str, np.ndarray]:
    """Per head, the attention mass on keys of each category averaged over query tokens, (L, H),
    for one sentence (Kovaleva fig6).  ``categories``: name -> predicate(token) -> bool."""
    out = {}
    for name, pred in categories.items():
        keys = np.array([pred(t) for t in tokens], dtype=float)
        out[name] = np.stack([(a @ keys).mean(-1) for a in maps])
    return out


def map_cosine(maps_a: list[np.ndarray], maps_b: list[np.ndarray]) -> np.ndarray:
    """Per head, cosine similarity of two models' flattened attention maps of one sentence, (L, H)."""
    rows = []
    for a, b in zip(maps_a, maps_b):
        fa, fb = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
        rows.append((fa * fb).sum(1) / (np.linalg.norm(fa, axis=1) * np.linalg.norm(fb, axis=1)))
    return np.stack(rows)


class MeanOver:
    """Average of per-sentence arrays; NaN cells (a feature absent from a sentence) are skipped,
    and ``count`` says how many sentences each cell averages."""

    def __init__(self):
        self.total, self.count = None, None

    def add(self, value) -> None:
        value = np.asarray(value, dtype=float)
        if self.total is None:
            self.total, self.count = np.zeros_like(value), np.zeros_like(value)
        ok = ~np.isnan(value)
        self.total[ok] += value[ok]
        self.count += ok

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.total / np.maximum(self.count, 1), np.nan)


def paired_attention_pass(model_a, inst_a: Instrument, model_b, inst_b: Instrument, tok, sentences: list,
                          visit, max_length: int = 128) -> None:
    """One attention pass per model over ``sentences``: ``visit(index, tokens, maps_a, maps_b)``
    sees both models' unpadded maps of each sentence (every per-sentence statistic is computed
    from this one pass)."""
    for i, ((tokens, ma), (tokens_b, mb)) in enumerate(zip(attention_maps(model_a, inst_a, tok, sentences, max_length),
                                                          attention_maps(model_b, inst_b, tok, sentences, max_length))):
        if tokens != tokens_b:
            raise ValueError(f"sentence {i}: the two models were given different tokens")
        visit(i, tokens, ma, mb)


def token_attention_shares(model, inst: Instrument, tok, sentences: list, categories: dict,
                           max_length: int = 128) -> dict[str, np.ndarray]:
    """Kovaleva fig6: :func:`key_shares` averaged over sentences."""
    acc = {name: MeanOver() for name in categories}
    for tokens, maps in attention_maps(model, inst, tok, sentences, max_length):
        for name, v in key_shares(tokens, maps, categories).items():
            acc[name].add(v)
    return {name: a.mean() for name, a in acc.items()}


def attention_cosine(model_a, inst_a: Instrument, model_b, inst_b: Instrument, tok, sentences: list,
                     max_length: int = 128) -> np.ndarray:
    """Kovaleva fig5: :func:`map_cosine` averaged over sentences, (L, H)."""
    acc = MeanOver()
    paired_attention_pass(model_a, inst_a, model_b, inst_b, tok, sentences,
                          lambda i, t, ma, mb: acc.add(map_cosine(ma, mb)), max_length)
    return acc.mean()


# ----------------------------------------------------------------------------- head removal


def prune_heads(model, to_prune: dict[int, list[int]]) -> None:
    """Remove heads' weights from a BERT-family model in place (Michel §6 / table4):
    slice the query, key and value rows and the output projection's columns of each pruned
    head (transformers 5 dropped ``prune_heads``).  The output bias stays, as with gating.
    Every layer must keep at least one head (Michel's ``--at_least_x_heads_per_layer 1``)."""
    from transformers.pytorch_utils import prune_linear_layer

    _, layers = _encoder_layers(model)
    for l, drop in to_prune.items():
        drop = set(int(h) for h in drop)
        if not drop:
            continue
        att = layers[l].attention
        sa = att.self
        d, n = sa.attention_head_size, sa.num_attention_heads
        keep = [h for h in range(n) if h not in drop]
        if not keep:
            raise ValueError(f"layer {l}: pruning every head is not supported; keep at least one")
        idx = torch.cat([torch.arange(h * d, (h + 1) * d) for h in keep])
        sa.query, sa.key, sa.value = (prune_linear_layer(m, idx) for m in (sa.query, sa.key, sa.value))
        att.output.dense = prune_linear_layer(att.output.dense, idx, dim=1)
        sa.num_attention_heads = len(keep)
        sa.all_head_size = d * len(keep)


@torch.no_grad()
def time_inference(model, batches: list[dict], repeats: int = 5, warmup: int = 1) -> dict:
    """Wall time of one pass of ``model`` over ``batches`` (no gradients): ``warmup`` untimed
    passes, then ``repeats`` timed ones.  Returns the median and all times (s) and examples/s
    at the median.  Timings depend on the machine and its load: not reproducible numbers."""
    import time

    model.eval()
    n = sum(int(b["input_ids"].shape[0]) for b in batches)
    for _ in range(warmup):
        for b in batches:
            model(**_inputs(b))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for b in batches:
            model(**_inputs(b))
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    return {"median_s": med, "times_s": times, "examples": n, "examples_per_s": n / med}


def pruned_speedup(model, batches_by_size: dict[int, list[dict]], to_prune: dict[int, list[int]],
                   repeats: int = 5) -> dict:
    """Michel Table 4: examples/s of ``model`` and of a copy whose heads ``to_prune`` are removed
    (:func:`prune_heads`), for each batch size.  Also returns the largest absolute logit
    difference between the pruned copy and ``model`` with the same heads gated to 0 (the check
    that removal is the masking the other targets measure).  ``model`` must carry no instrument."""
    import copy

    from replicate.instrument import Instrument

    pruned = copy.deepcopy(model)
    prune_heads(pruned, to_prune)
    first = next(iter(batches_by_size.values()))
    inst = Instrument(model)
    for l, hs in to_prune.items():
        for h in hs:
            inst.gates[l, h] = 0.0
    gated = full_logits(model, first)
    inst.detach()
    for m in (model, pruned):  # both timed with the same (eager) attention
        m.set_attn_implementation("eager")
    diff = float((full_logits(pruned, first) - gated).abs().max())
    rows = []
    for bs, batches in batches_by_size.items():
        full_t = time_inference(model, batches, repeats)
        pruned_t = time_inference(pruned, batches, repeats)
        rows.append({"batch_size": bs, "examples": full_t["examples"],
                     "original_examples_per_s": full_t["examples_per_s"],
                     "pruned_examples_per_s": pruned_t["examples_per_s"],
                     "speedup": full_t["median_s"] / pruned_t["median_s"]})
    return {"rows": rows, "max_logit_diff": diff, "params_original": sum(p.numel() for p in model.parameters()),
            "params_pruned": sum(p.numel() for p in pruned.parameters())}


def pearson(a, b) -> float:
    """Pearson's r of two equally long vectors (flattened); 0 when one is constant
    (:func:`replicate.methods.stats.pearson` with ``undefined=0``)."""
    return stats.pearson(a, b, undefined=0.0)

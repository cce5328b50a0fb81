"""Machine translation for Michel et al. (2019) §3-§6 (WMT/IWSLT targets): data, a word-level
toy task, a small MarianMTModel trained from scratch, batched decoding, BLEU and its paired
bootstrap, and scoring under head gates with the encoder output cached.

Two scales, one code path (``transformers.MarianMTModel``):

* default: a "translation" of real English text into its word-reversed order (Wikipedia
  sample of the gensim wheel; Lee news documents as a second domain), word-level vocabulary
  built here, ids fed to the model directly (:class:`WordVocab`);
* paper scale: ``Helsinki-NLP/opus-mt-en-fr`` (6+6 layers, 8 heads; a stand-in for fairseq's
  WMT14 En-Fr big model, which transformers cannot load) on WMT14 newstest2013/2014
  (:class:`HFText` wraps its sentencepiece tokenizer).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\w\s]")
_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


# ----------------------------------------------------------------------------- toy data


def words(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens."""
    return _WORD.findall(text.lower())


def segments(texts: list[str], min_len: int, max_len: int) -> list[list[str]]:
    """Sentences of ``texts`` as word lists; sentences longer than ``max_len`` are cut into
    consecutive pieces of at most ``max_len`` words; pieces shorter than ``min_len`` dropped."""
    out = []
    for text in texts:
        for sent in _SENT_END.split(text):
            w = words(sent)
            n = math.ceil(len(w) / max_len)
            for k in range(n):  # near-equal pieces
                piece = w[k * len(w) // n: (k + 1) * len(w) // n]
                if len(piece) >= min_len:
                    out.append(piece)
    return out


def toy_target(src: list[str], task: str) -> list[str]:
    """The toy task's reference "translation" of a word list."""
    if task == "reverse":
        return src[::-1]
    if task == "copy":
        return list(src)
    raise ValueError(f"unknown toy task {task!r}; choose reverse or copy")


class WordVocab:
    """Word-level vocabulary shared by source and target (ids: 0 pad, 1 eos, 2 unk)."""

    def __init__(self, itos: list[str]):
        if itos[:3] != [PAD, EOS, UNK]:
            raise ValueError("a WordVocab starts with <pad>, </s>, <unk>")
        self.itos = itos
        self.stoi = {w: i for i, w in enumerate(itos)}
        self.pad_id, self.eos_id, self.unk_id = 0, 1, 2

    @classmethod
    def build(cls, sentences: list[list[str]], size: int) -> "WordVocab":
        from collections import Counter

        counts = Counter(w for s in sentences for w in s)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: size - 3]
        return cls([PAD, EOS, UNK] + [w for w, _ in ranked])

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts: list[str], target: bool = False) -> list[list[int]]:
        return [[self.stoi.get(w, self.unk_id) for w in t.split()] + [self.eos_id] for t in texts]

    def decode(self, ids) -> str:
        return " ".join(self.itos[i] for i in ids if i > self.eos_id or i == self.unk_id)

    def normalise(self, text: str) -> str:
        """A reference as the model can write it (out-of-vocabulary words -> <unk>)."""
        return " ".join(w if w in self.stoi else UNK for w in text.split())

    def save(self, path) -> None:
        Path(path).write_text(json.dumps(self.itos, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path) -> "WordVocab":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


class HFText:
    """The :class:`WordVocab` interface over a Hugging Face (Marian sentencepiece) tokenizer."""

    def __init__(self, tok):
        self.tok = tok
        self.pad_id, self.eos_id = tok.pad_token_id, tok.eos_token_id

    def encode(self, texts: list[str], target: bool = False) -> list[list[int]]:
        kw = {"text_target": texts} if target else {"text": texts}
        return self.tok(**kw, truncation=True, max_length=256)["input_ids"]

    def decode(self, ids) -> str:
        return self.tok.decode(ids, skip_special_tokens=True)

    def normalise(self, text: str) -> str:
        return text


def read_pairs(path) -> list[tuple[str, str]]:
    """``source<TAB>target`` lines."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 2:
            raise ValueError(f"{path}:{n}: expected source<TAB>target")
        rows.append((parts[0], parts[1]))
    return rows


def write_pairs(rows, path) -> None:
    from replicate.data.io import atomic_write

    atomic_write(path, "".join(f"{s}\t{t}\n" for s, t in rows))


# ----------------------------------------------------------------------------- model and batches


def toy_model(vocab_size: int, params: dict):
    """A MarianMTModel of ``params`` (layers, heads, d_model, ffn, dropout) with random weights."""
    from transformers import MarianConfig, MarianMTModel

    cfg = MarianConfig(
        vocab_size=vocab_size, decoder_vocab_size=vocab_size, d_model=params["d_model"],
        encoder_layers=params["layers"], decoder_layers=params["layers"],
        encoder_attention_heads=params["heads"], decoder_attention_heads=params["heads"],
        encoder_ffn_dim=params["ffn_dim"], decoder_ffn_dim=params["ffn_dim"],
        dropout=params["dropout"], attention_dropout=0.0, activation_dropout=0.0,
        max_position_embeddings=params["max_positions"], pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, forced_eos_token_id=None, scale_embedding=True,
        share_encoder_decoder_embeddings=True, tie_word_embeddings=True, attn_implementation="eager")
    return MarianMTModel(cfg)


def make_batches(src: list[list[int]], tgt: list[list[int]] | None, pad_id: int, batch_size: int) -> list[dict]:
    """Padded batches (sorted by source length; ``order`` keeps the original positions) of
    ``input_ids``, ``attention_mask`` and, with targets, ``labels`` (pad -> -100)."""
    from replicate.models.training import pad_batch

    order = np.argsort([len(s) for s in src], kind="stable")
    out = []
    for i in range(0, len(src), batch_size):
        idx = order[i: i + batch_size]
        ids, mask = pad_batch([src[j] for j in idx], pad_id)
        b = {"input_ids": ids, "attention_mask": mask.long(), "order": torch.as_tensor(idx)}
        if tgt is not None:
            lab, lmask = pad_batch([tgt[j] for j in idx], pad_id)
            b["labels"] = lab.masked_fill(~lmask, -100)
        out.append(b)
    return out


def model_inputs(batch: dict, device=None) -> dict:
    """The batch without ``order``, on ``device`` (default: stay)."""
    return {k: v if device is None else v.to(device) for k, v in batch.items() if k != "order"}


def seq2seq_loss(model, batch: dict) -> torch.Tensor:
    """Teacher-forced token cross-entropy, mean over non-pad target tokens."""
    return model(**model_inputs(batch, model.device)).loss


def train(model, train_b: list[dict], valid_b: list[dict], params: dict, save_at: dict, seed: int) -> dict:
    """Adam (0.9, 0.98) with inverse-sqrt warm-up (card §2 IWSLT recipe, scaled), label smoothing;
    ``save_at``: {epoch: callback(model)} for the fig5 checkpoints.  Returns the learning curve."""
    from replicate.models.training import seed_everything

    seed_everything(seed)
    opt = torch.optim.Adam(model.parameters(), lr=params["lr"], betas=(0.9, 0.98))
    warm = params["warmup_steps"]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min((s + 1) / warm, math.sqrt(warm / (s + 1))))
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=params["label_smoothing"])
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for epoch in tqdm(range(1, params["epochs"] + 1), desc="train mt", unit="epoch"):
        model.train()
        total, n = 0.0, 0
        for k in torch.randperm(len(train_b), generator=gen).tolist():
            b = model_inputs(train_b[k])
            logits = model(**b).logits
            loss = ce(logits.flatten(0, 1), b["labels"].flatten())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total, n = total + loss.item(), n + 1
        model.eval()
        with torch.no_grad():
            vl = float(np.mean([seq2seq_loss(model, b).item() for b in valid_b]))
        curve.append({"epoch": epoch, "train_loss": total / n, "valid_loss": vl})
        if epoch in save_at:
            save_at[epoch](model)
    return {"curve": curve}


# ----------------------------------------------------------------------------- decoding and BLEU


@torch.no_grad()
def decode(model, batches: list[dict], num_beams: int = 1, max_new_tokens: int = 64,
           encoder_outputs: list | None = None) -> list[list[int]]:
    """Greedy (``num_beams`` 1) or beam-search output ids of every sentence, in the original order.

    ``encoder_outputs``: one per batch (from :func:`encode`), reused instead of running the encoder
    (valid while only decoder heads are gated)."""
    out: dict[int, list[int]] = {}
    for k, b in enumerate(batches):
        order, b = b["order"], model_inputs(b, model.device)
        kw = {"attention_mask": b["attention_mask"], "num_beams": num_beams, "do_sample": False,
              "max_new_tokens": max_new_tokens, "early_stopping": True if num_beams > 1 else False}
        if encoder_outputs is not None:
            from transformers.modeling_outputs import BaseModelOutput

            kw["encoder_outputs"] = BaseModelOutput(last_hidden_state=encoder_outputs[k])
            seqs = model.generate(**kw)
        else:
            seqs = model.generate(input_ids=b["input_ids"], **kw)
        for i, s in zip(order.tolist(), seqs.tolist()):
            out[i] = s
    return [out[i] for i in range(len(out))]


@torch.no_grad()
def encode(model, batches: list[dict]) -> list[torch.Tensor]:
    enc = model.get_encoder()
    return [enc(**{k: v for k, v in model_inputs(b, model.device).items() if k != "labels"}).last_hidden_state
            for b in batches]


def _bleu_metric(tokenize: str):
    import sacrebleu

    return sacrebleu.BLEU(tokenize=tokenize)


def bleu_stats(hyps: list[str], refs: list[str], tokenize: str = "none") -> np.ndarray:
    """Per-sentence BLEU sufficient statistics (N, 10): hypothesis and reference length, then
    n-gram matches and totals for n = 1..4; summed over sentences they give the corpus BLEU."""
    metric = _bleu_metric(tokenize)
    return np.asarray(metric._extract_corpus_statistics(hyps, [refs]), dtype=float).reshape(len(hyps), -1)


def bleu_from_stats(stats: np.ndarray, tokenize: str = "none") -> float:
    """Corpus BLEU (0-100, sacrebleu's defaults: exp smoothing) of per-sentence statistics (N, 10)."""
    metric = _bleu_metric(tokenize)
    return float(metric._compute_score_from_stats(np.asarray(stats).sum(0).astype(int).tolist()).score)


def bleu(hyps: list[str], refs: list[str], tokenize: str = "none") -> float:
    """Corpus BLEU with sacrebleu; ``tokenize``: ``none`` for the pre-tokenised toy task, ``13a`` for
    detokenised text (the ablation script's scoring; the paper reported Moses-tokenised BLEU)."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu(hyps, [refs], tokenize=tokenize).score)


def paired_bootstrap(stats_a: np.ndarray, stats_b: np.ndarray, resamples: int = 1000, seed: int = 0) -> float:
    """Two-sided paired bootstrap p-value (Koehn 2004; compare-mt, which the paper used) for equal
    corpus BLEU of systems a and b on the same sentences: resample sentences with replacement,
    count the resamples where the difference does not have the observed sign, times two."""
    observed = bleu_from_stats(stats_a) - bleu_from_stats(stats_b)
    if observed == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    n = len(stats_a)
    wrong = 0
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        d = bleu_from_stats(stats_a[idx]) - bleu_from_stats(stats_b[idx])
        wrong += (d <= 0) if observed > 0 else (d >= 0)
    return min(1.0, 2 * wrong / resamples)


# ----------------------------------------------------------------------------- scoring under gates


class Scorer:
    """BLEU statistics of one evaluation set under the instrument's current gates: decodes with the
    encoder output cached (computed once with all gates at 1) while no encoder head is gated."""

    def __init__(self, model, inst, text, sources: list[str], refs: list[str], params: dict):
        self.model, self.inst, self.text = model, inst, text
        self.refs = [text.normalise(r) for r in refs]
        self.n_enc = sum(k == "Enc-Enc" for k in inst.kinds)
        self.batches = make_batches(text.encode(sources), None, text.pad_id, params["batch_size"])
        self.beams, self.max_new, self.tokenize = params["beams"], params["max_new_tokens"], params["bleu_tokenize"]
        saved = inst.gates.clone()
        inst.reset()
        self.enc_cache = encode(model, self.batches)
        inst.gates = saved
        self.decodes = 0

    def stats(self) -> np.ndarray:
        enc_changed = bool((self.inst.gates[: self.n_enc] != 1).any())
        ids = decode(self.model, self.batches, self.beams, self.max_new, None if enc_changed else self.enc_cache)
        self.decodes += 1
        return bleu_stats([self.text.decode(x) for x in ids], self.refs, self.tokenize)

    def sweep(self, configs: list[dict], desc: str = "decode") -> list[np.ndarray]:
        """Statistics under each configuration ``{"mask": [(row, head), ...]}`` (as
        :func:`replicate.heads.single_head_configs` and friends build them)."""
        out = []
        for cfg in tqdm(configs, desc=desc, unit="config", mininterval=5):
            self.inst.reset()
            for r, h in cfg.get("mask", []):
                self.inst.gates[r, h] = 0.0
            out.append(self.stats())
        self.inst.reset()
        return out

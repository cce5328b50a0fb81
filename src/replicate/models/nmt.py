"""The suite's shared translation model: a small ``transformers.MarianMTModel`` (the paper shape family of
Voita et al. 2019: encoder and decoder layers x 8 heads, at a small width) trained here on real parallel
text, with separate source and target sentencepiece vocabularies (as the paper's separate BPE vocabularies).

Read by voita2019heads (the model it analyses and prunes) and voita2019evolution (its MT encoder; its LM
and MLM reuse :func:`source_tokenizer` and :func:`build_model`'s architecture on the same source text).

Files of a trained model directory (:func:`replicate.runs.translation.train`):
``config.json`` + weights (``MarianMTModel.from_pretrained``), ``src.model`` / ``tgt.model`` (sentencepiece),
``metrics.json`` (dev/test BLEU, learning curve) and ``train.tsv`` / ``dev.tsv`` / ``test.tsv`` (the splits,
``source<TAB>target``, in the run's data directory).
"""

from __future__ import annotations

import io
from pathlib import Path

PAD_ID, EOS_ID, UNK_ID = 0, 1, 2


class SPText:
    """The :class:`replicate.models.mt.WordVocab` interface over one sentencepiece model
    (ids: 0 pad, 1 eos, 2 unk; no bos)."""

    def __init__(self, path):
        import sentencepiece as spm

        self.path = str(path)
        if not Path(self.path).is_file():
            raise FileNotFoundError(f"no sentencepiece model at {self.path}: run the shared translation model's "
                                    "rule (shared_translation) first")
        self.sp = spm.SentencePieceProcessor(model_file=self.path)
        self.pad_id, self.eos_id, self.unk_id = PAD_ID, EOS_ID, UNK_ID

    def __len__(self) -> int:
        return self.sp.get_piece_size()

    @property
    def vocab_size(self) -> int:
        return len(self)

    def pieces(self, text: str) -> list[str]:
        return self.sp.encode(text, out_type=str)

    def encode(self, texts: list[str], target: bool = False, max_len: int | None = None) -> list[list[int]]:
        """Ids of each text, ``</s>`` appended (``max_len`` counts it)."""
        out = []
        for ids in self.sp.encode(list(texts)):
            if max_len is not None:
                ids = ids[: max_len - 1]
            out.append(ids + [EOS_ID])
        return out

    def decode(self, ids) -> str:
        return self.sp.decode([int(i) for i in ids if int(i) > EOS_ID])

    def normalise(self, text: str) -> str:
        return text


def train_sentencepiece(texts: list[str], path, vocab_size: int, seed: int = 0, model_type: str = "unigram") -> SPText:
    """A sentencepiece model of ``texts`` written to ``path`` (deterministic: one thread, no sampling)."""
    import sentencepiece as spm

    spm.set_random_generator_seed(seed)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts), model_writer=buf, vocab_size=vocab_size, model_type=model_type,
        pad_id=PAD_ID, eos_id=EOS_ID, unk_id=UNK_ID, bos_id=-1, character_coverage=0.9995, num_threads=1,
        input_sentence_size=0, shuffle_input_sentence=False, hard_vocab_limit=False, minloglevel=2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(buf.getvalue())
    return SPText(path)


def source_tokenizer(model_dir) -> SPText:
    """The source-side (English) tokenizer of a trained shared model directory."""
    return SPText(Path(model_dir) / "src.model")


def target_tokenizer(model_dir) -> SPText:
    return SPText(Path(model_dir) / "tgt.model")


def build_model(src_vocab: int, tgt_vocab: int, params: dict):
    """A randomly initialised MarianMTModel: ``params`` layers, heads, d_model, ffn_dim, dropout,
    max_positions (separate source/target embeddings, tied target input/output embeddings, eager attention)."""
    from transformers import MarianConfig, MarianMTModel

    cfg = MarianConfig(
        vocab_size=src_vocab, decoder_vocab_size=tgt_vocab, d_model=params["d_model"],
        encoder_layers=params["layers"], decoder_layers=params["layers"],
        encoder_attention_heads=params["heads"], decoder_attention_heads=params["heads"],
        encoder_ffn_dim=params["ffn_dim"], decoder_ffn_dim=params["ffn_dim"],
        dropout=params["dropout"], attention_dropout=params.get("attention_dropout", 0.0), activation_dropout=0.0,
        max_position_embeddings=params["max_positions"], pad_token_id=PAD_ID, eos_token_id=EOS_ID,
        decoder_start_token_id=PAD_ID, forced_eos_token_id=None, scale_embedding=True,
        share_encoder_decoder_embeddings=False, tie_word_embeddings=True, attn_implementation="eager")
    return MarianMTModel(cfg)


def load_model(model_dir, device: str = "cpu"):
    """The trained shared model (eval mode, eager attention)."""
    from transformers import MarianMTModel

    if not (Path(model_dir) / "config.json").is_file():
        raise FileNotFoundError(f"no trained translation model at {model_dir}: run the rule shared_translation")
    return MarianMTModel.from_pretrained(str(model_dir), attn_implementation="eager").to(device).eval()


def read_split(path) -> list[tuple[str, str]]:
    """A split file of the shared run (``source<TAB>target`` lines), validated line by line."""
    from replicate.data.libreoffice import load_pairs

    return load_pairs(path, check_manifest=False)

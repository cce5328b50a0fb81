"""The shared translation runs (replicate.runs.translation) at a tiny size: splits, sentencepiece models,
a trained MarianMTModel that loads back, and determinism of the data preparation."""

import json

import pytest

from replicate.models import nmt
from replicate.runs import translation


def _prepare(d, pair="en-ru"):
    outs = {k: str(d / f"{k}.tsv") for k in ("train", "dev", "test")}
    outs |= {"src_spm": str(d / "src.model"), "tgt_spm": str(d / "tgt.model"), "stats": str(d / "stats.json")}
    translation.prepare({}, outs, {"pair": pair, "seed": 0, "dev": 10, "test": 12, "limit_train": 150, "vocab": 250})
    return outs


TINY = {"layers": 1, "heads": 8, "d_model": 16, "ffn_dim": 32, "dropout": 0.0, "max_positions": 64, "max_len": 24,
        "batch_size": 32, "lr": 0.003, "warmup_steps": 5, "label_smoothing": 0.1, "epochs": 1, "max_new_tokens": 8,
        "bleu_tokenize": "13a", "threads": 1, "seed": 0}


def test_prepare_and_train(tmp_path):
    outs = _prepare(tmp_path / "data")
    stats = json.loads(open(outs["stats"]).read())
    assert (stats["train"], stats["dev"], stats["test"]) == (150, 10, 12)
    dev = nmt.read_split(outs["dev"])
    assert not set(dev) & set(nmt.read_split(outs["train"]))
    src = nmt.SPText(outs["src_spm"])
    ids = src.encode(["Click the button to open the dialog."])[0]
    assert ids[-1] == nmt.EOS_ID and all(i != nmt.PAD_ID for i in ids)
    assert src.decode(ids) == "Click the button to open the dialog."
    # deterministic: the same splits and vocabularies again
    outs2 = _prepare(tmp_path / "again")
    for k in ("train", "src_spm", "tgt_spm"):
        assert open(outs[k], "rb").read() == open(outs2[k], "rb").read()

    model_dir = tmp_path / "model"
    translation.train({"data": str(tmp_path / "data")},
                      {"config": str(model_dir / "config.json"), "metrics": str(model_dir / "metrics.json")}, TINY)
    m = nmt.load_model(model_dir)
    assert m.config.encoder_attention_heads == 8 and m.config.encoder_layers == 1
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert 0 <= metrics["test_bleu"] <= 100 and len(metrics["curve"]) == 1
    assert nmt.source_tokenizer(tmp_path / "data").sp.get_piece_size() == len(src)


def test_missing_tokenizer_is_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="shared_translation"):
        nmt.source_tokenizer(tmp_path)

"""Michel et al.'s translation targets: instrumented Marian attention, I_h for seq2seq, BLEU and the
paired bootstrap, decoding, data preparation.  Random tiny Marian models: mechanics only."""

import numpy as np
import pytest
import torch

from replicate.methods import heads
from replicate.models import mt
from replicate.instrument import Instrument

PARAMS = {"layers": 2, "heads": 4, "d_model": 32, "ffn_dim": 64, "dropout": 0.0, "max_positions": 32}


@pytest.fixture
def tiny_marian():
    torch.manual_seed(0)
    model = mt.toy_model(40, PARAMS).eval()
    for p in model.parameters():  # larger weights: heads matter more, differences are visible
        p.data.mul_(4.0)
    return model


def batch():
    src = [[5, 6, 7, 8, 9, 1], [10, 11, 12, 1]]
    tgt = [[9, 8, 7, 6, 5, 1], [12, 11, 1]]
    return mt.make_batches(src, tgt, 0, 8)[0]


def logits(model, b):
    with torch.no_grad():
        return model(**mt.model_inputs(b)).logits


def test_kinds_and_rows(tiny_marian):
    inst = Instrument(tiny_marian)
    assert inst.kinds == ["Enc-Enc"] * 2 + ["Dec-Dec"] * 2 + ["Enc-Dec"] * 2
    assert tuple(inst.gates.shape) == (6, 4)
    dec = tiny_marian.get_decoder().layers
    assert inst.modules[4] is dec[0].encoder_attn and inst.modules[2] is dec[0].self_attn


def test_all_ones_gates_equal_eager_with_padding(tiny_marian):
    b = batch()
    ref = logits(tiny_marian, b)
    inst = Instrument(tiny_marian)
    with inst.recording() as att:
        out = logits(tiny_marian, b)
    assert torch.equal(out, ref)
    assert b["order"].tolist() == [1, 0]  # batches are sorted by source length: row 0 is the short, padded one
    # padding masks reach attend(): padded source keys (encoder and cross-attention) and future targets get 0
    assert float(att[0][0, :, :, 4:].abs().max()) == 0.0
    assert float(att[4][0, :, :, 4:].abs().max()) == 0.0
    assert float(att[0][1, :, :, 4:].abs().max()) > 0.0
    assert float(torch.triu(att[2][1], diagonal=1).abs().max()) == 0.0
    # the short example alone gives the same logits
    alone = mt.make_batches([[10, 11, 12, 1]], [[12, 11, 1]], 0, 8)[0]
    assert torch.allclose(logits(tiny_marian, alone)[0], out[0, :3], atol=1e-4)


@pytest.mark.parametrize("row", [1, 3, 5])  # Enc-Enc, Dec-Dec, Enc-Dec
def test_zero_gate_equals_zeroing_the_out_proj_slice(tiny_marian, row):
    b, head, d = batch(), 2, PARAMS["d_model"] // PARAMS["heads"]
    inst = Instrument(tiny_marian)
    module = inst.modules[row]

    def zero_head(_m, args):
        x = args[0].clone()
        x[..., head * d:(head + 1) * d] = 0
        return (x,)

    handle = module.out_proj.register_forward_pre_hook(zero_head)
    reference = logits(tiny_marian, b)
    handle.remove()
    inst.gates[row, head] = 0.0
    gated = logits(tiny_marian, b)
    assert torch.allclose(gated, reference, atol=1e-5)
    inst.reset()
    assert (logits(tiny_marian, b) - gated).abs().max() > 1e-3


def test_importance_none_equals_finite_difference_of_gates(tiny_marian):
    """I_h without |.| and normalisation is dL/dgate (at gates 1): compare with central differences."""
    b = batch()
    inst = Instrument(tiny_marian)
    imp = heads.head_importance(tiny_marian, inst, [b], abs_level="none", normalize=False, loss_fn=mt.seq2seq_loss)
    grad = heads.gate_gradient(tiny_marian, inst, b, loss_fn=mt.seq2seq_loss)
    assert np.allclose(imp, grad, atol=1e-5)
    eps = 1e-2
    for row, h in [(0, 1), (3, 0), (5, 3)]:
        vals = []
        for sign in (1, -1):
            inst.reset()
            inst.gates[row, h] = 1 + sign * eps
            with torch.no_grad():
                vals.append(float(mt.seq2seq_loss(tiny_marian, b)))
        inst.reset()
        assert imp[row, h] == pytest.approx((vals[0] - vals[1]) / (2 * eps), rel=2e-2, abs=1e-5)
    token = heads.head_importance(tiny_marian, inst, [b], loss_fn=mt.seq2seq_loss)
    assert np.allclose(np.linalg.norm(token, axis=1), 1.0)


def test_bleu_identical_is_100_and_stats_match_sacrebleu():
    refs = ["a b c d e", "the cat sat on the mat", "x y z w"]
    assert mt.bleu(refs, refs) == pytest.approx(100.0)
    hyps = ["a b c d", "the cat sat on a mat", "x y w z"]
    stats = mt.bleu_stats(hyps, refs)
    assert stats.shape == (3, 10)
    assert mt.bleu_from_stats(stats) == pytest.approx(mt.bleu(hyps, refs))


def test_paired_bootstrap():
    rng = np.random.default_rng(0)
    refs = [" ".join(rng.choice(list("abcdefgh"), 8)) for _ in range(60)]
    good = mt.bleu_stats(refs, refs)
    bad = mt.bleu_stats([" ".join(r.split()[::-1]) for r in refs], refs)
    assert mt.paired_bootstrap(good, bad, 200) < 0.01
    assert mt.paired_bootstrap(good, good, 200) == 1.0
    half = mt.bleu_stats([r if i % 2 else " ".join(r.split()[::-1]) for i, r in enumerate(refs)], refs)
    p1, p2 = mt.paired_bootstrap(half, bad, 200, seed=3), mt.paired_bootstrap(half, bad, 200, seed=3)
    assert p1 == p2 and p1 < 0.05


def test_decode_deterministic_in_order_and_encoder_cache(tiny_marian):
    src = [[5, 6, 7, 1], [10, 11, 12, 13, 14, 1], [7, 1]]
    batches = mt.make_batches(src, None, 0, 2)
    inst = Instrument(tiny_marian)
    a = mt.decode(tiny_marian, batches, max_new_tokens=6)
    b = mt.decode(tiny_marian, batches, max_new_tokens=6)
    assert a == b and len(a) == 3
    single = [mt.decode(tiny_marian, mt.make_batches([s], None, 0, 1), max_new_tokens=6)[0] for s in src]
    assert [x[: len(y)] for x, y in zip(a, single)] == [y[: len(y)] for y in single]  # order restored
    inst.gates[4, 1] = 0.0  # a decoder head: the cached encoder output is still valid
    cached = mt.decode(tiny_marian, batches, max_new_tokens=6, encoder_outputs=mt.encode(tiny_marian, batches))
    assert cached == mt.decode(tiny_marian, batches, max_new_tokens=6)


def test_configs_and_scorer_sweep(tiny_marian):
    cfgs = heads.all_but_one_configs(6, 4)
    assert len(cfgs) == 24 and all(len(c["mask"]) == 3 for c in cfgs)
    assert {l for c in cfgs[:4] for l, _ in c["mask"]} == {0}
    vocab = mt.WordVocab(["<pad>", "</s>", "<unk>"] + [f"w{i}" for i in range(37)])
    inst = Instrument(tiny_marian)
    sources = ["w1 w2 w3", "w4 w5", "w6 w7 w8 w9"]
    refs = [" ".join(s.split()[::-1]) for s in sources]
    sc = mt.Scorer(tiny_marian, inst, vocab, sources, refs, {"batch_size": 2, "beams": 1, "max_new_tokens": 6,
                                                              "bleu_tokenize": "none"})
    base = sc.stats()
    again = sc.sweep([{"mask": []}, {"mask": [(0, 0), (5, 1)]}])
    assert np.array_equal(again[0], base)
    assert torch.equal(inst.gates, torch.ones(6, 4))  # reset after a sweep


def test_vocab_and_segments_roundtrip(tmp_path):
    segs = mt.segments(["One two three four five six seven. Short one. " + " ".join(["w"] * 25) + "."], 3, 10)
    assert segs[0] == ["one", "two", "three", "four", "five", "six", "seven", "."]
    assert all(3 <= len(s) <= 10 for s in segs)
    assert mt.toy_target(["a", "b", "c"], "reverse") == ["c", "b", "a"]
    v = mt.WordVocab.build(segs, 6)
    v.save(tmp_path / "v.json")
    w = mt.WordVocab.load(tmp_path / "v.json")
    ids = w.encode(["w one zzz"])[0]
    assert ids[-1] == w.eos_id and w.decode(ids) == w.normalise("w one zzz")


def test_toy_training_pairs_do_not_move_with_the_evaluation_sizes(tmp_path):
    """valid/test are the first sentences of their held-out blocks: shrinking them keeps train.tsv (and the model)."""
    from replicate.papers.michel2019 import mt_runs

    def prepare(name, **sizes):
        data = {"source": "toy", "task": "reverse", "min_words": 4, "max_words": 12, "vocab": 200, "train": 40,
                "domain2": None, **sizes}
        mt_runs.prepare_data({"seed": 0, "importance_examples": 4, "data": data}, tmp_path / name)
        return {s: (tmp_path / name / f"{s}.tsv").read_text().splitlines() for s in ("train", "valid", "test")}

    full = prepare("full", valid=30, test=30)
    small = prepare("small", valid=20, test=10, held_out=30)
    assert small["train"] == full["train"] and len(full["train"]) == 40
    assert small["valid"] == full["valid"][:20] and small["test"] == full["test"][:10]
    assert not set(full["valid"]) & set(full["test"]) and not set(full["test"]) & set(full["train"])


def test_missing_hub_assets_say_how_to_get_them(monkeypatch, tmp_path):
    from replicate.data.corpora import MissingAssetError
    from replicate.papers.michel2019 import mt_runs

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(MissingAssetError, match="huggingface-cli download"):
        mt_runs.load({"source": "hub", "id": "replicate-test/not-a-model"})
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # without `datasets`, or offline: one error naming the fix
    with pytest.raises(MissingAssetError, match="michel2019.mt: .*pre-download"):
        mt_runs.prepare_data({"seed": 0, "importance_examples": 4, "data": {
            "source": "hub", "id": "wmt14", "subset": "fr-en", "src": "en", "tgt": "fr", "valid_split": "validation",
            "test_split": "test", "importance_split": "train", "valid": 4, "test": 4}}, tmp_path)

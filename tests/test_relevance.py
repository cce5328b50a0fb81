"""The relevance registry: one call shape, documented shapes, each entry equal to the shared method
called directly (tiny random models: mechanics only), and hand-computed rollout and flow."""

import contextlib

import numpy as np
import pytest
import torch

from replicate.instrument import Instrument
from replicate.methods import attention, attribution, relevance
from replicate.methods import identifiability as idf

T = 7


@pytest.fixture
def tiny_classifier():
    """A random-init 2-layer, 4-head BERT classifier (3 classes)."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=32, initializer_range=0.5,
                     num_labels=3, attn_implementation="eager")
    return BertForSequenceClassification(cfg).eval()


def example(t=T, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(5, 30, (1, t), generator=g)
    x[0, 0] = 2
    return {"input_ids": x}


def options(name):
    return {"blank_id": 1} if name == "blank_out" else {}


def test_registry_lists_the_eight_methods():
    assert set(relevance.METHODS) == {"raw_attention", "rollout", "flow", "blank_out", "input_gradient",
                                      "gradient_x_input", "effective_attention", "hidden_token_attribution"}
    assert relevance.LAYERWISE <= set(relevance.METHODS)


@pytest.mark.parametrize("name", sorted(relevance.METHODS))
def test_shape_bert_classifier(tiny_classifier, name):
    inst = Instrument(tiny_classifier)
    rel = relevance.METHODS[name](tiny_classifier, inst, example(), 1, **options(name))
    rows = 2 if name in relevance.LAYERWISE else 1
    assert rel.shape == (rows, T) and rel.dtype == np.float64 and np.isfinite(rel).all()


@pytest.mark.parametrize("name", sorted(set(relevance.METHODS) - {"effective_attention", "hidden_token_attribution"}))
def test_shape_sva_encoder(tiny_encoder, name):
    """The suite's own SVA transformer: the attention-based and output-level methods."""
    inst = Instrument(tiny_encoder)
    rel = relevance.METHODS[name](tiny_encoder, inst, example(), 0, **options(name))
    assert rel.shape == ((3 if name in relevance.LAYERWISE else 1), T)


def test_effective_attention_on_the_sva_encoder(tiny_encoder):
    inst = Instrument(tiny_encoder)
    assert relevance.effective_attention(tiny_encoder, inst, example()).shape == (3, T)


# ----------------------------------------------------------------------------- against the shared methods


def reference_attention(model, inst, batch):
    """The attention recorded by identifiability's own pass (an independent route)."""
    return idf.attention_and_values(model, inst, batch["input_ids"][0])[0].double().numpy()


@pytest.mark.parametrize("aggregate", ["cls", "max"])
def test_attention_methods_equal_the_shared_ones(tiny_classifier, aggregate):
    inst = Instrument(tiny_classifier)
    batch = example()
    att = reference_attention(tiny_classifier, inst, batch)
    assert np.array_equal(relevance.attention_stack(tiny_classifier, inst, batch), att)
    want = {
        "raw_attention": attention.relevance(attention.raw_attention(att), aggregate),
        "rollout": attention.relevance(attention.rollout(att), aggregate),
        "flow": attention.relevance(attention.flow(att, sources="cls" if aggregate == "cls" else "all"), aggregate),
    }
    for name, ref in want.items():
        np.testing.assert_array_equal(relevance.METHODS[name](tiny_classifier, inst, batch, aggregate=aggregate), ref)
    if aggregate == "cls":  # the flow of every source, read at the CLS row, is the flow of the CLS source
        np.testing.assert_allclose(relevance.flow(tiny_classifier, inst, batch, sources="all"), want["flow"], atol=1e-9)


def test_effective_attention_equals_the_shared_one(tiny_classifier):
    inst = Instrument(tiny_classifier)
    batch = example(t=12)  # T > d_v = 8: a non-trivial null space
    att, val, _ = idf.attention_and_values(tiny_classifier.bert, inst, batch["input_ids"][0])
    eff = [idf.effective_attention(att[l], val[l])[0] for l in range(2)]
    ref = np.stack([e.mean(0)[0] for e in eff])  # head mean, CLS row
    np.testing.assert_allclose(relevance.effective_attention(tiny_classifier, inst, batch), ref, rtol=0, atol=1e-15)
    raw = relevance.raw_attention(tiny_classifier, inst, batch)
    assert np.abs(relevance.effective_attention(tiny_classifier, inst, batch) - raw).max() > 1e-4


def test_hidden_token_attribution_equals_the_shared_one(tiny_classifier):
    inst = Instrument(tiny_classifier)
    batch = example()
    hidden, _, _ = idf.hta(tiny_classifier.bert, inst, batch["input_ids"][0])
    got = relevance.hidden_token_attribution(tiny_classifier, inst, batch)
    np.testing.assert_array_equal(got, hidden[:, 0])
    np.testing.assert_allclose(got.sum(-1), 1.0)
    np.testing.assert_array_equal(relevance.hidden_token_attribution(tiny_classifier, inst, batch, aggregate="sum"),
                                  hidden.sum(1))


def test_blank_out_equals_the_shared_one(tiny_classifier):
    inst = Instrument(tiny_classifier)
    batch = example()

    def proba(ids):
        return torch.softmax(tiny_classifier(input_ids=ids).logits, -1)

    ref = attribution.blank_out(proba, batch["input_ids"][0], 1, 2)
    np.testing.assert_array_equal(relevance.blank_out(tiny_classifier, inst, batch, 2, blank_id=1), ref[None])
    with pytest.raises(ValueError, match="blank_id"):
        relevance.blank_out(tiny_classifier, inst, batch, 2)
    # the other inputs of the example go with every blanked copy
    full = {**batch, "attention_mask": torch.ones(1, T, dtype=torch.long), "token_type_ids": torch.zeros(1, T, dtype=torch.long)}
    np.testing.assert_allclose(relevance.blank_out(tiny_classifier, inst, full, 2, blank_id=1), ref[None], atol=1e-7)


@pytest.mark.parametrize("target", [0, 2, None, attribution.prob_difference])
def test_gradients_equal_the_shared_ones(tiny_classifier, target):
    inst = Instrument(tiny_classifier)
    batch = example()
    with torch.no_grad():
        predicted = int(tiny_classifier(**batch).logits.argmax())
    objective = target if callable(target) else attribution.logit_of(predicted if target is None else target)
    grad, gxi = attribution.embedding_gradients(lambda: tiny_classifier(**batch).logits,
                                                tiny_classifier.bert.embeddings, objective)
    np.testing.assert_array_equal(relevance.input_gradient(tiny_classifier, inst, batch, target), grad)
    np.testing.assert_array_equal(relevance.gradient_x_input(tiny_classifier, inst, batch, target), gxi)


def test_input_gradient_by_autograd(tiny_encoder):
    """The SVA encoder's input gradient against autograd on its embedding output, by hand."""
    batch = example()
    e = tiny_encoder.embeddings(batch["input_ids"]).detach().requires_grad_(True)
    handle = tiny_encoder.embeddings.register_forward_hook(lambda *_: e)
    try:
        tiny_encoder(**batch)[0, 1].backward()
    finally:
        handle.remove()
    ref = e.grad.sum(-1).abs().numpy()
    inst = Instrument(tiny_encoder)
    np.testing.assert_allclose(relevance.input_gradient(tiny_encoder, inst, batch, 1), ref, atol=1e-7)
    np.testing.assert_allclose(relevance.gradient_x_input(tiny_encoder, inst, batch, 1),
                               (e.grad * e).sum(-1).abs().detach().numpy(), atol=1e-7)


def test_padded_or_two_segment_input_refused_by_the_input_ids_methods(tiny_classifier):
    inst = Instrument(tiny_classifier)
    batch = {**example(), "token_type_ids": torch.tensor([[0, 0, 0, 1, 1, 1, 1]])}
    for name in ("effective_attention", "hidden_token_attribution"):
        with pytest.raises(ValueError, match="single-segment"):
            relevance.METHODS[name](tiny_classifier, inst, batch)
    with pytest.raises(ValueError, match="ONE example"):
        relevance.rollout(tiny_classifier, inst, {"input_ids": torch.ones(2, T, dtype=torch.long)})


# ----------------------------------------------------------------------------- by hand


class HandMade(torch.nn.Module):
    """A 'model' whose forward pass records hand-made attention (2 layers, 2 heads, T = 2)."""

    def __init__(self, att):
        super().__init__()
        self.att = att

    def forward(self, input_ids):
        self.inst.recorded.extend(self.att[:, None])  # one (B=1, H, T, T) per layer
        return torch.zeros(1, 2)


class HandInstrument:
    def __init__(self, model):
        model.inst = self
        self.recorded = []

    @contextlib.contextmanager
    def recording(self):
        self.recorded = []
        yield self.recorded


def test_rollout_and_flow_by_hand():
    # layer 1: head mean [[1, 0], [.5, .5]]; layer 2: head mean [[0, 1], [1, 0]]
    a1 = torch.tensor([[[1.0, 0.0], [1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    a2 = torch.tensor([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]]], dtype=torch.float64)
    model = HandMade(torch.stack([a1, a2]))
    inst = HandInstrument(model)
    batch = {"input_ids": torch.zeros(1, 2, dtype=torch.long)}
    # raw attention: the CLS rows of the head means
    np.testing.assert_allclose(relevance.raw_attention(model, inst, batch), [[1, 0], [0, 1]])
    # Â = 0.5 A + 0.5 I: Â1 = [[1, 0], [.25, .75]], Â2 = [[.5, .5], [.5, .5]];
    # R2 = Â2 Â1 = [[.625, .375], [.625, .375]]
    np.testing.assert_allclose(relevance.rollout(model, inst, batch), [[1, 0], [0.625, 0.375]])
    np.testing.assert_allclose(relevance.rollout(model, inst, batch, aggregate="sum"), [[1.25, 0.75], [1.25, 0.75]])
    np.testing.assert_allclose(relevance.rollout(model, inst, batch, residual=False), [[1, 0], [0.5, 0.5]])
    # flow, layer 2: Σ_k min(Â2[0, k], Â1[k, v]) = (.5 + .25, 0 + .5) = (.75, .5), normalised (.6, .4)
    np.testing.assert_allclose(relevance.flow(model, inst, batch), [[1, 0], [0.6, 0.4]], atol=1e-8)

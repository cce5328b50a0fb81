"""Training loops: they learn a trivially learnable task and are deterministic under a seed."""

import pytest
import torch

from replicate.models import CLSEncoderClassifier, EncoderConfig
from replicate.training import predict_encoder, train_encoder


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

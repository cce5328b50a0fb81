"""Blank-out, input gradients and Spearman against hand computations."""

import numpy as np
import pytest
import torch
from scipy import stats as sps

from replicate.methods import attribution, stats


class Linear(torch.nn.Module):
    """logits = (sum_i e_i) @ W with e = embedding(ids): gradients are known in closed form."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embeddings = torch.nn.Embedding(10, 3)
        self.w = torch.nn.Linear(3, 2, bias=False)

    def forward(self, ids):
        return self.w(self.embeddings(ids).sum(1))


def test_embedding_gradients_closed_form():
    model = Linear()
    ids = torch.tensor([[1, 4, 7], [2, 3, 9]])
    grad, gxi = attribution.embedding_gradients(lambda: model(ids), model.embeddings, attribution.logit_of(0))
    w0 = model.w.weight[0].detach()
    e = model.embeddings(ids).detach()
    # d logit_0 / d e_{i,d} = W[0, d] for every position i
    assert np.allclose(grad, np.full((2, 3), abs(float(w0.sum()))), atol=1e-6)
    assert np.allclose(gxi, (e * w0).sum(-1).abs().numpy(), atol=1e-6)


def test_prob_difference_objective():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    p = torch.softmax(logits, -1)
    assert torch.allclose(attribution.prob_difference(logits), p[:, 0] - p[:, 1])


def test_blank_out_matches_manual_loop():
    model = Linear()
    ids = torch.tensor([1, 4, 7, 5])

    def proba(x):
        return torch.softmax(model(x), -1)

    scores = attribution.blank_out(proba, ids, blank_id=0, target=1, batch_size=3)
    with torch.no_grad():
        base = proba(ids[None])[0, 1]
        manual = []
        for i in range(4):
            x = ids.clone()
            x[i] = 0
            manual.append(float((base - proba(x[None])[0, 1]).abs()))
    assert np.allclose(scores, manual, atol=1e-6)


def test_spearman_scipy_and_dense():
    a = [0.1, 0.4, 0.2, 0.9, 0.3]
    b = [1, 3, 2, 5, 4]
    assert stats.spearman(a, b) == pytest.approx(sps.spearmanr(a, b).statistic)
    # no ties: the dense formula equals the textbook one: 1 - 6*sum d^2/(n(n^2-1)); d = (0,-1,0,0,1)
    assert stats.spearman(a, b, "dense") == pytest.approx(1 - 6 * 2 / (5 * 24))
    # ties: dense ranks (1,1,2) vs (1,2,3): d = (0,-1,-1) -> 1 - 6*2/(3*8) = 0.5
    assert stats.spearman([1, 1, 2], [1, 2, 3], "dense") == pytest.approx(0.5)
    assert stats.spearman([1, 1, 1], [1, 2, 3]) == 0.0  # constant vector: NaN counted as 0
    with pytest.raises(ValueError):
        stats.spearman([1, 2], [1, 2], "pearson")


def test_mean_std_is_population_std():
    mean, std = stats.mean_std([0.0, 1.0])
    assert (mean, std) == (0.5, 0.5)

"""voita2019heads methods: Hard Concrete gates and the L0 penalty, z+ LRP conservation and head relevance,
head functions (confidence, positional, syntactic with the per-relation offset baseline, rare tokens)."""

import math

import numpy as np
import pytest
import torch

from replicate.instrument import Instrument
from replicate.methods import hardconcrete as hc
from replicate.methods import headroles, lrp
from replicate.models import nmt


# ----------------------------------------------------------------------------- Hard Concrete


@pytest.mark.parametrize("log_alpha, closed, one", [(0.0, 0.23, 0.23), (2.0, 0.04, 0.69), (-3.0, 0.86, 0.01)])
def test_fig6_legends_at_temperature_half(log_alpha, closed, one):
    """The printed Fig. 6 legends (card corrections: beta = 0.5)."""
    assert round(float(hc.p_closed(log_alpha, beta=0.5)), 2) == closed
    assert round(float(hc.p_one(log_alpha, beta=0.5)), 2) == one
    assert hc.concrete_density(0.5, 0.0, 0.5) == pytest.approx(0.5)


def test_closed_forms_against_sampling():
    la = torch.tensor([-3.0, -0.5, 0.0, 1.0, 2.0])
    g = hc.sample(la.expand(200_000, 5).contiguous(), generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose((g == 0).float().mean(0), hc.p_closed(la), atol=0.005)
    np.testing.assert_allclose((g == 1).float().mean(0), hc.p_one(la), atol=0.005)
    # the code's form of P(open) = sigmoid(log_alpha + 0.791)
    np.testing.assert_allclose(hc.p_open(la), torch.sigmoid(la + 0.33 * math.log(11)), atol=1e-6)


def test_l0_penalty_against_monte_carlo():
    la = torch.tensor([[0.5, -1.0, 2.0, -4.0], [0.0, 1.0, -2.0, 3.0], [-0.3, 0.3, 0.0, 0.0]])
    gen = torch.Generator().manual_seed(1)
    mc = torch.stack([(hc.sample(la, generator=gen) > 0).float().sum(-1).mean() for _ in range(20_000)]).mean()
    assert float(hc.l0_penalty(la)) == pytest.approx(float(mc), abs=0.02)
    # differentiable in log_alpha
    la.requires_grad_(True)
    hc.l0_penalty(la).backward()
    assert (la.grad > 0).all()


def test_eval_gate_formula():
    la = np.array([-10.0, -2.2, 0.0, 1.0, 10.0])
    np.testing.assert_allclose(hc.eval_gate(la), np.clip(1.2 / (1 + np.exp(-la)) - 0.1, 0, 1))
    assert hc.eval_gate(-10.0) == 0 and hc.eval_gate(10.0) == 1 and hc.eval_gate(0.0) == pytest.approx(0.5)
    gates = hc.HeadGates(2, 8)
    gates.eval()
    torch.testing.assert_close(gates(), hc.eval_gate(gates.log_alpha))


def _tiny(seed=0):
    torch.manual_seed(seed)
    m = nmt.build_model(40, 50, dict(layers=2, heads=4, d_model=16, ffn_dim=32, dropout=0.0, max_positions=32)).eval()
    batch = {"input_ids": torch.randint(3, 40, (3, 7)), "attention_mask": torch.ones(3, 7, dtype=torch.long),
             "labels": torch.randint(3, 50, (3, 5))}
    batch["attention_mask"][0, 5:] = 0
    batch["input_ids"][0, 5:] = 0
    batch["labels"][1, 4:] = -100
    return m, batch


def test_all_gates_at_one_leave_outputs_unchanged():
    m, b = _tiny()
    with torch.no_grad():
        ref = m(**b).logits
        inst = Instrument(m)
        inst.gates = torch.ones(inst.n_layers, inst.n_heads)
        out = m(**b).logits
        gates = hc.HeadGates(inst.n_layers, inst.n_heads)
        gates.log_alpha.fill_(20.0)  # evaluation gate clip(1.2 sigmoid(20) - 0.1) = 1
        gates.eval()
        inst.gates = gates()
        out2 = m(**b).logits
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(out2, ref)


# ----------------------------------------------------------------------------- LRP


def test_zplus_linear_rule_by_hand():
    x = torch.tensor([[1.0, -2.0, 0.5]], requires_grad=True)
    w = torch.tensor([[1.0, 2.0, -1.0], [-1.0, -1.0, 3.0]])
    b = torch.tensor([0.3, -0.2])
    out = lrp.zplus_linear_forward(x, w, torch.nn.functional.linear(x, w, b))
    r_out = torch.tensor([[2.0, 1.0]])
    (out * (r_out / out).detach()).sum().backward()
    r_in = (x * x.grad)[0]
    z = x.detach()[0, None, :] * w  # (out, in)
    zp = z.clamp(min=0)
    expected = (zp / zp.sum(1, keepdim=True) * r_out[0, :, None]).sum(0)
    torch.testing.assert_close(r_in, expected)
    assert float(r_in.detach().sum()) == pytest.approx(3.0)


def test_lrp_conservation_layer_by_layer():
    m, b = _tiny()
    inst = Instrument(m)
    t = 2
    with lrp.zplus(m, inst):
        out = m(input_ids=b["input_ids"], attention_mask=b["attention_mask"], labels=b["labels"].clamp(min=0),
                output_hidden_states=True)
        enc, dec = out.encoder_hidden_states, out.decoder_hidden_states
        for h in enc + dec:
            h.retain_grad()
        top = out.logits[:, t].max(-1).values
        top.sum().backward()
    total = float(top.sum())
    rel = lambda h: float((h * h.grad).sum())  # noqa: E731
    # every encoder layer's output carries the same relevance (all of it reaches the decoder through it)
    for h in enc[1:]:
        assert rel(h) == pytest.approx(rel(enc[-1]), rel=1e-4)
    # encoder and decoder inputs together carry the whole top-1 logit
    assert rel(enc[0]) + rel(dec[0]) == pytest.approx(total, rel=1e-4)
    assert rel(dec[-1]) == pytest.approx(total, rel=1e-4)


def test_head_relevance_normalised():
    m, b = _tiny()
    inst = Instrument(m)
    r = lrp.head_relevance(m, inst, b, rows=[0, 1])
    assert r.shape == (3, 2, 4)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-5)
    # the forward is unchanged outside the block
    assert not inst.state.detach_probs


# ----------------------------------------------------------------------------- head functions


def _onehot_maps(L, H, T, target):
    """(L, H, T, T) maps where query q of head (l, h) puts 0.9 on key target(l, h, q) (else </s>)."""
    m = np.zeros((L, H, T, T))
    for l in range(L):
        for h in range(H):
            for q in range(T):
                k = target(l, h, q)
                k = T - 1 if k is None or not 0 <= k < T - 1 else k
                m[l, h, q, k] += 0.9
                m[l, h, q, T - 1] += 0.1
    return m


def test_confidence_and_positional():
    T = 6  # 5 tokens + </s>
    m = _onehot_maps(1, 3, T, lambda l, h, q: q - 1 if h == 0 else (q + 1 if h == 1 else 2))
    m[0, 2] = 1.0 / T  # head 2: uniform
    conf = headroles.confidence([m])
    np.testing.assert_allclose(conf[0], [0.72, 0.72, 1 / T])  # (0 + 4 x 0.9) / 5: q=0 of head 0 has only </s>
    pos = headroles.positional_shares([m])
    assert pos[-1][0, 0] == 1.0 and pos[1][0, 1] == 1.0 and pos[-1][0, 2] < 0.9


def test_syntactic_scores_and_dobj_baseline():
    # "he read the book": read=1 head; he=0 nsubj -> 1; the=2 det -> 3; book=3 dobj -> 1 (offset +2)
    sents = [{"heads": [2, 0, 4, 2], "deprels": ["nsubj", "ROOT", "det", "dobj"]}] * 3
    base = headroles.offset_baseline(sents)
    assert base["dobj"][0] == 2 and base["dobj"][1] == 1.0
    assert base["nsubj"][0] == -1
    # head 0: every word attends to "read"; head 1: each word to its left neighbour
    wm = np.zeros((1, 2, 4, 4))
    wm[0, 0, :, 1] = 1.0
    wm[0, 0, 1, 3] = 2.0  # read -> book
    for q in range(4):
        wm[0, 1, q, max(q - 1, 0) if q else 1] = 1.0
    scores = headroles.syntactic_scores([wm] * 3, sents)
    assert scores[("dobj", "dep2head")][0][0, 0] == 1.0 and scores[("dobj", "head2dep")][0][0, 0] == 1.0
    assert scores[("nsubj", "dep2head")][0][0, 0] == 1.0
    assert scores[("dobj", "dep2head")][0][0, 1] == 0.0
    labels = headroles.assign_functions({-1: np.zeros((1, 2)), 1: np.zeros((1, 2))}, scores,
                                        {"dobj": (2, 0.41, 3, {}), "nsubj": (-1, 0.35, 3, {})}, None)
    assert labels[0][0] in ("o→v", "v→o", "s→v")


def test_rare_token_head():
    T = 5
    ids = [[10, 11, 999, 12]]
    rank = {10: 0, 11: 1, 12: 2}  # 999 unseen: rarest
    m = _onehot_maps(1, 2, T, lambda l, h, q: 2 if h == 1 else q)
    share, n = headroles.rare_token_shares([m], ids, rank, top=3)
    assert n == 1 and share[0, 1] == 1.0 and share[0, 0] == 0.25
    share, n = headroles.rare_token_shares([m], ids, rank, top=10_000)
    assert n == 0

"""Null space, effective attention, alternative attention rows and HTA on tiny random BERTs (mechanics only)."""

import numpy as np
import pytest
import torch

from replicate.methods import identifiability as idf
from replicate.instrument import Instrument


def ids(t, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(5, 50, (t,), generator=g)
    x[0], x[-1] = 2, 3
    return x


def test_values_and_contexts_recorded(tiny_bert):
    inst = Instrument(tiny_bert)
    x = ids(12)
    with torch.no_grad():
        ref = tiny_bert(input_ids=x[None]).last_hidden_state
    att, val, ctx = idf.attention_and_values(tiny_bert, inst, x)
    assert val.shape == (2, 4, 12, 8) and ctx.shape == (2, 4, 12, 8)
    torch.testing.assert_close(ctx, att @ val)
    # the value vectors are the model's value projection of the layer input (bias included)
    with torch.no_grad(), inst.recording(values=True):
        out = tiny_bert(input_ids=x[None], output_hidden_states=True)
    sa = tiny_bert.encoder.layer[0].attention.self
    v = sa.value(out.hidden_states[0])[0].view(12, 4, 8).transpose(0, 1)
    torch.testing.assert_close(inst.values[0][0], v)
    assert torch.equal(out.last_hidden_state, ref)


@pytest.mark.parametrize("t", [6, 8, 20, 30])
def test_null_space_dimension(tiny_bert, t):
    inst = Instrument(tiny_bert)
    _, val, _ = idf.attention_and_values(tiny_bert, inst, ids(t))
    for layer in range(2):
        for h in range(4):
            rank, n, _ = idf.null_space(val[layer, h])
            assert rank == min(t, 8)
            assert n.shape == (t, t - rank)
            if n.shape[1]:
                assert float((n.T @ val[layer, h].double()).abs().max()) < 1e-10


def test_effective_attention_keeps_every_head_output(tiny_bert):
    inst = Instrument(tiny_bert)
    att, val, ctx = idf.attention_and_values(tiny_bert, inst, ids(25))
    for layer in range(2):
        eff, nul, dims = idf.effective_attention(att[layer], val[layer])
        v = val[layer].double().numpy()
        a = att[layer].double().numpy()
        np.testing.assert_allclose(eff @ v, a @ v, rtol=0, atol=1e-10 * np.abs(a @ v).max())
        np.testing.assert_allclose(eff + nul, a, atol=1e-14)
        assert (dims == 25 - 8).all()
        assert np.abs(nul).max() > 1e-3  # not trivially zero beyond d_v
        # same head output as the model's own per-head output (float32 there)
        np.testing.assert_allclose(eff @ v, ctx[layer].double().numpy(), atol=1e-5)


def test_effective_attention_is_raw_up_to_head_dim(tiny_bert):
    inst = Instrument(tiny_bert)
    att, val, _ = idf.attention_and_values(tiny_bert, inst, ids(8))
    eff, nul, dims = idf.effective_attention(att[0], val[0])
    assert (dims == 0).all()
    np.testing.assert_allclose(eff, att[0].double().numpy(), atol=1e-15)


@pytest.mark.parametrize("target", [None, "argmin"])
def test_alternative_row_is_valid_and_keeps_output(tiny_bert, target):
    inst = Instrument(tiny_bert)
    att, val, _ = idf.attention_and_values(tiny_bert, inst, ids(24))
    for layer in range(2):
        for h in range(4):
            a = att[layer, h, 5].double()
            v = val[layer, h].double()
            _, n, _ = idf.null_space(val[layer, h])
            k = int(a.argmin()) if target else None
            alt = torch.from_numpy(idf.alternative_row(a, n, target=k, seed=h, fraction=0.9))
            assert float(alt.min()) >= 0
            assert abs(float(alt.sum()) - float(a.sum())) < 1e-12
            assert abs(float(alt.sum()) - 1) < 1e-6
            torch.testing.assert_close(alt @ v, a @ v, rtol=0, atol=1e-12 * float((a @ v).abs().max()))
            assert float((alt - a).abs().sum()) > 0  # a different row (a random step is limited by the smallest entry)
            if target:
                assert float(alt[k]) > float(a[k])


def test_alternative_row_refuses_identifiable_rows():
    with pytest.raises(ValueError):
        idf.alternative_row(torch.full((4,), 0.25), torch.zeros(4, 0))


def _slow_reference(model, inst, x):
    """One backward pass per scalar output (the slow way), Frobenius norm per Jacobian block."""
    with idf.embedding_input(model) as slot:
        e0 = model.embeddings(input_ids=x[None])[0].detach().requires_grad_(True)
        f = idf.encoder_outputs(model, inst, x, slot)
        hidden, contexts = f(e0)
    results = []
    for out in (hidden, contexts):
        flat = out.reshape(-1, out.shape[-1])  # (rows, F)
        sq = torch.zeros(flat.shape[0], e0.shape[0], dtype=torch.float64)
        for r in range(flat.shape[0]):
            for k in range(flat.shape[1]):
                (g,) = torch.autograd.grad(flat[r, k], e0, retain_graph=True)
                sq[r] += g.double().pow(2).sum(-1)
        results.append(idf.normalise(sq.sqrt().reshape(*out.shape[:-1], e0.shape[0])))
    return results


def test_hta_equals_slow_reference(tiny_bert):
    inst = Instrument(tiny_bert)
    x = ids(5)
    ref_h, ref_c = _slow_reference(tiny_bert, inst, x)
    hid, heads, _ = idf.hta(tiny_bert, inst, x, probes=None, chunk=50)
    np.testing.assert_allclose(hid, ref_h, atol=1e-5)
    np.testing.assert_allclose(heads, ref_c, atol=1e-5)
    np.testing.assert_allclose(hid.sum(-1), 1, atol=1e-12)
    np.testing.assert_allclose(heads.sum(-1), 1, atol=1e-12)
    assert hid.shape == (2, 5, 5) and heads.shape == (2, 4, 5, 5)


def test_hutchinson_estimate_is_close(tiny_bert):
    inst = Instrument(tiny_bert)
    x = ids(5)
    exact, _, _ = idf.hta(tiny_bert, inst, x, probes=None)
    est, _, _ = idf.hta(tiny_bert, inst, x, probes=64, seed=1)
    assert np.abs(est - exact).max() < 0.05
    again, _, _ = idf.hta(tiny_bert, inst, x, probes=64, seed=1)
    assert np.array_equal(est, again)  # seeded


def test_squared_norms_of_a_linear_map():
    w = torch.randn(3, 5, 4, 4, dtype=torch.float64)  # out position o, in position i: J_oi = w[o, i]... (3 out, 5 in)
    def f(e):  # e: (5, 4) -> (3, 4)
        return (torch.einsum("oidk,ik->od", w, e),)
    (sq,) = idf.squared_jacobian_norms(f, torch.zeros(5, 4, dtype=torch.float64), chunk=7)
    np.testing.assert_allclose(sq.numpy(), w.pow(2).sum((2, 3)).numpy(), rtol=1e-12)


def test_jensen_shannon_and_offsets():
    p = np.array([[1.0, 0, 0], [0.5, 0.5, 0]])
    assert idf.jensen_shannon(p, p).max() == 0
    assert idf.jensen_shannon(np.array([1.0, 0]), np.array([0, 1.0])) == pytest.approx(np.log(2))
    m = np.eye(4)
    prof = idf.offset_profile(m, 2)
    np.testing.assert_allclose(prof, [0, 0, 1, 0, 0])
    np.testing.assert_allclose(idf.offset_profile(np.eye(4, k=1), 1), [0, 0, 1])


def test_token_types_and_mass():
    types = idf.token_types(["[CLS]", "a", ",", "b", ".", "[SEP]"])
    assert types == ["[CLS]", "other", "punct", "other", "punct", "[SEP]"]
    a = np.full((1, 6, 6), 1 / 6)
    mass = idf.token_type_mass(a, types)
    assert mass["punct"][0] == pytest.approx(2 / 6) and sum(v[0] for v in mass.values()) == pytest.approx(1)


def test_linear_probe_recovers_a_linear_map_and_identifies():
    from replicate.methods import probing

    rng = np.random.default_rng(0)
    e0 = rng.normal(size=(300, 6))
    w = rng.normal(size=(6, 6))
    hidden = e0 @ w + 0.5
    fitted = probing.fit_linear(hidden, e0, ridge=0)
    np.testing.assert_allclose(probing.apply_linear(fitted, hidden), e0, atol=1e-8)
    groups = np.repeat(np.arange(30), 10)
    assert probing.identification_rate(probing.apply_linear(fitted, hidden), e0, groups, "l2") == 1.0
    assert probing.identification_rate(e0, e0, None, "cosine") == 1.0
    # a permutation within each group is never identified
    perm = np.concatenate([g * 10 + np.roll(np.arange(10), 1) for g in range(30)])
    assert probing.identification_rate(e0[perm], e0, groups, "l2") == 0.0

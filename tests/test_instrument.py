"""The instrumented attention against plain eager attention and hand-made references."""

import pytest
import torch

from replicate.instrument import Instrument


def batch():
    ids = torch.tensor([[2, 5, 7, 9, 11, 3], [2, 8, 4, 3, 0, 0]])
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


def test_all_ones_gates_equal_eager(tiny_bert):
    enc = batch()
    with torch.no_grad():
        ref = tiny_bert(**enc, output_attentions=True)
    inst = Instrument(tiny_bert)
    with torch.no_grad(), inst.recording() as att:
        out = tiny_bert(**enc)
    assert torch.equal(out.last_hidden_state, ref.last_hidden_state)
    for a, b in zip(att, ref.attentions):
        assert torch.equal(a, b)
    # padded keys get no attention (the mask function is registered with the attention function)
    assert float(att[0][1, :, :, 4:].abs().max()) == 0.0


def test_padding_does_not_change_unpadded_example(tiny_bert):
    Instrument(tiny_bert)  # routes attention through the instrument
    enc = batch()
    with torch.no_grad():
        padded = tiny_bert(**enc).last_hidden_state[1, :4]
        alone = tiny_bert(input_ids=enc["input_ids"][1:, :4]).last_hidden_state[0]
    assert torch.allclose(padded, alone, atol=1e-5)


def test_zero_gate_equals_zeroing_the_head_output(tiny_bert):
    enc = batch()
    layer, head, d = 1, 2, 32 // 4
    dense = tiny_bert.encoder.layer[layer].attention.output.dense

    def zero_head(_module, args):
        x = args[0].clone()
        x[..., head * d:(head + 1) * d] = 0
        return (x,)

    handle = dense.register_forward_pre_hook(zero_head)
    with torch.no_grad():
        reference = tiny_bert(**enc).last_hidden_state
    handle.remove()
    inst = Instrument(tiny_bert)
    inst.gates[layer, head] = 0.0
    with torch.no_grad(), inst.recording() as att:
        gated = tiny_bert(**enc).last_hidden_state
    assert torch.allclose(gated, reference, atol=1e-6)
    inst.reset()
    with torch.no_grad():
        ungated = tiny_bert(**enc).last_hidden_state
    assert (ungated - gated).abs().max() > 1e-4
    assert torch.allclose(att[layer].sum(-1)[0], torch.ones(4, 6), atol=1e-6)  # recorded before gating


def test_uniform_head_is_flat_over_real_keys_and_leaves_other_heads(tiny_bert):
    enc = batch()
    inst = Instrument(tiny_bert)
    with torch.no_grad(), inst.recording() as base:
        tiny_bert(**enc)
    base = [a.clone() for a in base]
    inst.uniform[0, 1] = True
    with torch.no_grad(), inst.recording() as att:
        tiny_bert(**enc)
    assert torch.allclose(att[0][0, 1], torch.full((6, 6), 1 / 6))
    assert torch.allclose(att[0][1, 1, :4], torch.tensor([0.25] * 4 + [0.0] * 2).expand(4, 6))
    others = [h for h in range(4) if h != 1]
    assert torch.equal(att[0][:, others], base[0][:, others])  # same layer, other heads untouched
    assert not torch.allclose(att[1], base[1])  # later layers see the change


def test_gate_gradient_matches_finite_difference(tiny_bert):
    enc = batch()
    inst = Instrument(tiny_bert)
    tiny_bert.double()
    gates = torch.ones(2, 4, dtype=torch.float64, requires_grad=True)
    inst.gates = gates

    def loss():
        return tiny_bert(**enc).last_hidden_state.pow(2).mean()

    loss().backward()
    for layer, head in [(0, 0), (1, 3)]:
        eps = 1e-5
        values = []
        for sign in (1, -1):
            g = torch.ones(2, 4, dtype=torch.float64)
            g[layer, head] += sign * eps
            inst.gates = g
            with torch.no_grad():
                values.append(loss().item())
        fd = (values[0] - values[1]) / (2 * eps)
        assert gates.grad[layer, head].item() == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_recording_keeps_gradients(tiny_bert):
    inst = Instrument(tiny_bert)
    with inst.recording(keep_grad=True) as att:
        out = tiny_bert(**batch()).last_hidden_state
    (out[:, 0] * torch.linspace(-1, 1, 32)).sum().backward()
    assert all(a.grad is not None and a.grad.abs().sum() > 0 for a in att)


def test_bad_gate_shape(tiny_bert):
    inst = Instrument(tiny_bert)
    with pytest.raises(ValueError, match="shape"):
        inst.gates = torch.ones(3, 4)


def test_own_encoder_records_and_masks(tiny_encoder):
    inst = Instrument(tiny_encoder)
    assert (inst.n_layers, inst.n_heads) == (3, 4)
    ids = torch.tensor([[2, 5, 6, 7], [2, 9, 0, 0]])
    with torch.no_grad(), inst.recording() as att:
        logits = tiny_encoder(ids)
        alone = tiny_encoder(ids[1:, :2])
    assert torch.allclose(logits[1], alone[0], atol=1e-5)
    assert len(att) == 3 and att[0].shape == (1, 4, 2, 2)  # last call recorded
    with torch.no_grad(), inst.recording() as att:
        tiny_encoder(ids)
    assert torch.allclose(att[2].sum(-1), torch.ones(2, 4, 4), atol=1e-6)
    assert float(att[2][1, :, :, 2:].max()) == 0.0


def test_recording_outside_forward_raises(tiny_encoder):
    inst = Instrument(tiny_encoder)
    with pytest.raises(RuntimeError, match="no attention was recorded"):
        with inst.recording():
            pass

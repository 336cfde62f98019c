"""
The dependent HardKuma gate with the RCNN state cell (`state_cell="rcnn"`), the cell of the paper
authors' code for an RCNN encoder: over `x_i = [h_i; z_i]`,

    l_i  = sigmoid(W_l x_i + U s_{i-1} + b)
    c1_i = l_i * c1_{i-1} + (1 - l_i) * W_1 x_i
    c2_i = l_i * c2_{i-1} + (1 - l_i) * (c1_{i-1} + W_2 x_i)
    s_i  = tanh(c2_i + b_out)

The gate's fused loop is checked against this recurrence written step by step from the gate's own
parameters, with the same uniform noise, in float64: the gates, the reported penalties and the
gradients agree.
"""

from typing import List

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gates import DependentHardKumaGate, Gate
from hardkuma_allennlp.modules.hardkuma_shape import report_penalties

DIM, HIDDEN, BATCH, LENGTH = 4, 3, 3, 6


def make_gate(seed: int = 0) -> DependentHardKumaGate:
    torch.manual_seed(seed)
    return DependentHardKumaGate(
        PassThroughEncoder(DIM), hidden_size=HIDDEN, state_cell="rcnn"
    ).double()


def fixed_noise(monkeypatch, table: torch.Tensor) -> List[int]:
    """`rsample` at step `i` of a pass uses the uniform noise `table[:, i]`."""
    calls = [0]

    def rsample(self, sample_shape=torch.Size()):
        u = table[:, calls[0] % table.size(1)]
        calls[0] += 1
        return self.rsample_from_uniform(u)

    monkeypatch.setattr(HardKumaraswamy, "rsample", rsample)
    return calls


def by_hand(gate: DependentHardKumaGate, inputs: torch.Tensor, mask: torch.BoolTensor, noise):
    """The recurrence of the module docstring, one step at a time."""
    shape = gate._shape
    encoded = gate._encoder(inputs, mask)
    state = [inputs.new_zeros(BATCH, HIDDEN) for _ in range(3)]
    z, p_zero = [], []
    for i in range(inputs.size(1)):
        features = torch.cat([encoded[:, i], state[0]], dim=-1)
        distribution = shape.shape.distribution(
            shape.a_layer(features).squeeze(-1), shape.b_layer(features).squeeze(-1)
        )
        if gate.training:
            z_i = torch.where(mask[:, i], distribution.rsample_from_uniform(noise[:, i]), 0.0)
        else:
            z_i = gate.decoding(distribution, mask[:, i])
        x_i = torch.cat([encoded[:, i], z_i.unsqueeze(-1)], dim=-1)
        w_l, w_1, w_2 = gate._state_input(x_i).chunk(3, dim=-1)
        l_i = torch.sigmoid(w_l + gate._state_recurrent(state[0]))
        first = l_i * state[1] + (1 - l_i) * w_1
        second = l_i * state[2] + (1 - l_i) * (state[1] + w_2)
        hidden = torch.tanh(second + gate._state_bias)
        keep = mask[:, i].unsqueeze(-1)
        state = [torch.where(keep, new, old) for new, old in zip((hidden, first, second), state)]
        z.append(z_i)
        p_zero.append(distribution.prob_zero())
    return torch.stack(z, 1), report_penalties(torch.stack(p_zero, 1), mask)


def inputs_and_mask(seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(BATCH, LENGTH, DIM, generator=generator, dtype=torch.float64)
    lengths = torch.tensor([LENGTH, 4, 1])
    mask = torch.arange(LENGTH).unsqueeze(0) < lengths.unsqueeze(1)
    noise = torch.rand(BATCH, LENGTH, generator=generator, dtype=torch.float64)
    return inputs, mask, noise


@pytest.mark.parametrize("training", [True, False])
def test_fused_loop_matches_the_recurrence_step_by_step(training, monkeypatch):
    gate = make_gate()
    # Larger shape scores than the default initialisation, so that gates land on 0, 1 and in
    # between and the state's influence is visible.
    with torch.no_grad():
        for parameter in gate.parameters():
            parameter.mul_(3.0)
    gate.train(training)
    inputs, mask, noise = inputs_and_mask()
    fixed_noise(monkeypatch, noise)

    fused_inputs = inputs.clone().requires_grad_()
    z = gate(fused_inputs, mask).z
    penalties = gate.expected_penalties()
    hand_inputs = inputs.clone().requires_grad_()
    z_hand, penalties_hand = by_hand(gate, hand_inputs, mask, noise)

    torch.testing.assert_close(z, z_hand)
    for name in ("selection", "transition"):
        torch.testing.assert_close(penalties[name], penalties_hand[name])
    # The gates are neither all 0 nor all 1, so the comparison is not vacuous.
    assert ((z[mask] > 0) & (z[mask] < 1)).any() or ((z[mask] == 0).any() and (z[mask] == 1).any())

    # Gradients of a loss that reads the gates and the selection penalty, through the chain.
    def loss(gates, reported):
        weights = torch.linspace(0.5, 1.5, LENGTH, dtype=torch.float64)
        return (gates * weights).sum() + reported["selection"]

    parameters = [p for p in gate.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss(z, penalties), [fused_inputs] + parameters)
    grads_hand = torch.autograd.grad(loss(z_hand, penalties_hand), [hand_inputs] + parameters)
    for grad, grad_hand in zip(grads, grads_hand):
        torch.testing.assert_close(grad, grad_hand)
    assert all(torch.isfinite(grad).all() for grad in grads)
    assert grads[0].abs().sum() > 0


def test_state_reaches_later_gates_through_the_rcnn_cell(monkeypatch):
    # Changing the first word's features changes the later gates (same noise) only through s_i.
    gate = make_gate(seed=2).train()
    inputs, mask, noise = inputs_and_mask(seed=3)
    fixed_noise(monkeypatch, noise)
    changed = inputs.clone()
    changed[:, 0] += 5.0
    with torch.no_grad():
        before, after = gate(inputs, mask).z, gate(changed, mask).z
    assert not torch.allclose(before[0, 1:], after[0, 1:])
    # Without the state's influence on the shape scores they stay equal.
    with torch.no_grad():
        gate._shape.a_layer.weight[:, DIM:] = 0.0
        gate._shape.b_layer.weight[:, DIM:] = 0.0
        before, after = gate(inputs, mask).z, gate(changed, mask).z
    torch.testing.assert_close(before[:, 1:], after[:, 1:])


def test_padding_does_not_change_the_valid_positions(monkeypatch):
    gate = make_gate(seed=4).train()
    inputs, mask, noise = inputs_and_mask(seed=5)
    fixed_noise(monkeypatch, noise)
    z = gate(inputs, mask).z
    padded = torch.cat([inputs, torch.randn(BATCH, 3, DIM, dtype=torch.float64)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(BATCH, 3, dtype=torch.bool)], dim=1)
    fixed_noise(monkeypatch, torch.cat([noise, torch.rand(BATCH, 3, dtype=torch.float64)], 1))
    z_padded = gate(padded, padded_mask).z
    torch.testing.assert_close(z_padded[:, :LENGTH], z)
    assert (z_padded[:, LENGTH:] == 0).all()


def test_state_cell_from_params_and_refused_values():
    gate = Gate.from_params(
        Params(
            {
                "type": "hardkuma_dependent",
                "encoder": {"type": "pass_through", "input_dim": DIM},
                "hidden_size": HIDDEN,
                "state_cell": "rcnn",
            }
        )
    )
    names = {name for name, _ in gate.named_parameters()}
    assert {"_state_input.weight", "_state_recurrent.weight", "_state_bias"} <= names
    assert not any(name.startswith("_cell.") for name in names)
    with pytest.raises(ConfigurationError, match="state_cell must be 'lstm' or 'rcnn'"):
        DependentHardKumaGate(PassThroughEncoder(DIM), state_cell="gru")


def test_runs_under_cpu_autocast():
    # The input projections of the valid positions come back in the autocast dtype.
    import warnings

    from hardkuma_allennlp.modules.gates import DependentHardKumaGate
    from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for cell in ("rcnn", "lstm"):
            gate = DependentHardKumaGate(
                RCNN(6, 5, bidirectional=True), hidden_size=4, state_cell=cell
            )
            mask = torch.tensor([[True, True, False], [True, False, False]])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                z = gate.train()(torch.randn(2, 3, 6), mask).z
            assert z.shape == (2, 3) and torch.isfinite(z.float()).all()
            assert (z[~mask] == 0).all()

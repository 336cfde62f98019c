import pytest
import torch
from allennlp.common import Params
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.modules.gate_decoders import PaperDecoder, ThresholdDecoder, TopKDecoder
from hardkuma_allennlp.modules.gates import DependentHardKumaGate, Gate, HardKumaGate
from hardkuma_allennlp.modules.hardkuma_shape import HardKumaLayer, HardKumaShape
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter
from tests.modules.helpers import random_inputs

DIM = 4


def make_gate(seed: int = 0, **kwargs) -> HardKumaGate:
    torch.manual_seed(seed)
    gate = HardKumaGate(PassThroughEncoder(DIM), **kwargs).double()
    gate.constraint = object()  # as if a `lagrangian` callback held it: no warning
    return gate


def inputs(lengths, seq_len: int = 7, seed: int = 1, scale: float = 3.0):
    """Inputs scaled so that the gates spread: some closed, some open, some in between."""
    x, mask = random_inputs(lengths, seq_len, seed=seed, dim=DIM)
    return scale * x, mask


def test_registered_and_configurable():
    gate = Gate.from_params(
        Params(
            {
                "type": "hardkuma",
                "encoder": {"type": "pass_through", "input_dim": DIM},
                "shape": {"min_shape": 1e-6, "lower": -0.2},
                "decoding": {"type": "threshold", "threshold": 0.3},
            }
        )
    )
    assert isinstance(gate, HardKumaGate) and isinstance(gate, PenaltyReporter)
    assert gate.get_input_dim() == DIM
    assert gate._shape.shape.min_shape == 1e-6 and gate._shape.shape.lower == -0.2
    assert isinstance(gate.decoding, ThresholdDecoder) and gate.decoding.threshold == 0.3
    default = HardKumaGate(PassThroughEncoder(DIM))
    assert isinstance(default.decoding, PaperDecoder)
    assert default._shape.shape.min_shape == HardKumaShape().min_shape


def test_hardkuma_layer_maps_features_to_clamped_shapes_even_for_extreme_features():
    torch.manual_seed(0)
    layer = HardKumaLayer(DIM, HardKumaShape(min_shape=0.01, max_shape=100.0))
    # Shape: (2, 3, DIM) -> batch shape (2, 3)
    features = torch.randn(2, 3, DIM)
    distribution = layer(features)
    assert distribution.batch_shape == (2, 3)
    for parameter, linear in ((distribution.a, layer.a_layer), (distribution.b, layer.b_layer)):
        expected = torch.nn.functional.softplus(linear(features).squeeze(-1))
        assert torch.allclose(parameter, expected.clamp(0.01, 100.0))
    # Features of +-1e4 drive the scores far outside the range of the clamp, both ways.
    extreme = 1e4 * torch.sign(torch.randn(64, DIM))
    distribution = layer(extreme)
    for parameter in (distribution.a, distribution.b):
        assert ((parameter >= 0.01) & (parameter <= 100.0)).all()
        assert (parameter == 0.01).any() and (parameter == 100.0).any()
    z = distribution.rsample()
    assert torch.isfinite(z).all() and ((z >= 0) & (z <= 1)).all()
    (z.sum() + distribution.prob_zero().sum()).backward()
    for parameter in layer.parameters():
        assert torch.isfinite(parameter.grad).all()


def test_training_samples_lie_in_the_unit_interval_and_are_exactly_zero_at_padding():
    gate = make_gate()
    x, mask = inputs([7, 4, 1, 0])
    x = torch.where(mask.unsqueeze(-1), x, torch.full_like(x, float("nan")))  # NaN at padding
    gate.train()
    z, scores = gate(x, mask)
    assert z.shape == mask.shape and not torch.isnan(z).any()
    assert ((z >= 0) & (z <= 1)).all() and (z[~mask] == 0).all()
    valid = z[mask]
    # Rectified samples: exact zeros, exact ones, and values in between.
    assert (valid == 0).any() and (valid == 1).any() and ((valid > 0) & (valid < 1)).any()
    for value in gate.expected_penalties().values():
        assert torch.isfinite(value)
    assert torch.isfinite(scores).all() and (scores[~mask] == 0).all()


def test_training_samples_are_reparameterised():
    gate = make_gate()
    x, mask = inputs([7, 4])
    gate.train()
    z = gate(x, mask).z
    assert z.requires_grad
    z.sum().backward()
    assert gate._shape.a_layer.weight.grad.abs().sum() > 0
    assert gate._shape.b_layer.weight.grad.abs().sum() > 0


def test_evaluation_is_deterministic_and_uses_the_papers_rule_by_default():
    gate = make_gate()
    x, mask = inputs([7, 4, 1])
    gate.eval()
    z = gate(x, mask).z
    assert torch.equal(z, gate(x, mask).z)
    expected = gate._shape(gate._encoder(x, mask)).deterministic()
    assert torch.equal(z, torch.where(mask, expected, torch.zeros_like(expected)))
    assert (z[~mask] == 0).all()


def test_reports_expected_selection_and_transition_rates_and_scores():
    gate = make_gate()
    x, mask = inputs([7, 4, 1, 0])
    for training in (True, False):  # the expected rates do not depend on the sample
        gate.train(training)
        scores = gate(x, mask).scores
        p_zero = gate._shape(gate._encoder(x, mask)).prob_zero()
        selection, transition = [], []
        for row, length in enumerate(mask.sum(-1).tolist()):
            p = p_zero[row, :length]
            selection.append((1 - p).sum() / max(length, 1))
            changes = p[:-1] * (1 - p[1:]) + (1 - p[:-1]) * p[1:]
            transition.append(changes.sum() / max(length, 1))
        penalties = gate.expected_penalties()
        assert set(penalties) == {"selection", "transition"}
        assert torch.allclose(penalties["selection"], torch.stack(selection).mean())
        assert torch.allclose(penalties["transition"], torch.stack(transition).mean())
        assert 0 < penalties["selection"] < 1 and 0 < penalties["transition"] < 1
        assert not scores.requires_grad
        assert torch.allclose(scores, torch.where(mask, 1 - p_zero, torch.zeros_like(p_zero)))
    penalties["selection"].backward()
    assert gate._shape.a_layer.weight.grad.abs().sum() > 0


def test_reported_selection_rate_is_the_rate_of_nonzero_samples():
    gate = make_gate()
    x, _ = inputs([6], seq_len=6)
    # Shape: (4000, 6, DIM): one sequence, sampled 4000 times.
    x = x.expand(4000, 6, DIM)
    mask = torch.ones(4000, 6, dtype=torch.bool)
    gate.train()
    torch.manual_seed(2)
    z, scores = gate(x, mask)
    sampled = (z != 0).double().mean()
    assert 0.2 < sampled < 0.8  # neither all closed nor all open
    # Standard error at most 0.5 / sqrt(4000 * 6) = 0.0032.
    reported = gate.expected_penalties()["selection"].item()
    assert reported == pytest.approx(sampled.item(), abs=0.015)
    # Position by position, against P(z != 0) (standard error at most 0.5 / sqrt(4000) = 0.008).
    assert torch.allclose((z != 0).double().mean(0), scores[0], atol=0.035)


def test_gates_use_their_decoder_only_in_evaluation():
    torch.manual_seed(0)
    gate = HardKumaGate(PassThroughEncoder(4), decoding=TopKDecoder(0.5))
    x = torch.randn(5, 8, 4)
    mask = torch.ones(5, 8, dtype=torch.bool)
    gate.eval()
    assert gate(x, mask).z.sum(-1).tolist() == [4.0] * 5
    gate.train()
    z = gate(x, mask).z
    assert z.requires_grad and ((z > 0) & (z < 1)).any()
    # A dependent gate decodes step by step with a threshold.
    dependent = DependentHardKumaGate(PassThroughEncoder(4), decoding=ThresholdDecoder(0.5)).eval()
    assert set(dependent(x, mask).z.unique().tolist()) <= {0.0, 1.0}

"""
Tests of the dependent HardKuma gate ("hardkuma_dependent"; Bastings et al., 2019, eq. 16 and
appendix B.1.2): `z_i ~ HardKuma(a_i, b_i)` with `a_i, b_i = f([h_i; s_{i-1}])` and
`s_i = LSTMCell([h_i; z_i], s_{i-1})`.

A pass-through encoder makes `h_i` the (masked) input itself, so the inputs set the features
directly. Everything runs in float64.
"""

import itertools
import math
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gate_decoders import (
    PaperDecoder,
    SpanDecoder,
    ThresholdDecoder,
    TopKDecoder,
)
from hardkuma_allennlp.modules.gates import DependentHardKumaGate, Gate
from tests.modules.helpers import UnmaskedEncoder, random_inputs

DIM = 4
HIDDEN = 5
LOWER, UPPER = -0.1, 1.1
# The Kumaraswamy argument at h = 0: P(z = 0) = F_K(X_ZERO) = 1 - (1 - X_ZERO^a)^b.
X_ZERO = -LOWER / (UPPER - LOWER)


# ------------------------------------------------------------------------------------------------
# Helpers.


def make_gate(
    seed: int = 0, dim: int = DIM, hidden: int = HIDDEN, decoding=None, encoder=None
) -> DependentHardKumaGate:
    torch.manual_seed(seed)
    encoder = encoder if encoder is not None else PassThroughEncoder(dim)
    return DependentHardKumaGate(encoder, hidden_size=hidden, decoding=decoding).double()


@contextmanager
def recorded_distributions(gate: DependentHardKumaGate):
    """
    Collects the `HardKumaraswamy` of every step (batch shape `(batch_size,)`); the gate's one
    call for all steps at once (for the penalties) is left out.
    """
    records: List[HardKumaraswamy] = []
    shape = gate._shape.shape
    original = shape.distribution

    def recording(*args, **kwargs):
        distribution = original(*args, **kwargs)
        if distribution.a.dim() == 1:
            records.append(distribution)
        return distribution

    shape.distribution = recording
    try:
        yield records
    finally:
        del shape.distribution


def stacked(records: List[HardKumaraswamy]) -> Dict[str, torch.Tensor]:
    """Shape parameters and P(z = 0) of every step, each of shape `(batch_size, seq_len)`."""
    return {
        "a": torch.stack([d.a.detach() for d in records], 1),
        "b": torch.stack([d.b.detach() for d in records], 1),
        "p_zero": torch.stack([d.prob_zero().detach() for d in records], 1),
    }


class ForcedDecoder:
    """An element-wise decoder that sets gate `i` to `values[i]` (`None`: the paper's rule)."""

    elementwise = True

    def __init__(self, values: Sequence[Optional[float]]) -> None:
        self.values = list(values)
        self.step = 0

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        value = self.values[self.step]
        self.step += 1
        if value is None:
            return PaperDecoder()(distribution, mask)
        return torch.where(mask, torch.full_like(distribution.a, value), 0.0)


class StepNoise:
    """
    Replaces `HardKumaraswamy.rsample`: the call for step `i` of a forward pass uses the noise
    `u = table[i]` (broadcast over the batch if it is a scalar per step) and records it.
    """

    def __init__(self, table: Optional[torch.Tensor] = None, seed: Optional[int] = None) -> None:
        self.table = table
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.used: List[torch.Tensor] = []

    def reset(self) -> None:
        self.used = []

    def __call__(self, distribution: HardKumaraswamy, sample_shape=torch.Size()) -> torch.Tensor:
        shape = distribution._extended_shape(sample_shape)
        if self.table is not None:
            u = self.table[len(self.used)].expand(shape)
        else:
            u = torch.rand(shape, generator=self.generator, dtype=distribution.a.dtype)
        self.used.append(u)
        return distribution.rsample_from_uniform(u)


def patch_noise(monkeypatch, noise: StepNoise) -> StepNoise:
    def rsample(self, sample_shape=torch.Size()):
        return noise(self, sample_shape)

    monkeypatch.setattr(HardKumaraswamy, "rsample", rsample)
    return noise


def closed_form_p_zero(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 1.0 - (1.0 - X_ZERO**a) ** b


def penalties_by_hand(p_zero: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, float]:
    """Eqs. 11 and 12 with Python loops: per-sequence rates, averaged over the batch."""
    selection, transition = [], []
    for row_p, row_mask in zip(p_zero.tolist(), mask.tolist()):
        length = max(sum(row_mask), 1)
        l0 = sum(1.0 - p for p, m in zip(row_p, row_mask) if m)
        switches = sum(
            p * (1.0 - q) + (1.0 - p) * q
            for p, q, m, n in zip(row_p, row_p[1:], row_mask, row_mask[1:])
            if m and n
        )
        selection.append(l0 / length)
        transition.append(switches / length)
    return {
        "selection": sum(selection) / len(selection),
        "transition": sum(transition) / len(transition),
    }


def manual_chain(gate: DependentHardKumaGate, x: torch.Tensor, mask: torch.BoolTensor, z_fed):
    """
    Re-runs the recurrence by hand with the gate's own `_shape` and `_cell`, feeding the given
    gate values; returns `a`, `b` of every step, shape `(batch_size, seq_len)` each.
    """
    h = x * mask.unsqueeze(-1)  # the pass-through encoder
    batch_size, seq_len, _ = h.shape
    state = torch.zeros(batch_size, gate._cell.hidden_size, dtype=x.dtype)
    memory = torch.zeros_like(state)
    a_steps, b_steps = [], []
    for i in range(seq_len):
        distribution = gate._shape(torch.cat([h[:, i], state], -1))
        a_steps.append(distribution.a)
        b_steps.append(distribution.b)
        cell_input = torch.cat([h[:, i], z_fed[:, i, None]], -1)
        new_state, new_memory = gate._cell(cell_input, (state, memory))
        # Only sequences that go on past position i update their state.
        valid = mask[:, i]
        state, memory = state.clone(), memory.clone()
        state[valid] = new_state[valid]
        memory[valid] = new_memory[valid]
    return torch.stack(a_steps, 1), torch.stack(b_steps, 1)


def set_weights(gate: DependentHardKumaGate, dim: int, prefix_scale: float) -> None:
    """
    Fixed, moderate parameters with a strong path z_{i-1} -> s_{i-1} -> (a_i, b_i) whose strength
    is `prefix_scale` (0 makes the distributions independent of the prefix). With s = 0,
    P(z = 0) is about 0.6; a non-zero gate raises the state and so lowers the next P(z = 0).
    """
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for parameter in gate.parameters():
            parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
        # The gate value is the last input of the cell: make the state follow it closely.
        gate._cell.weight_ih[:, -1] = 3.0
        gate._shape.a_layer.bias.fill_(-1.5)
        gate._shape.b_layer.bias.fill_(0.5)
        gate._shape.a_layer.weight[0, dim:] = prefix_scale
        gate._shape.b_layer.weight[0, dim:] = -0.3 * prefix_scale


# ------------------------------------------------------------------------------------------------
# Construction.


def test_registered_and_only_elementwise_decoders_accepted():
    gate = Gate.from_params(
        Params(
            {
                "type": "hardkuma_dependent",
                "encoder": {"type": "pass_through", "input_dim": 3},
                "hidden_size": 2,
                "decoding": {"type": "threshold", "threshold": 0.3},
            }
        )
    )
    assert isinstance(gate, DependentHardKumaGate)
    assert isinstance(gate.decoding, ThresholdDecoder) and gate.decoding.threshold == 0.3
    assert gate.get_input_dim() == 3
    assert isinstance(DependentHardKumaGate(PassThroughEncoder(3)).decoding, PaperDecoder)
    for decoder in (TopKDecoder(0.3), SpanDecoder(0.3)):
        with pytest.raises(ConfigurationError):
            DependentHardKumaGate(PassThroughEncoder(3), decoding=decoder)


# ------------------------------------------------------------------------------------------------
# 1. z_i depends on z_<i, and on nothing else but h_<=i.


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_earlier_gate_changes_later_distributions(mode, monkeypatch):
    gate = make_gate(seed=3)
    set_weights(gate, DIM, prefix_scale=1.5)
    x, mask = random_inputs([4, 4, 4], 4)
    runs = {}
    for z_0 in (0.0, 1.0):
        values = [z_0, 0.5, 0.5, 0.5]
        if mode == "eval":
            gate.eval().decoding = ForcedDecoder(values)
        else:
            gate.train()
            # Each sample is the forced value, whatever the distribution.
            monkeypatch.setattr(
                HardKumaraswamy,
                "rsample",
                lambda self, sample_shape=(), it=iter(values): torch.full_like(self.a, next(it)),
            )
        with recorded_distributions(gate) as records:
            z = gate(x, mask).z
        assert torch.equal(z, torch.tensor(values, dtype=torch.float64).expand(3, 4))
        runs[z_0] = stacked(records)
    for key in ("a", "b", "p_zero"):
        # Position 0 is conditioned on nothing; every later one on z_0 through the state (also
        # positions 2 and 3, where the later gates z_1, z_2 are the same in both runs).
        assert torch.equal(runs[0.0][key][:, 0], runs[1.0][key][:, 0])
        assert (runs[0.0][key][:, 1:] != runs[1.0][key][:, 1:]).all(), key
    assert (runs[0.0]["p_zero"][:, 1] - runs[1.0]["p_zero"][:, 1]).abs().min() > 0.01


def test_same_features_and_prefix_give_same_distributions():
    gate = make_gate(seed=4).eval()
    x, mask = random_inputs([4], 4)
    changed = x.clone()
    changed[0, 2] += 1.0
    other = random_inputs([4], 4, seed=9)[0]
    batch = torch.cat([x, x, changed, other])
    mask = mask.expand(4, 4)
    # The same gate values in every row.
    gate.decoding = ForcedDecoder([0.3, 1.0, 0.0, 0.7])
    with recorded_distributions(gate) as records:
        gate(batch, mask)
    params = stacked(records)
    for key in ("a", "b"):
        # The same features and prefix: the same distributions, at every position.
        assert torch.equal(params[key][0], params[key][1])
        # A change of h_2 leaves positions 0 and 1 alone, and changes 2 and (through s_2) 3.
        assert torch.equal(params[key][2, :2], params[key][0, :2])
        assert (params[key][2, 2:] != params[key][0, 2:]).all()
        assert (params[key][3] != params[key][0]).all()
    # The distributions are those of [h_i; s_{i-1}] with the state over the fed values.
    a, b = manual_chain(
        gate, batch, mask, torch.tensor([0.3, 1.0, 0.0, 0.7], dtype=torch.float64).expand(4, 4)
    )
    torch.testing.assert_close(params["a"], a, rtol=1e-13, atol=0)
    torch.testing.assert_close(params["b"], b, rtol=1e-13, atol=0)


def test_prefix_only_acts_through_the_state_read_by_the_shape_layer():
    gate = make_gate(seed=5).eval()
    set_weights(gate, DIM, prefix_scale=0.0)
    with torch.no_grad():
        gate._shape.a_layer.weight[:, DIM:] = 0.0
        gate._shape.b_layer.weight[:, DIM:] = 0.0
    x, mask = random_inputs([3, 3], 3)
    runs = []
    for z_0 in (0.0, 1.0):
        gate.decoding = ForcedDecoder([z_0, None, None])
        with recorded_distributions(gate) as records:
            gate(x, mask)
        runs.append(stacked(records))
    for key in ("a", "b", "p_zero"):
        assert torch.equal(runs[0][key], runs[1][key])


# ------------------------------------------------------------------------------------------------
# 2. Padding.


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("encoder", ["pass_through", "unmasked"])
def test_padding_never_changes_results(mode, encoder, monkeypatch):
    build = PassThroughEncoder if encoder == "pass_through" else UnmaskedEncoder
    gate = make_gate(seed=6, encoder=build(DIM))
    gate.train(mode == "train")
    # In training, the noise of step i is the same for every row, so rows can be compared across
    # batches of other sizes and lengths.
    noise = patch_noise(
        monkeypatch,
        StepNoise(table=torch.rand(9, generator=torch.Generator().manual_seed(2)).double()),
    )
    lengths = [5, 3, 1, 0]
    x, mask = random_inputs(lengths, 5, seed=11)
    # The same sequences with 4 more padded positions and other garbage at all padded ones.
    longer, longer_mask = random_inputs(lengths, 9, seed=12, garbage=1e4)
    longer[:, :5][mask] = x[mask]

    noise.reset()
    z = gate(x, mask).z
    penalties = gate.expected_penalties()
    noise.reset()
    z_longer = gate(longer, longer_mask).z
    penalties_longer = gate.expected_penalties()

    assert torch.equal(z_longer[:, :5], z)
    assert torch.equal(z[~mask], torch.zeros((~mask).sum().item(), dtype=torch.float64))
    assert torch.equal(z_longer[:, 5:], torch.zeros(4, 4, dtype=torch.float64))
    for key in ("selection", "transition"):
        torch.testing.assert_close(penalties_longer[key], penalties[key], rtol=1e-14, atol=1e-15)
        assert torch.isfinite(penalties[key])

    # Each sequence on its own, unpadded (including the empty one): the same gates and penalties.
    per_row = {"selection": [], "transition": []}
    for row, length in enumerate(lengths):
        noise.reset()
        z_row = gate(x[row : row + 1, :length], mask[row : row + 1, :length]).z
        assert z_row.shape == (1, length)
        torch.testing.assert_close(z_row[0], z[row, :length], rtol=1e-12, atol=1e-14)
        for key, value in gate.expected_penalties().items():
            assert torch.isfinite(value)
            per_row[key].append(value.item())
    assert per_row["selection"][3] == 0.0 and per_row["transition"][3] == 0.0
    assert per_row["transition"][2] == 0.0  # no pair in a sequence of length 1
    for key in ("selection", "transition"):
        torch.testing.assert_close(
            penalties[key].item(), sum(per_row[key]) / len(lengths), rtol=1e-12, atol=1e-14
        )


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_state_is_carried_over_padded_positions_anywhere(mode, monkeypatch):
    # Left padding and a hole: padded positions must leave the state alone, so the valid
    # positions get the gates of the compact sequences.
    gate = make_gate(seed=22).train(mode == "train")
    set_weights(gate, DIM, prefix_scale=1.5)
    compact, compact_mask = random_inputs([3, 3, 3], 3, seed=23)
    layout = torch.tensor([False, True, False, False, True, True, False])
    spread = 50.0 * torch.randn(3, 7, DIM, generator=torch.Generator().manual_seed(24))
    spread = spread.double()
    spread[:, layout] = compact
    spread_mask = layout.expand(3, 7)
    noise_table = torch.rand(3, generator=torch.Generator().manual_seed(25), dtype=torch.float64)
    spread_table = torch.full((7,), 0.5, dtype=torch.float64)
    spread_table[layout] = noise_table

    patch_noise(monkeypatch, StepNoise(table=noise_table))
    z = gate(compact, compact_mask).z
    selection = gate.expected_penalties()["selection"]
    patch_noise(monkeypatch, StepNoise(table=spread_table))
    z_spread = gate(spread, spread_mask).z

    if mode == "train":
        assert ((z > 0) & (z < 1)).any()  # interior samples are fed forward too
    torch.testing.assert_close(z_spread[:, layout], z, rtol=1e-13, atol=1e-15)
    assert (z_spread[:, ~layout] == 0).all()
    # The transition rate only counts adjacent valid pairs, so only the selection rate is equal.
    torch.testing.assert_close(
        gate.expected_penalties()["selection"], selection, rtol=1e-13, atol=1e-15
    )


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_empty_and_length_one_rows_give_no_nan(mode):
    gate = make_gate(seed=8).train(mode == "train")
    for lengths, seq_len in (([0], 0), ([0, 0], 0), ([0, 0], 3), ([1], 1), ([1, 0, 1], 2)):
        x, mask = random_inputs(lengths, seq_len)
        z = gate(x, mask).z
        assert z.shape == (len(lengths), seq_len)
        assert torch.isfinite(z).all() and ((z >= 0) & (z <= 1)).all()
        assert (z[~mask] == 0).all()
        penalties = gate.expected_penalties()
        assert set(penalties) == {"selection", "transition"}
        assert all(torch.isfinite(value) for value in penalties.values())
        assert penalties["transition"] == 0.0
        if not mask.any():
            assert penalties["selection"] == 0.0
        else:
            assert 0.0 < penalties["selection"] < 1.0


# ------------------------------------------------------------------------------------------------
# 3. The evaluation chain is deterministic.


@pytest.mark.parametrize("decoding", [None, ThresholdDecoder(0.5), ThresholdDecoder(0.7)])
def test_evaluation_chain_is_deterministic(decoding):
    gate = make_gate(seed=10, decoding=decoding).eval()
    set_weights(gate, DIM, prefix_scale=1.5)
    x, mask = random_inputs([6, 6, 4, 2, 1, 0], 6, seed=13)
    torch.manual_seed(0)
    with recorded_distributions(gate) as records:
        first = gate(x, mask).z
    first_penalties = gate.expected_penalties()
    torch.manual_seed(1)
    second = gate(x, mask).z
    gate.train()
    sampled = gate(x, mask).z
    gate.eval()
    third = gate(x, mask).z
    assert torch.equal(first, second) and torch.equal(first, third)
    assert not torch.equal(sampled, first)
    for key, value in gate.expected_penalties().items():
        assert torch.equal(value, first_penalties[key])

    # Every gate is the decoder's rule applied to its own conditional distribution.
    params = stacked(records)
    if decoding is None:
        rule = torch.stack([d.deterministic() for d in records], 1)
        assert ((first > 0) & (first < 1)).any()  # the chain also feeds interval values
    else:
        rule = (1.0 - params["p_zero"] > decoding.threshold).double()
        assert set(first.unique().tolist()) <= {0.0, 1.0}
        assert set(first[mask].unique().tolist()) == {0.0, 1.0}
    assert torch.equal(first, torch.where(mask, rule, 0.0))


# ------------------------------------------------------------------------------------------------
# 4. The expected penalties.


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_reported_penalties_follow_the_sampled_prefix(mode, monkeypatch):
    gate = make_gate(seed=14).train(mode == "train")
    set_weights(gate, DIM, prefix_scale=1.5)
    noise = patch_noise(monkeypatch, StepNoise(seed=5))
    x, mask = random_inputs([4, 4, 3, 2, 1, 0], 4, seed=15)
    z = gate(x, mask).z
    reported = gate.expected_penalties()

    # The chain again, by hand, fed with the gates of the forward pass.
    a, b = manual_chain(gate, x, mask, z.detach())
    if mode == "train":
        # Every gate is the sample of its conditional distribution with the noise it drew.
        u = torch.stack(noise.used, 1)
        expected_z = HardKumaraswamy(a, b, LOWER, UPPER, validate_args=False).rsample_from_uniform(
            u
        )
        torch.testing.assert_close(z, torch.where(mask, expected_z, 0.0), rtol=1e-12, atol=1e-14)
        assert ((z[mask] > 0) & (z[mask] < 1)).any() and (z[mask] == 0).any()
    p_zero = closed_form_p_zero(a, b).detach()
    by_hand = penalties_by_hand(p_zero, mask)
    for key in ("selection", "transition"):
        torch.testing.assert_close(reported[key].item(), by_hand[key], rtol=1e-12, atol=1e-14)


def enumerate_independent(p_zero: List[float]):
    """Exact E[#non-zero] and E[#transitions] of independent gates, over all 2^n patterns."""
    count, switches = 0.0, 0.0
    patterns = {}
    for pattern in itertools.product([False, True], repeat=len(p_zero)):
        probability = math.prod(1.0 - p if nonzero else p for p, nonzero in zip(p_zero, pattern))
        patterns[pattern] = probability
        count += probability * sum(pattern)
        switches += probability * sum(x != y for x, y in zip(pattern, pattern[1:]))
    return count, switches, patterns


def test_monte_carlo_matches_enumeration_without_prefix_dependence():
    dim, length, draws = 2, 3, 20000
    gate = make_gate(seed=16, dim=dim, hidden=3).train()
    set_weights(gate, dim, prefix_scale=0.0)
    with torch.no_grad():
        gate._shape.a_layer.weight[:, dim:] = 0.0
        gate._shape.b_layer.weight[:, dim:] = 0.0
    features = torch.tensor([[1.5, -0.5], [-1.0, 1.0], [0.2, 0.3]], dtype=torch.float64)
    x = features.expand(draws, length, dim)
    mask = torch.ones(draws, length, dtype=torch.bool)
    with recorded_distributions(gate) as records:
        z = gate(x, mask).z
    reported = gate.expected_penalties()

    # The marginals by hand, from the features alone.
    with torch.no_grad():
        a = torch.nn.functional.softplus(
            features @ gate._shape.a_layer.weight[0, :dim] + gate._shape.a_layer.bias
        )
        b = torch.nn.functional.softplus(
            features @ gate._shape.b_layer.weight[0, :dim] + gate._shape.b_layer.bias
        )
    p_zero = closed_form_p_zero(a, b)
    torch.testing.assert_close(stacked(records)["p_zero"], p_zero.expand(draws, length))
    assert (p_zero > 0.1).all() and (p_zero < 0.9).all()  # no trivial gates

    count, switches, patterns = enumerate_independent(p_zero.tolist())
    torch.testing.assert_close(reported["selection"].item(), count / length, rtol=1e-12, atol=0)
    torch.testing.assert_close(reported["transition"].item(), switches / length, rtol=1e-12, atol=0)

    def assert_within(samples: torch.Tensor, expected: float, what: str):
        error = samples.std().item() / math.sqrt(samples.numel())
        assert abs(samples.mean().item() - expected) < 4 * error, what

    nonzero = z != 0
    for i, p in enumerate(p_zero.tolist()):
        assert_within(nonzero[:, i].double(), 1.0 - p, f"P(z_{i} != 0)")
    assert_within(nonzero.sum(1).double() / length, count / length, "selection")
    switched = (nonzero[:, 1:] != nonzero[:, :-1]).sum(1).double()
    assert_within(switched / length, switches / length, "transitions")
    # The gates are independent: every zero/non-zero pattern has its product probability.
    for pattern, probability in patterns.items():
        hit = (nonzero == torch.tensor(pattern)).all(1).double()
        assert_within(hit, probability, f"pattern {pattern}")


def per_row_selection(records: List[HardKumaraswamy], length: int) -> torch.Tensor:
    p_zero = torch.stack([d.prob_zero().detach() for d in records], 1)
    return (1.0 - p_zero).sum(1) / length


def dependent_gate(dim: int) -> DependentHardKumaGate:
    gate = make_gate(seed=17, dim=dim, hidden=3).train()
    set_weights(gate, dim, prefix_scale=1.5)
    return gate


def test_monte_carlo_of_dependent_length_two_matches_quadrature(monkeypatch):
    dim, draws, nodes = 2, 20000, 20000
    gate = dependent_gate(dim)
    features = torch.tensor([[0.5, -0.5], [0.0, 0.0]], dtype=torch.float64)

    # E[selection] = E[(1 - P(z_0 = 0)) + (1 - P(z_1 = 0 | z_0))] / 2, with z_0 = F^-1(u_0):
    # the batch mean of the reported penalty over a midpoint grid of u_0 is the quadrature.
    grid = (torch.arange(nodes, dtype=torch.float64) + 0.5) / nodes
    table = torch.stack([grid, torch.full_like(grid, 0.5)])
    with monkeypatch.context() as patch:
        patch_noise(patch, StepNoise(table=table))
        with recorded_distributions(gate) as records:
            gate(features.expand(nodes, 2, dim), torch.ones(nodes, 2, dtype=torch.bool))
        exact = gate.expected_penalties()["selection"].item()
    conditional = stacked(records)["p_zero"][:, 1]
    # The prefix matters a lot here (else this test would not tell the prefix apart).
    assert conditional.max() - conditional.min() > 0.3

    torch.manual_seed(1)
    with recorded_distributions(gate) as records:
        z = gate(features.expand(draws, 2, dim), torch.ones(draws, 2, dtype=torch.bool)).z
    reported = gate.expected_penalties()["selection"]
    estimate = per_row_selection(records, 2)
    torch.testing.assert_close(estimate.mean(), reported.detach(), rtol=1e-12, atol=0)
    frequency = (z != 0).sum(1).double() / 2
    for samples in (estimate, frequency):
        error = samples.std().item() / math.sqrt(draws)
        assert abs(samples.mean().item() - exact) < 4 * error
    # Both are single-sample estimates of the same expectation from the same draws.
    difference = estimate - frequency
    assert abs(difference.mean().item()) < 4 * difference.std().item() / math.sqrt(draws)


def test_monte_carlo_of_dependent_length_three_selection_agrees_with_frequency():
    dim, draws = 2, 20000
    gate = dependent_gate(dim)
    features = torch.tensor([[0.5, -0.5], [0.0, 0.0], [0.1, 0.1]], dtype=torch.float64)
    torch.manual_seed(2)
    with recorded_distributions(gate) as records:
        z = gate(features.expand(draws, 3, dim), torch.ones(draws, 3, dtype=torch.bool)).z
    reported = gate.expected_penalties()["selection"]
    estimate = per_row_selection(records, 3)
    torch.testing.assert_close(estimate.mean(), reported.detach(), rtol=1e-12, atol=0)
    p_zero = stacked(records)["p_zero"]
    assert (p_zero[:, 1:].max(0).values - p_zero[:, 1:].min(0).values > 0.3).all()
    frequency = (z != 0).sum(1).double() / 3
    difference = estimate - frequency
    assert abs(difference.mean().item()) < 4 * difference.std().item() / math.sqrt(draws)


# ------------------------------------------------------------------------------------------------
# 5. Gradients.


@pytest.mark.parametrize("lengths", [[4, 3, 1, 0], [1], [1, 1, 0]])
def test_selection_penalty_has_finite_nonzero_gradients(lengths):
    gate = make_gate(seed=18).train()
    x, mask = random_inputs(lengths, max(lengths), seed=19)
    x.requires_grad_(True)
    torch.manual_seed(3)
    gate(x, mask)
    gate.expected_penalties()["selection"].backward()
    for name, parameter in gate.named_parameters():
        if parameter.grad is not None:
            assert torch.isfinite(parameter.grad).all(), name
    for layer in (gate._shape.a_layer, gate._shape.b_layer):
        assert layer.weight.grad is not None and (layer.weight.grad[0, :DIM] != 0).any()
        assert layer.bias.grad is not None and (layer.bias.grad != 0).all()
    assert torch.isfinite(x.grad).all()
    assert torch.equal(x.grad[~mask], torch.zeros_like(x.grad[~mask]))
    if max(lengths) > 1:
        # Later gates read the state, so the cell is trained by the penalty too.
        assert (gate._cell.weight_ih.grad != 0).any()
        assert (gate._shape.a_layer.weight.grad[0, DIM:] != 0).any()


def test_gradients_through_the_sampled_chain_match_finite_differences(monkeypatch):
    gate = make_gate(seed=20, dim=2, hidden=3).train()
    set_weights(gate, 2, prefix_scale=1.5)
    table = torch.tensor([0.8, 0.75, 0.85, 0.7], dtype=torch.float64)
    noise = patch_noise(monkeypatch, StepNoise(table=table))
    x, mask = random_inputs([4, 3], 4, dim=2, seed=21, garbage=1.0)

    def penalties(embedded):
        noise.reset()
        z = gate(embedded, mask).z
        values = gate.expected_penalties()
        return z, values["selection"], values["transition"]

    z, _, _ = penalties(x)
    # Interior samples feed the next step, so the gradient runs through the reparameterisation.
    assert ((z[mask] > 0) & (z[mask] < 1)).sum() >= 4
    assert torch.autograd.gradcheck(penalties, (x.clone().requires_grad_(True),))

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.modules.gates import BernoulliGate, Gate
from tests.modules.helpers import random_inputs


def make_gate(dim: int = 3, seed: int = 0, **kwargs) -> BernoulliGate:
    torch.manual_seed(seed)
    options = {"sparsity": 0.1, "coherence": 0.2, **kwargs}
    return BernoulliGate(PassThroughEncoder(dim), **options).double()


def test_bernoulli_gate_is_binary_and_adds_reinforce_loss():
    gate = BernoulliGate(PassThroughEncoder(3), sparsity=0.1, coherence=0.2)
    x = torch.randn(4, 6, 3)
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[0, 3:] = False
    gate.train()
    z = gate(x, mask).z
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert (z[~mask] == 0).all()
    loss = gate.loss(torch.ones(4))
    loss.backward()
    assert gate._logit.weight.grad.abs().sum() > 0
    assert float(gate.baseline) > 0  # initialised to the first batch's mean cost
    gate.eval()
    z_eval = gate(x, mask).z
    assert torch.equal(z_eval, gate(x, mask).z)
    assert gate.loss(torch.ones(4)) is None


def test_registered_and_rejects_bad_settings():
    gate = Gate.from_params(
        Params(
            {
                "type": "bernoulli",
                "encoder": {"type": "pass_through", "input_dim": 3},
                "sparsity": 0.1,
                "coherence": 0.2,
            }
        )
    )
    assert isinstance(gate, BernoulliGate) and gate.get_input_dim() == 3
    for bad in ({"sparsity": -0.1}, {"coherence": -1.0}):
        with pytest.raises(ConfigurationError, match="must be >= 0"):
            make_gate(**bad)
    for decay in (-0.1, 1.0):
        with pytest.raises(ConfigurationError, match="baseline_decay"):
            make_gate(baseline_decay=decay)


def test_surrogate_loss_weighs_log_probabilities_by_cost_above_a_moving_baseline():
    gate = make_gate(baseline_decay=0.9)
    with torch.no_grad():
        gate._logit.bias.fill_(1.5)  # mostly selected: sequences often end on a selected token
    x, mask = random_inputs([6, 4, 2, 1, 0], 6, dim=3)
    gate.train()
    baseline = 0.0  # the first batch's advantage is the cost itself
    for step, task_loss in enumerate([torch.rand(5, dtype=torch.float64) for _ in range(2)]):
        z = gate(x, mask).z
        # Shape: (batch_size, seq_len)
        p = torch.sigmoid(gate._logit(x * mask.unsqueeze(-1)).squeeze(-1))
        costs, log_probs = [], []
        for row, length in enumerate(mask.sum(-1).tolist()):
            z_row, p_row = z[row, :length], p[row, :length]
            transitions = (z_row[1:] != z_row[:-1]).sum()  # within the sequence only
            costs.append(task_loss[row] + 0.1 * z_row.sum() + 0.2 * transitions)
            log_probs.append((z_row * p_row.log() + (1 - z_row) * (1 - p_row).log()).sum())
        cost, log_prob = torch.stack(costs), torch.stack(log_probs)
        expected = ((cost - baseline) * log_prob).mean()
        assert torch.allclose(gate.loss(task_loss), expected)
        baseline = cost.mean() if step == 0 else 0.9 * baseline + 0.1 * cost.mean()
        assert torch.allclose(gate.baseline, baseline)
    # The baseline is a buffer: saved and restored with the model.
    restored = make_gate(seed=5)
    restored.load_state_dict(gate.state_dict())
    assert torch.equal(restored.baseline, gate.baseline) and bool(restored.baseline_initialized)


def test_reinforce_gradient_matches_the_gradient_of_the_expected_cost():
    # One token per instance, selected with probability sigmoid(c); cost = sparsity * z, so
    # d E[cost] / dc = sparsity * sigmoid(c) (1 - sigmoid(c)), with and without a baseline.
    gate = make_gate(dim=1, sparsity=1.0, coherence=0.0)
    with torch.no_grad():
        gate._logit.weight.fill_(0.0)
        gate._logit.bias.fill_(0.3)
    p = torch.sigmoid(torch.tensor(0.3, dtype=torch.float64))
    x = torch.ones(20000, 1, 1, dtype=torch.float64)
    mask = torch.ones(20000, 1, dtype=torch.bool)
    gate.train()
    torch.manual_seed(3)
    for _ in range(2):  # the first step without a baseline, the second with one
        gate.zero_grad()
        gate(x, mask)
        gate.loss(torch.zeros(20000, dtype=torch.float64)).backward()
        # Standard error about 0.0015.
        assert gate._logit.bias.grad.item() == pytest.approx((p * (1 - p)).item(), abs=0.006)
    assert gate.baseline.item() == pytest.approx(p.item(), abs=0.02)


def test_a_training_batch_without_its_loss_fails_on_the_next_one():
    gate = make_gate()
    x, mask = random_inputs([6, 3], 6, dim=3)
    gate.train()
    gate(x, mask)
    with pytest.raises(ConfigurationError, match="REINFORCE loss was not added"):
        gate(x, mask)
    gate.eval()
    gate(x, mask)  # evaluation needs no loss, and clears the pending one
    gate.train()
    gate(x, mask)
    assert gate.loss(torch.zeros(2, dtype=torch.float64)) is not None


def test_evaluation_keeps_the_tokens_at_least_as_likely_selected_as_not():
    gate = make_gate()
    x, mask = random_inputs([6, 4, 1], 6, seed=2, dim=3)
    gate.eval()
    z, scores = gate(x, mask)
    p = torch.sigmoid(gate._logit(x * mask.unsqueeze(-1)).squeeze(-1))
    assert torch.allclose(scores, p * mask) and not scores.requires_grad
    assert torch.equal(z, ((p >= 0.5) & mask).double())
    assert 0 < z.sum() < mask.sum()  # keeps some tokens, not all

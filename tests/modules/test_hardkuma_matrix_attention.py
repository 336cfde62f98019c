import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules import FeedForward
from allennlp.modules.matrix_attention import MatrixAttention
from allennlp.nn import Activation

from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


def linear(input_dim: int, output_dim: int) -> FeedForward:
    return FeedForward(input_dim, 1, output_dim, Activation.by_name("linear")())


def make_attention(input_dim: int = 4, hidden: int = 3, seed: int = 0) -> HardKumaMatrixAttention:
    torch.manual_seed(seed)
    return HardKumaMatrixAttention(linear(input_dim, hidden), linear(input_dim, hidden))


def inputs(seed: int = 1):
    generator = torch.Generator().manual_seed(seed)
    # Scaled so that the shapes a, b spread widely: some cells are 0, some 1, some in between.
    matrix_1 = 3 * torch.randn(3, 5, 4, generator=generator)
    matrix_2 = 3 * torch.randn(3, 6, 4, generator=generator)
    mask_1 = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]).bool()
    mask_2 = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]]).bool()
    return matrix_1, matrix_2, mask_1, mask_2


def cell_mask(mask_1, mask_2):
    return mask_1.unsqueeze(2) & mask_2.unsqueeze(1)


def test_registered_and_built_from_params():
    attention = MatrixAttention.from_params(
        Params(
            {
                "type": "hardkuma",
                "a_feedforward": {
                    "input_dim": 4,
                    "num_layers": 1,
                    "hidden_dims": 3,
                    "activations": "relu",
                },
                "b_feedforward": {
                    "input_dim": 4,
                    "num_layers": 1,
                    "hidden_dims": 2,
                    "activations": "relu",
                },
                "shape": {"min_shape": 0.05},
            }
        )
    )
    assert isinstance(attention, HardKumaMatrixAttention)
    assert isinstance(attention, PenaltyReporter)
    assert attention.get_input_dim() == 4
    assert attention._hardkuma.min_shape == 0.05


@pytest.mark.parametrize("training", [True, False])
def test_shape_range_and_padding_cells_exactly_zero(training):
    attention = make_attention()
    attention.train(training)
    matrix_1, matrix_2, mask_1, mask_2 = inputs()
    output = attention(matrix_1, matrix_2, matrix_1_mask=mask_1, matrix_2_mask=mask_2)
    assert output.shape == (3, 5, 6)
    assert ((output >= 0) & (output <= 1)).all()
    cells = cell_mask(mask_1, mask_2)
    assert (output[~cells] == 0).all()
    # Some valid cells are exactly zero, others not: the matrix is sparse but not empty.
    assert (output[cells] == 0).any() and (output[cells] != 0).any()
    # No normalisation: rows do not sum to 1.
    assert not torch.allclose(output[0].sum(-1), torch.ones(5))


def test_without_masks_every_cell_is_valid():
    attention = make_attention()
    attention.eval()
    matrix_1, matrix_2, _, _ = inputs()
    unmasked = attention(matrix_1, matrix_2)
    full = torch.ones(3, 5, dtype=torch.bool), torch.ones(3, 6, dtype=torch.bool)
    assert torch.equal(unmasked, attention(matrix_1, matrix_2, *full))
    assert unmasked.shape == (3, 5, 6)


def test_deterministic_in_evaluation_stochastic_in_training():
    attention = make_attention()
    matrix_1, matrix_2, mask_1, mask_2 = inputs()
    attention.eval()
    first = attention(matrix_1, matrix_2, mask_1, mask_2)
    torch.manual_seed(123)
    assert torch.equal(first, attention(matrix_1, matrix_2, mask_1, mask_2))
    expected = attention.distribution(matrix_1, matrix_2).deterministic() * cell_mask(
        mask_1, mask_2
    )
    assert torch.allclose(first, expected)
    attention.train()
    torch.manual_seed(0)
    sample_1 = attention(matrix_1, matrix_2, mask_1, mask_2)
    sample_2 = attention(matrix_1, matrix_2, mask_1, mask_2)
    assert not torch.equal(sample_1, sample_2)


def test_expected_rate_matches_empirical_share_of_nonzero_cells():
    attention = make_attention(seed=3)
    attention.train()
    matrix_1, matrix_2, mask_1, mask_2 = inputs()
    cells = cell_mask(mask_1, mask_2).float()
    torch.manual_seed(2019)
    num_samples = 2000
    # One forward pass over the batch repeated num_samples times: independent samples of each cell.
    with torch.no_grad():
        samples = attention(
            matrix_1.repeat(num_samples, 1, 1),
            matrix_2.repeat(num_samples, 1, 1),
            mask_1.repeat(num_samples, 1),
            mask_2.repeat(num_samples, 1),
        )
    nonzero = (samples != 0).float().view(num_samples, 3, 5, 6).sum(0)
    # Per example: share of non-zero valid cells; then the batch mean.
    empirical = ((nonzero / num_samples * cells).sum((1, 2)) / cells.sum((1, 2))).mean()
    expected = attention.expected_penalties()["selection"]
    p_zero = attention.distribution(matrix_1, matrix_2).prob_zero()
    # The rate is neither trivially 0 nor 1 for these parameters.
    assert 0.2 < float(expected) < 0.95
    assert (p_zero[cells.bool()] > 0.05).any()
    assert abs(float(empirical) - float(expected)) < 0.01


def test_expected_rate_is_differentiable_and_ignores_padding():
    attention = make_attention()
    attention.train()
    matrix_1, matrix_2, mask_1, mask_2 = inputs()
    attention(matrix_1, matrix_2, mask_1, mask_2)
    rate = attention.expected_penalties()["selection"]
    rate.backward()
    grads = [p.grad for p in attention.parameters()]
    assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads)
    # Changing padded rows changes nothing in the output or the rate.
    attention.eval()
    before = attention(matrix_1, matrix_2, mask_1, mask_2)
    rate_before = attention.expected_penalties()["selection"]
    noisy_1 = torch.where(mask_1.unsqueeze(-1), matrix_1, torch.randn_like(matrix_1) * 10)
    after = attention(noisy_1, matrix_2, mask_1, mask_2)
    assert torch.equal(before, after)
    assert torch.allclose(rate_before, attention.expected_penalties()["selection"])


def test_configuration_errors():
    with pytest.raises(ConfigurationError, match="input dim"):
        HardKumaMatrixAttention(linear(4, 3), linear(5, 3))

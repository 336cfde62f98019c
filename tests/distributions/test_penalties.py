import ast
import itertools
import math
from pathlib import Path

import pytest
import torch

from hardkuma_allennlp.distributions import HardKumaraswamy, expected_l0, expected_transitions


def brute_force(p_zero: torch.Tensor, mask: torch.Tensor):
    """
    Expected numbers of non-zero gates and of zero/non-zero transitions for one row, by summing
    over all binary sequences, each position an independent Bernoulli with P(Z_i != 0) =
    1 - p_zero[i]. Padded positions are left out of both counts; a transition is counted between
    positions i and i + 1 when both are valid.
    """
    length = p_zero.shape[-1]
    l0 = 0.0
    transitions = 0.0
    for z in itertools.product([0, 1], repeat=length):
        probability = 1.0
        for i, nonzero in enumerate(z):
            probability *= (1.0 - p_zero[i].item()) if nonzero else p_zero[i].item()
        l0 += probability * sum(z[i] for i in range(length) if mask[i])
        transitions += probability * sum(
            z[i] != z[i + 1] for i in range(length - 1) if mask[i] and mask[i + 1]
        )
    return l0, transitions


def random_rows(num_rows=6, length=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    p_zero = torch.rand(num_rows, length, dtype=torch.float64, generator=generator)
    lengths = [length, length - 1, 3, 1, 0, length]
    mask = torch.arange(length).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    # A mask with a hole in the middle: positions 1 and 2 are not adjacent to position 4.
    mask[-1] = torch.tensor([True, True, True, False, True, True])
    return p_zero, mask


def test_agrees_with_brute_force_enumeration():
    p_zero, mask = random_rows()
    l0 = expected_l0(p_zero, mask)
    transitions = expected_transitions(p_zero, mask)
    assert l0.shape == transitions.shape == (6,)
    for row in range(p_zero.shape[0]):
        expected_count, expected_transition_count = brute_force(p_zero[row], mask[row])
        assert l0[row].item() == pytest.approx(expected_count, abs=1e-6)
        assert transitions[row].item() == pytest.approx(expected_transition_count, abs=1e-6)
    # The row without padding is not trivially small.
    assert transitions[0].item() > 0.5


def test_agrees_with_brute_force_at_deterministic_gates():
    p_zero = torch.tensor([[1.0, 0.0, 0.0, 1.0, 1.0, 0.0]], dtype=torch.float64)
    mask = torch.ones_like(p_zero, dtype=torch.bool)
    assert expected_l0(p_zero, mask).item() == 3.0
    assert expected_transitions(p_zero, mask).item() == 3.0


def test_padding_is_ignored():
    p_zero, mask = random_rows()
    other = p_zero.clone()
    other[~mask] = 0.123
    with_nan = p_zero.clone()
    with_nan[~mask] = math.nan
    for function in (expected_l0, expected_transitions):
        torch.testing.assert_close(function(p_zero, mask), function(other, mask))
        torch.testing.assert_close(function(p_zero, mask), function(with_nan, mask))
        # Gradients at valid positions stay finite too.
        leaf = with_nan.clone().requires_grad_()
        function(leaf, mask).sum().backward()
        assert bool(torch.isfinite(leaf.grad[mask]).all())
        # Truncating the padded row to its valid prefix gives the same value.
        assert function(p_zero[1:2, :5], mask[1:2, :5]).item() == pytest.approx(
            function(p_zero[1:2], mask[1:2]).item(), abs=1e-12
        )


def test_mask_dtypes_agree():
    p_zero, mask = random_rows()
    for function in (expected_l0, expected_transitions):
        reference = function(p_zero, mask)
        torch.testing.assert_close(function(p_zero, mask.long()), reference)
        torch.testing.assert_close(function(p_zero, mask.double()), reference)
    torch.testing.assert_close(
        expected_l0(p_zero, None), expected_l0(p_zero, torch.ones_like(mask))
    )


@pytest.mark.parametrize("length", [0, 1])
def test_short_rows(length):
    p_zero = torch.full((3, length), 0.25, requires_grad=True)
    mask = torch.ones(3, length, dtype=torch.bool)
    transitions = expected_transitions(p_zero, mask)
    l0 = expected_l0(p_zero, mask)
    assert transitions.shape == l0.shape == (3,)
    assert bool((transitions == 0).all())
    torch.testing.assert_close(l0, torch.full((3,), 0.75 * length))
    (transitions.sum() + l0.sum()).backward()
    assert bool(torch.isfinite(p_zero.grad).all())


def test_leading_dimensions_and_flattened_attention():
    generator = torch.Generator().manual_seed(1)
    # Shape: (batch_size, premise_len, hypothesis_len)
    p_zero = torch.rand(2, 3, 4, dtype=torch.float64, generator=generator)
    mask = torch.ones(2, 3, 4, dtype=torch.bool)
    mask[1, :, 3] = False
    assert expected_l0(p_zero, mask).shape == (2, 3)
    flat = p_zero.reshape(2, 12)
    flat_mask = mask.reshape(2, 12)
    torch.testing.assert_close(expected_l0(flat, flat_mask), expected_l0(p_zero, mask).sum(-1))
    # Along the flattened matrix, the last cell of a row is adjacent to the first of the next.
    for row in range(2):
        _, expected = brute_force(flat[row, :8], flat_mask[row, :8])
        assert expected_transitions(flat[row, :8], flat_mask[row, :8]).item() == pytest.approx(
            expected, abs=1e-6
        )


def test_gradients():
    p_zero = torch.tensor([[0.2, 0.7, 0.4]], dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[True, True, False]])
    expected_l0(p_zero, mask).sum().backward()
    torch.testing.assert_close(p_zero.grad, torch.tensor([[-1.0, -1.0, 0.0]], dtype=torch.float64))
    assert torch.autograd.gradcheck(lambda p: expected_transitions(p, mask), (p_zero,))


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        expected_l0(torch.rand(2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="shape"):
        expected_transitions(torch.rand(2, 3), torch.ones(3))


def test_monte_carlo_with_hardkuma_gates():
    generator = torch.Generator().manual_seed(7)
    a = torch.tensor([[0.3, 0.5, 2.0, 0.4, 1.0]], dtype=torch.float64)
    b = torch.tensor([[0.4, 0.3, 1.0, 0.6, 3.0]], dtype=torch.float64)
    mask = torch.tensor([[True, True, True, True, False]])
    dist = HardKumaraswamy(a, b)
    num_samples = 100_000
    u = torch.rand(num_samples, 1, 5, dtype=torch.float64, generator=generator)
    # Shape: (num_samples, 1, 5)
    nonzero = (dist.rsample_from_uniform(u) != 0).double() * mask
    counts = nonzero.sum(-1).squeeze(-1)
    changes = (nonzero[..., 1:] != nonzero[..., :-1]).double() * mask[..., 1:] * mask[..., :-1]
    transition_counts = changes.sum(-1).squeeze(-1)
    p_zero = dist.prob_zero()
    for estimate, closed_form in [
        (counts, expected_l0(p_zero, mask)),
        (transition_counts, expected_transitions(p_zero, mask)),
    ]:
        standard_error = estimate.std() / math.sqrt(num_samples)
        assert abs(estimate.mean().item() - closed_form.item()) < 4 * standard_error.item()


def test_distribution_modules_import_no_allennlp():
    # The pure math imports torch and the standard library only: every import statement of the
    # package's files, read from their source.
    root = Path(__file__).resolve().parents[2] / "hardkuma_allennlp" / "distributions"
    files = sorted(root.glob("*.py"))
    assert {path.stem for path in files} >= {"__init__", "hardkuma", "penalties"}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = (
                    [node.module or ""] if node.level == 0 else ["hardkuma_allennlp.distributions"]
                )
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                inside = name.startswith("hardkuma_allennlp.distributions")
                assert top not in ("allennlp", "allennlp_models") and (
                    top != "hardkuma_allennlp" or inside
                ), f"{path.name}:{node.lineno} imports {name}"

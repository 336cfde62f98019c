import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.modules.hardkuma_shape import HardKumaShape

# From very negative to very positive: softplus underflows to 0 at the low end (and is far below
# any min_shape from about -30 on), and is the score itself at the high end.
EXTREME_SCORES = [-1e4, -30.0, -3.0, 0.0, 3.0, 30.0, 1e4]


def test_defaults_and_configuration():
    shape = HardKumaShape.from_params(Params({}))
    assert (shape.lower, shape.upper, shape.min_shape, shape.max_shape) == (-0.1, 1.1, 1e-2, 100.0)
    shape = HardKumaShape.from_params(
        Params({"lower": -0.2, "upper": 1.3, "min_shape": 1e-6, "max_shape": 50.0})
    )
    assert (shape.lower, shape.upper, shape.min_shape, shape.max_shape) == (-0.2, 1.3, 1e-6, 50.0)
    distribution = shape.distribution(torch.zeros(2, 3), torch.zeros(2, 3))
    assert (distribution.lower, distribution.upper) == (-0.2, 1.3)
    assert distribution.batch_shape == (2, 3)


@pytest.mark.parametrize(
    "bounds, message",
    [
        ({"lower": 0.0}, "lower < 0 < 1 < upper"),
        ({"lower": 0.1}, "lower < 0 < 1 < upper"),
        ({"upper": 1.0}, "lower < 0 < 1 < upper"),
        ({"upper": 0.5}, "lower < 0 < 1 < upper"),
        ({"min_shape": 0.0}, "0 < min_shape < max_shape"),
        ({"min_shape": -1.0}, "0 < min_shape < max_shape"),
        ({"min_shape": 5.0, "max_shape": 5.0}, "0 < min_shape < max_shape"),
        ({"min_shape": 10.0, "max_shape": 1.0}, "0 < min_shape < max_shape"),
    ],
)
def test_rejects_bounds_without_point_masses_or_an_empty_shape_range(bounds, message):
    with pytest.raises(ConfigurationError, match=message):
        HardKumaShape(**bounds)


@pytest.mark.parametrize("min_shape", [1e-2, 1e-6])
def test_extreme_scores_are_clamped_and_give_finite_values_and_gradients(min_shape):
    torch.manual_seed(0)
    shape = HardKumaShape(min_shape=min_shape, max_shape=100.0)
    # Shape: (7, 7): every score for `a` against every score for `b`, in float32.
    scores = torch.tensor(EXTREME_SCORES)
    score_a = scores.unsqueeze(1).expand(7, 7).clone().requires_grad_(True)
    score_b = scores.unsqueeze(0).expand(7, 7).clone().requires_grad_(True)
    distribution = shape.distribution(score_a, score_b)
    for parameter, score in ((distribution.a, score_a), (distribution.b, score_b)):
        assert ((parameter >= min_shape) & (parameter <= 100.0)).all()
        expected = torch.nn.functional.softplus(score.detach()).clamp(min_shape, 100.0)
        assert torch.equal(parameter.detach(), expected)
    assert (distribution.a[0] == min_shape).all() and (distribution.a[-1] == 100.0).all()
    z = distribution.rsample()
    assert torch.isfinite(z).all() and ((z >= 0) & (z <= 1)).all()
    summaries = [
        distribution.prob_zero(),
        distribution.prob_one(),
        distribution.mean,
        distribution.deterministic(),
        distribution.log_prob(z),
    ]
    for value in summaries:
        assert torch.isfinite(value).all()
    total = z.sum() + sum(value.sum() for value in summaries)
    total.backward()
    assert torch.isfinite(score_a.grad).all() and torch.isfinite(score_b.grad).all()
    # On the clamp a score gets no gradient (a closed gate can only reopen through the other
    # score); inside the range it does. Clamped: -1e4 and -30 (softplus below min_shape), 1e4.
    assert (score_a.grad[[0, 1, 6]] == 0).all() and (score_b.grad[:, [0, 1, 6]] == 0).all()
    assert (score_a.grad[2:6] != 0).any(-1).all() and (score_b.grad[:, 2:6] != 0).any(0).all()

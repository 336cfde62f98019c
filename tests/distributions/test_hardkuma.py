import math

import pytest
import torch

from hardkuma_allennlp.distributions import HardKumaraswamy

LOWER, UPPER = -0.1, 1.1

# (a, b): bimodal (a, b < 1), skewed, uniform and unimodal Kumaraswamy shapes.
MC_PARAMETERS = [(0.3, 0.3), (0.5, 0.9), (0.2, 2.0), (1.0, 1.0), (2.0, 5.0), (5.0, 2.0), (3.0, 3.0)]
MC_SAMPLES = 200_000
MC_MAX_STANDARD_ERRORS = 4.0


def naive_kuma_cdf(x, a, b):
    """The textbook Kumaraswamy cdf, written independently of the module (float64 only)."""
    return 1.0 - (1.0 - x**a) ** b


def naive_hardkuma_sample(u, a, b):
    """The textbook reparameterisation, written independently of the module (float64 only)."""
    k = (1.0 - (1.0 - u) ** (1.0 / b)) ** (1.0 / a)
    return (LOWER + (UPPER - LOWER) * k).clamp(0.0, 1.0)


def simpson(values: torch.Tensor, width: float) -> torch.Tensor:
    """Composite Simpson rule over the last dimension (odd number of equally spaced points)."""
    assert values.shape[-1] % 2 == 1
    weights = torch.ones(values.shape[-1], dtype=values.dtype)
    weights[1:-1:2] = 4.0
    weights[2:-1:2] = 2.0
    return (values * weights).sum(-1) * width / (3.0 * (values.shape[-1] - 1))


def mc_parameters():
    a = torch.tensor([p[0] for p in MC_PARAMETERS], dtype=torch.float64)
    b = torch.tensor([p[1] for p in MC_PARAMETERS], dtype=torch.float64)
    return a, b


def assert_within_standard_errors(name, closed_form, estimate, standard_error):
    z = (estimate - closed_form).abs() / standard_error.clamp(min=1e-12)
    worst = int(z.argmax())
    assert bool((z <= MC_MAX_STANDARD_ERRORS).all()), (
        f"{name}: closed form {closed_form[worst].item():.6f} vs Monte Carlo "
        f"{estimate[worst].item():.6f} ({z[worst].item():.1f} standard errors) for "
        f"(a, b) = {MC_PARAMETERS[worst]}"
    )


class TestMonteCarlo:
    @classmethod
    def setup_class(cls):
        cls.a, cls.b = mc_parameters()
        cls.dist = HardKumaraswamy(cls.a, cls.b)
        generator = torch.Generator().manual_seed(20190605)
        # Shape: (num_samples, num_parameters)
        u = torch.rand(MC_SAMPLES, len(MC_PARAMETERS), dtype=torch.float64, generator=generator)
        cls.samples = cls.dist.rsample_from_uniform(u)
        cls.naive_samples = naive_hardkuma_sample(u, cls.a, cls.b)

    def _check_proportion(self, name, closed_form, indicator):
        estimate = indicator.double().mean(0)
        standard_error = (closed_form * (1.0 - closed_form) / MC_SAMPLES).sqrt()
        assert_within_standard_errors(name, closed_form, estimate, standard_error)

    def test_samples_follow_the_textbook_reparameterisation(self):
        torch.testing.assert_close(self.samples, self.naive_samples, rtol=0, atol=1e-12)

    def test_point_masses_and_interval(self):
        p_zero = self.dist.prob_zero()
        p_one = self.dist.prob_one()
        p_continuous = self.dist.prob_continuous()
        self._check_proportion("P(H = 0)", p_zero, self.samples == 0.0)
        self._check_proportion("P(H = 1)", p_one, self.samples == 1.0)
        self._check_proportion(
            "P(0 < H < 1)", p_continuous, (self.samples > 0.0) & (self.samples < 1.0)
        )
        # The three cases are not all trivially small: the bimodal shapes put real mass on both
        # point masses, the unimodal ones on the interval.
        assert p_zero[0] > 0.15 and p_one[0] > 0.3
        assert p_continuous[4] > 0.9

    def test_point_masses_match_the_textbook_cdf(self):
        x_zero = -LOWER / (UPPER - LOWER)
        x_one = (1.0 - LOWER) / (UPPER - LOWER)
        torch.testing.assert_close(
            self.dist.prob_zero(), naive_kuma_cdf(x_zero, self.a, self.b), rtol=1e-9, atol=0
        )
        torch.testing.assert_close(
            self.dist.prob_one(), 1.0 - naive_kuma_cdf(x_one, self.a, self.b), rtol=1e-10, atol=0
        )

    def test_mean(self):
        estimate = self.naive_samples.mean(0)
        standard_error = self.naive_samples.std(0) / math.sqrt(MC_SAMPLES)
        assert_within_standard_errors("E[H]", self.dist.mean, estimate, standard_error)

    @pytest.mark.parametrize("value", [0.0, 0.1, 0.5, 0.9, 0.999])
    def test_cdf(self, value):
        closed_form = self.dist.cdf(torch.tensor(value, dtype=torch.float64))
        self._check_proportion(f"cdf({value})", closed_form, self.naive_samples <= value)


class TestGradcheck:
    # Parameters exercising the near-zero and the tail branches of the log-space helpers.
    a = torch.tensor([0.3, 0.7, 2.0, 30.0, 80.0], dtype=torch.float64)
    b = torch.tensor([0.4, 3.0, 0.8, 20.0, 0.05], dtype=torch.float64)

    def _params(self):
        return self.a.clone().requires_grad_(), self.b.clone().requires_grad_()

    def test_rsample_at_fixed_uniform(self):
        dist = HardKumaraswamy(self.a, self.b)
        # Uniform noise chosen so that each sample is strictly inside (0, 1), away from the kinks.
        targets = torch.tensor([0.3, 0.5, 0.7, 0.97, 0.999], dtype=torch.float64)
        u = dist.cdf(targets)
        assert bool(((u > 1e-9) & (u < 1 - 1e-9)).all())

        def sample(a, b):
            return HardKumaraswamy(a, b).rsample_from_uniform(u)

        torch.testing.assert_close(sample(self.a, self.b), targets, rtol=1e-9, atol=1e-12)
        assert torch.autograd.gradcheck(sample, self._params())
        # Clipped samples have zero gradient, and the check still holds across both regimes.
        u_all = torch.tensor([1e-3, 0.2, 0.5, 0.8, 1 - 1e-3], dtype=torch.float64)
        assert torch.autograd.gradcheck(
            lambda a, b: HardKumaraswamy(a, b).rsample_from_uniform(u_all), self._params()
        )

    def test_point_masses(self):
        for method in ["prob_zero", "prob_one", "log_prob_zero", "log_prob_one", "prob_continuous"]:
            assert torch.autograd.gradcheck(
                lambda a, b: getattr(HardKumaraswamy(a, b), method)(), self._params()
            ), method

    def test_log_prob_and_cdf_inside(self):
        value = torch.tensor([0.05, 0.3, 0.5, 0.8, 0.99], dtype=torch.float64)
        assert torch.autograd.gradcheck(
            lambda a, b: HardKumaraswamy(a, b).log_prob(value), self._params()
        )
        assert torch.autograd.gradcheck(
            lambda a, b: HardKumaraswamy(a, b).cdf(value), self._params()
        )

    def test_log_prob_at_point_masses(self):
        value = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
        assert torch.autograd.gradcheck(
            lambda a, b: HardKumaraswamy(a, b).log_prob(value), self._params()
        )

    def test_mean(self):
        assert torch.autograd.gradcheck(lambda a, b: HardKumaraswamy(a, b).mean, self._params())


class TestFloat32Stability:
    values = torch.logspace(-6, 2, 17)
    uniforms = [0.0, 1e-12, 1e-7, 0.5, 1 - 1e-7, 1.0]

    def _grid(self):
        a, b = torch.meshgrid(self.values, self.values, indexing="ij")
        return a.clone().requires_grad_(), b.clone().requires_grad_()

    def _assert_finite_with_gradients(self, name, compute):
        a, b = self._grid()
        result = compute(HardKumaraswamy(a, b))
        assert result.dtype == torch.float32
        assert bool(torch.isfinite(result).all()), f"{name}: non-finite values"
        grad_a, grad_b = torch.autograd.grad(result.sum(), [a, b], allow_unused=True)
        for grad, which in [(grad_a, "a"), (grad_b, "b")]:
            if grad is not None:
                assert bool(torch.isfinite(grad).all()), f"{name}: non-finite gradient wrt {which}"
        return result

    @pytest.mark.parametrize("u", uniforms)
    def test_samples(self, u):
        samples = self._assert_finite_with_gradients(
            f"rsample(u={u})", lambda d: d.rsample_from_uniform(torch.full(d.batch_shape, u))
        )
        assert bool(((samples >= 0) & (samples <= 1)).all())

    def test_random_samples(self):
        torch.manual_seed(0)
        samples = self._assert_finite_with_gradients("rsample", lambda d: d.rsample((50,)))
        assert samples.shape == (50, len(self.values), len(self.values))

    def test_point_masses(self):
        p_zero = self._assert_finite_with_gradients("P(0)", lambda d: d.prob_zero())
        p_one = self._assert_finite_with_gradients("P(1)", lambda d: d.prob_one())
        p_cont = self._assert_finite_with_gradients("P(0<H<1)", lambda d: d.prob_continuous())
        for p in (p_zero, p_one, p_cont):
            assert bool(((p >= 0) & (p <= 1)).all())
        torch.testing.assert_close(p_zero + p_one + p_cont, torch.ones_like(p_zero))

    @pytest.mark.parametrize("value", [0.0, 1e-6, 0.3, 0.5, 0.9, 1 - 1e-6, 1.0])
    def test_log_prob_and_cdf(self, value):
        self._assert_finite_with_gradients(
            f"log_prob({value})", lambda d: d.log_prob(torch.full(d.batch_shape, value))
        )
        cdf = self._assert_finite_with_gradients(
            f"cdf({value})", lambda d: d.cdf(torch.full(d.batch_shape, value))
        )
        assert bool(((cdf >= 0) & (cdf <= 1)).all())

    def test_log_prob_of_underflowing_point_masses_is_accurate(self):
        # P(H = 0) for a = 100 is about b (1/12)^100 ~ 1e-106: 0 in float32, but its log is finite
        # and matches the float64 asymptote log b + a log(1/12).
        dist = HardKumaraswamy(torch.tensor([100.0]), torch.tensor([2.0]))
        assert dist.prob_zero().item() == 0.0
        expected = math.log(2.0) + 100.0 * math.log(1.0 / 12.0)
        assert dist.log_prob(torch.tensor(0.0)).item() == pytest.approx(expected, rel=1e-5)
        assert dist.log_prob(torch.tensor(0.0)).item() > HardKumaraswamy.LOG_PROB_FLOOR
        # P(H = 1) for a = 0.01, b = 100 is (1 - (11/12)^0.01)^100 ~ 1e-306.
        dist = HardKumaraswamy(torch.tensor([0.01]), torch.tensor([100.0]))
        expected = 100.0 * math.log(1.0 - (11.0 / 12.0) ** 0.01)
        assert dist.log_prob(torch.tensor(1.0)).item() == pytest.approx(expected, rel=1e-4)

    def test_log_prob_of_nearly_certain_point_masses_is_accurate(self):
        # P(H = 0) = 1 - s with s = (1 - (1/12)^0.05)^20 ~ 2e-19, so log P(H = 0) ~ -s, which a
        # plain log(1 - s) would round to 0 (in float64 too).
        dist = HardKumaraswamy(torch.tensor([0.05]), torch.tensor([20.0]))
        s = (1.0 - (1.0 / 12.0) ** 0.05) ** 20
        assert dist.log_prob(torch.tensor(0.0)).item() == pytest.approx(-s, rel=1e-4, abs=0)
        # P(H = 1) = 1 - s' close to 1, with s' = 1 - (1 - (11/12)^60)^0.01 ~ 5.4e-5.
        dist = HardKumaraswamy(torch.tensor([60.0]), torch.tensor([0.01]))
        s_one = 1.0 - (1.0 - (11.0 / 12.0) ** 60) ** 0.01
        assert dist.log_prob(torch.tensor(1.0)).item() == pytest.approx(
            math.log1p(-s_one), rel=1e-4, abs=0
        )

    def test_mean_and_deterministic(self):
        mean = self._assert_finite_with_gradients("mean", lambda d: d.mean)
        assert bool(((mean >= 0) & (mean <= 1)).all())
        deterministic = self._assert_finite_with_gradients(
            "deterministic", lambda d: d.deterministic()
        )
        assert bool(((deterministic >= 0) & (deterministic <= 1)).all())

    def test_float32_agrees_with_float64(self):
        a, b = torch.meshgrid(self.values.double(), self.values.double(), indexing="ij")
        dist64 = HardKumaraswamy(a, b)
        dist32 = HardKumaraswamy(a.float(), b.float())
        for name in ["prob_zero", "prob_one"]:
            torch.testing.assert_close(
                getattr(dist32, name)().double(), getattr(dist64, name)(), rtol=1e-4, atol=1e-6
            )
        torch.testing.assert_close(dist32.mean.double(), dist64.mean, rtol=0, atol=1e-5)
        for value in [0.0, 0.5, 1.0]:
            torch.testing.assert_close(
                dist32.log_prob(torch.tensor(value)).double(),
                dist64.log_prob(torch.tensor(value, dtype=torch.float64)),
                rtol=1e-4,
                atol=1e-3,
            )
        u = torch.tensor([1e-3, 0.3, 0.7, 1 - 1e-3], dtype=torch.float64).view(4, 1, 1)
        torch.testing.assert_close(
            dist32.rsample_from_uniform(u.float()).double(),
            dist64.rsample_from_uniform(u),
            rtol=0,
            atol=1e-4,
        )


class TestConsistency:
    a = torch.tensor([0.05, 0.3, 0.5, 1.0, 2.0, 5.0, 20.0, 100.0], dtype=torch.float64)
    b = torch.tensor([0.05, 0.3, 2.0, 1.0, 5.0, 0.5, 20.0, 100.0], dtype=torch.float64)
    num_points = 100_001

    def _interior_density_integral(self, dist, upper=1.0):
        # Shape: (num_points, num_parameters)
        h = torch.linspace(0.0, upper, self.num_points, dtype=torch.float64).unsqueeze(-1)
        # The density is that of the interior at 0 and 1 too (a continuous extension), so use the
        # interior formula there by nudging the end points inside.
        h = h.clamp(1e-300, 1 - 1e-16)
        return simpson(dist.log_prob(h).exp().transpose(0, 1), upper)

    def test_log_prob_integrates_to_one(self):
        dist = HardKumaraswamy(self.a, self.b)
        total = (
            dist.log_prob(torch.tensor(0.0, dtype=torch.float64)).exp()
            + dist.log_prob(torch.tensor(1.0, dtype=torch.float64)).exp()
            + self._interior_density_integral(dist)
        )
        torch.testing.assert_close(total, torch.ones_like(total), rtol=0, atol=1e-8)

    def test_interior_density_matches_the_textbook_formula(self):
        dist = HardKumaraswamy(self.a, self.b)
        h = torch.tensor([0.01, 0.3, 0.6, 0.97], dtype=torch.float64).unsqueeze(-1)
        k = (h - LOWER) / (UPPER - LOWER)
        a, b = self.a, self.b
        density = a * b * k ** (a - 1) * (1 - k**a) ** (b - 1) / (UPPER - LOWER)
        torch.testing.assert_close(dist.log_prob(h), density.log(), rtol=1e-10, atol=1e-10)

    def test_cdf_is_consistent_with_point_masses_and_density(self):
        dist = HardKumaraswamy(self.a, self.b, validate_args=False)
        f64 = dict(dtype=torch.float64)
        torch.testing.assert_close(dist.cdf(torch.tensor(0.0, **f64)), dist.prob_zero())
        torch.testing.assert_close(dist.cdf(torch.tensor(-0.05, **f64)), torch.zeros(8, **f64))
        torch.testing.assert_close(dist.cdf(torch.tensor(1.0, **f64)), torch.ones(8, **f64))
        torch.testing.assert_close(dist.cdf(torch.tensor(1.5, **f64)), torch.ones(8, **f64))
        torch.testing.assert_close(
            dist.cdf(torch.tensor(1 - 1e-15, **f64)), 1.0 - dist.prob_one(), rtol=0, atol=1e-12
        )
        torch.testing.assert_close(
            dist.cdf(torch.tensor(0.6, **f64)) - dist.prob_zero(),
            self._interior_density_integral(dist, upper=0.6),
            rtol=0,
            atol=1e-8,
        )
        values = torch.linspace(0, 1, 101, **f64).unsqueeze(-1)
        assert bool((dist.cdf(values).diff(dim=0) >= 0).all())

    def test_icdf_inverts_cdf(self):
        dist = HardKumaraswamy(self.a, self.b)
        values = torch.tensor([0.02, 0.3, 0.5, 0.8, 0.98], dtype=torch.float64).unsqueeze(-1)
        cdf = dist.cdf(values)
        # Away from the point masses, and from the clamp of the uniform noise to [eps, 1 - eps].
        inside = (cdf > dist.prob_zero() + 1e-12) & (cdf < 1 - dist.prob_one() - 1e-12)
        recovered = dist.icdf(cdf)
        assert bool(inside.any())
        torch.testing.assert_close(
            recovered[inside], values.expand_as(cdf)[inside], rtol=1e-6, atol=1e-9
        )

    def test_mean_matches_a_fine_reference(self):
        values = torch.logspace(-2, 2, 13, dtype=torch.float64)
        a, b = torch.meshgrid(values, values, indexing="ij")
        h = torch.linspace(0.0, 1.0, 20_001, dtype=torch.float64)
        k = ((h - LOWER) / (UPPER - LOWER)).view(-1, 1, 1)
        reference = simpson((1.0 - naive_kuma_cdf(k, a, b)).permute(1, 2, 0), 1.0)
        torch.testing.assert_close(HardKumaraswamy(a, b).mean, reference, rtol=0, atol=1e-9)

    def test_kumaraswamy_mean(self):
        a = torch.tensor([0.5, 2.0, 3.0, 10.0], dtype=torch.float64)
        b = torch.tensor([0.5, 3.0, 1.0, 0.7], dtype=torch.float64)
        k = torch.linspace(0.0, 1.0, 200_001, dtype=torch.float64).unsqueeze(-1)
        # E[K] = integral_0^1 (1 - F_K(k)) dk; for b = 1 it is a / (a + 1).
        reference = simpson((1.0 - naive_kuma_cdf(k, a, b)).transpose(0, 1), 1.0)
        mean = HardKumaraswamy(a, b).kumaraswamy_mean()
        torch.testing.assert_close(mean, reference, rtol=0, atol=1e-5)
        assert mean[2].item() == pytest.approx(3.0 / 4.0, rel=1e-12)

    def test_deterministic(self):
        values = torch.logspace(-2, 2, 15, dtype=torch.float64)
        a, b = torch.meshgrid(values, values, indexing="ij")
        dist = HardKumaraswamy(a, b)
        output = dist.deterministic()
        p_zero, p_one, p_cont = dist.prob_zero(), dist.prob_one(), dist.prob_continuous()
        interval = (p_cont > p_zero) & (p_cont > p_one)
        zero = ~interval & (p_zero > p_one)
        one = ~interval & ~zero
        # All three cases occur on this grid.
        assert bool(interval.any()) and bool(zero.any()) and bool(one.any())
        assert bool((output[zero] == 0).all())
        assert bool((output[one] == 1).all())
        inside = output[interval]
        assert bool(((inside > 0) & (inside < 1)).all())
        torch.testing.assert_close(inside, dist.kumaraswamy_mean()[interval])
        # Spot checks: bimodal with more mass at 0; unimodal in the middle; mass near 1.
        spot = HardKumaraswamy(
            torch.tensor([0.1, 3.0, 5.0], dtype=torch.float64),
            torch.tensor([1.0, 3.0, 0.2], dtype=torch.float64),
        ).deterministic()
        assert spot[0].item() == 0.0
        assert spot[1].item() == pytest.approx(
            3.0
            * math.exp(math.lgamma(1 + 1 / 3.0) + math.lgamma(3.0) - math.lgamma(1 + 1 / 3.0 + 3.0))
        )
        assert spot[2].item() == 1.0


class TestShapesAndInterface:
    def test_sample_shapes(self):
        a = torch.rand(2, 1) + 0.5
        b = torch.rand(1, 4) + 0.5
        dist = HardKumaraswamy(a, b)
        assert dist.batch_shape == (2, 4)
        assert dist.event_shape == ()
        assert dist.sample().shape == (2, 4)
        assert dist.rsample((5, 3)).shape == (5, 3, 2, 4)
        assert dist.sample((7,)).shape == (7, 2, 4)
        assert dist.prob_zero().shape == (2, 4)
        assert dist.mean.shape == (2, 4)
        assert dist.deterministic().shape == (2, 4)
        assert dist.log_prob(torch.full((3, 1, 1), 0.5)).shape == (3, 2, 4)
        assert dist.cdf(torch.tensor(0.5)).shape == (2, 4)

    def test_scalar_parameters(self):
        dist = HardKumaraswamy(0.5, 0.5)
        assert dist.batch_shape == ()
        assert dist.sample((4,)).shape == (4,)

    def test_rsample_has_gradients_and_sample_does_not(self):
        a = torch.tensor([0.8, 1.5], requires_grad=True)
        b = torch.tensor([1.2, 0.9], requires_grad=True)
        dist = HardKumaraswamy(a, b)
        assert dist.has_rsample
        assert not dist.sample((3,)).requires_grad
        torch.manual_seed(1)
        samples = dist.rsample((1000,))
        samples.sum().backward()
        assert a.grad.abs().sum() > 0 and b.grad.abs().sum() > 0

    def test_rsample_uses_the_uniform_noise(self):
        dist = HardKumaraswamy(torch.tensor([0.8, 1.5]), torch.tensor([1.2, 0.9]))
        torch.manual_seed(3)
        samples = dist.rsample((4,))
        torch.manual_seed(3)
        u = torch.rand(4, 2)
        torch.testing.assert_close(samples, dist.rsample_from_uniform(u))

    def test_expand(self):
        dist = HardKumaraswamy(torch.tensor([0.5, 2.0]), torch.tensor([0.5, 3.0]), -0.2, 1.3)
        expanded = dist.expand((3, 2))
        assert isinstance(expanded, HardKumaraswamy)
        assert expanded.batch_shape == (3, 2)
        assert (expanded.lower, expanded.upper) == (-0.2, 1.3)
        torch.testing.assert_close(expanded.prob_zero(), dist.prob_zero().expand(3, 2))
        torch.testing.assert_close(expanded.mean, dist.mean.expand(3, 2))
        assert expanded.sample((5,)).shape == (5, 3, 2)

    def test_stretch_changes_the_point_masses(self):
        narrow = HardKumaraswamy(torch.tensor(1.0), torch.tensor(1.0), -0.1, 1.1)
        wide = HardKumaraswamy(torch.tensor(1.0), torch.tensor(1.0), -0.5, 1.5)
        # For Kuma(1, 1) = U(0, 1), P(H = 0) = -l / (r - l).
        assert narrow.prob_zero().item() == pytest.approx(0.1 / 1.2, rel=1e-6)
        assert wide.prob_zero().item() == pytest.approx(0.25, rel=1e-6)
        assert wide.prob_one().item() == pytest.approx(0.25, rel=1e-6)

    def test_constraints(self):
        assert HardKumaraswamy.support.check(torch.tensor([0.0, 0.5, 1.0])).all()
        assert not HardKumaraswamy.support.check(torch.tensor([1.5])).any()
        assert set(HardKumaraswamy.arg_constraints) == {"a", "b"}
        with pytest.raises(ValueError):
            HardKumaraswamy(torch.tensor([-1.0]), torch.tensor([1.0]), validate_args=True)
        with pytest.raises(ValueError):
            HardKumaraswamy(torch.tensor([1.0]), torch.tensor([1.0]), validate_args=True).log_prob(
                torch.tensor([1.5])
            )

    @pytest.mark.parametrize("lower, upper", [(0.0, 1.1), (-0.1, 1.0), (0.2, 0.8)])
    def test_bad_stretch_raises(self, lower, upper):
        with pytest.raises(ValueError, match="lower < 0 and upper > 1"):
            HardKumaraswamy(1.0, 1.0, lower, upper)

    def test_log_prob_outside_support_is_minus_infinity(self):
        dist = HardKumaraswamy(
            torch.tensor([1.0, 1.0]), torch.tensor([1.0, 1.0]), validate_args=False
        )
        log_prob = dist.log_prob(torch.tensor([-0.1, 1.1]))
        assert bool((log_prob == -math.inf).all())


def test_sample_gradients_match_the_textbook_formula_over_a_wide_range():
    """Pathwise gradients of the log-space sampler against autograd through the textbook formula,
    for shapes from 1e-3 to 7 (the range trained gates use), in float64 and float32."""
    generator = torch.Generator().manual_seed(0)
    n = 20000
    a = torch.exp(torch.empty(n, dtype=torch.float64).uniform_(-7, 2, generator=generator))
    b = torch.exp(torch.empty(n, dtype=torch.float64).uniform_(-7, 2, generator=generator))
    u = torch.empty(n, dtype=torch.float64).uniform_(1e-3, 1 - 1e-3, generator=generator)
    a_ref, b_ref = a.clone().requires_grad_(), b.clone().requires_grad_()
    expected = torch.autograd.grad(naive_hardkuma_sample(u, a_ref, b_ref).sum(), [a_ref, b_ref])
    finite = torch.isfinite(expected[0]) & torch.isfinite(expected[1])
    assert finite.float().mean() > 0.99
    for dtype, rtol in [(torch.float64, 1e-9), (torch.float32, 1e-5)]:
        a_ours = a.to(dtype).requires_grad_()
        b_ours = b.to(dtype).requires_grad_()
        sample = HardKumaraswamy(a_ours, b_ours).rsample_from_uniform(u.to(dtype))
        actual = torch.autograd.grad(sample.sum(), [a_ours, b_ours])
        for got, want in zip(actual, expected):
            got, want = got.double()[finite], want[finite]
            assert ((got - want).abs() <= rtol * want.abs() + 1e-6).all()

from typing import Dict

import torch
from allennlp.common import FromParams
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy, expected_l0, expected_transitions
from hardkuma_allennlp.modules.gate_decoders import GateDecoder


class HardKumaShape(FromParams):
    """
    The one home of the settings that turn unconstrained scores into HardKuma variables
    ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), section 3), shared by the
    `hardkuma` and `hardkuma_dependent` gates and the `hardkuma` matrix attention (their `shape`
    argument):

        a = clamp(softplus(score_a), min_shape, max_shape)
        b = clamp(softplus(score_b), min_shape, max_shape)
        z ~ HardKuma(a, b) over the stretched support (lower, upper)

    The clamp keeps `a` and `b` in a range in which the distribution's float32 numerics are tested
    (1e-6 to 100). A shape parameter on the clamp gets no gradient, so a gate whose `a` sits on
    `min_shape` can only reopen through `b` (the paper authors' code clamps at 1e-6). In a config:
    `shape: { lower: -0.1, upper: 1.1, min_shape: 0.01, max_shape: 100 }` (every key optional).

    The other HardKuma pieces that the gates and the attention share live here too:
    `HardKumaLayer` (features to HardKuma variables), `sample_or_decode` (the reparameterised
    sample in training, the decoding rule in evaluation), `report_penalties` (the expected rates
    for the `lagrangian` callback) and `nonzero_scores` (each position's `P(z != 0)`).

    # Parameters

    lower : `float`, optional (default = `-0.1`)
        Left end of the stretched support (`l` in the paper), must be < 0.
    upper : `float`, optional (default = `1.1`)
        Right end of the stretched support (`r` in the paper), must be > 1.
    min_shape : `float`, optional (default = `1e-2`)
    max_shape : `float`, optional (default = `100.0`)
        Range to which `a` and `b` are clamped, `0 < min_shape < max_shape`.
    """

    def __init__(
        self,
        lower: float = -0.1,
        upper: float = 1.1,
        min_shape: float = 1e-2,
        max_shape: float = 100.0,
    ) -> None:
        if not (lower < 0 and upper > 1):
            raise ConfigurationError(
                f"HardKuma needs lower < 0 < 1 < upper (else z is never exactly 0 or 1), "
                f"got lower={lower}, upper={upper}"
            )
        if not 0 < min_shape < max_shape:
            raise ConfigurationError(
                f"need 0 < min_shape < max_shape, got {min_shape}, {max_shape}"
            )
        self.lower, self.upper = lower, upper
        self.min_shape, self.max_shape = min_shape, max_shape

    def distribution(self, score_a: torch.Tensor, score_b: torch.Tensor) -> HardKumaraswamy:
        """The HardKuma variables of unconstrained scores of any (equal) shape."""
        a = torch.nn.functional.softplus(score_a).clamp(self.min_shape, self.max_shape)
        b = torch.nn.functional.softplus(score_b).clamp(self.min_shape, self.max_shape)
        return HardKumaraswamy(a, b, self.lower, self.upper, validate_args=False)


class HardKumaLayer(torch.nn.Module):
    """
    Maps features to HardKuma variables: two linear scores, `W_a x + b_a` and `W_b x + b_b`, made
    into shape parameters by a `HardKumaShape`.
    """

    def __init__(self, input_dim: int, shape: HardKumaShape) -> None:
        super().__init__()
        self.a_layer = torch.nn.Linear(input_dim, 1)
        self.b_layer = torch.nn.Linear(input_dim, 1)
        self.shape = shape

    def forward(self, features: torch.Tensor) -> HardKumaraswamy:
        # Shape: (..., input_dim) -> (...)
        return self.shape.distribution(
            self.a_layer(features).squeeze(-1), self.b_layer(features).squeeze(-1)
        )


def sample_or_decode(
    distribution: HardKumaraswamy, mask: torch.BoolTensor, decoding: GateDecoder, training: bool
) -> torch.Tensor:
    """
    The values of HardKuma variables (batch shape `(..., length)`, as `mask`): the
    reparameterised sample in training, the `decoding` rule in evaluation; exactly 0 where `mask`
    is false (a `where`, not a product: even where the scores were NaN there).
    """
    values = distribution.rsample() if training else decoding(distribution, mask)
    return torch.where(mask, values, torch.zeros_like(values))


def report_penalties(p_zero: torch.Tensor, mask: torch.BoolTensor) -> Dict[str, torch.Tensor]:
    """Expected selection and transition rates, each the batch mean of per-sequence rates."""
    lengths = mask.sum(-1).clamp(min=1).to(p_zero.dtype)
    return {
        "selection": (expected_l0(p_zero, mask) / lengths).mean(),
        "transition": (expected_transitions(p_zero, mask) / lengths).mean(),
    }


def nonzero_scores(p_zero: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
    """Each position's `P(z != 0)`, detached, and exactly 0 where `mask` is false."""
    return torch.where(mask, 1.0 - p_zero.detach(), torch.zeros_like(p_zero))

import torch
from allennlp.common import FromParams
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy


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
    (1e-6 to 100). A shape parameter on the clamp gets no gradient: with the default
    `min_shape` of 0.01, 44 % of the `a`s of a trained SST model sat there (the gates it had
    closed), and could only reopen through `b`; the paper authors clamp at 1e-6 (measured on SST,
    README). In a config: `shape: { lower: -0.1, upper: 1.1, min_shape: 0.01, max_shape: 100 }`
    (every key optional).

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

from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2SeqEncoder

from hardkuma_allennlp.distributions import HardKumaraswamy, expected_l0, expected_transitions
from hardkuma_allennlp.modules.gate_decoders import GateDecoder, PaperDecoder
from hardkuma_allennlp.modules.gates.gate import Gate
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


def check_hardkuma_arguments(lower: float, upper: float, min_shape: float, max_shape: float):
    """Raises a `ConfigurationError` for a stretch or shape range the distribution cannot use."""
    if not (lower < 0 and upper > 1):
        raise ConfigurationError(
            f"HardKuma needs lower < 0 < 1 < upper (else z is never exactly 0 or 1), "
            f"got lower={lower}, upper={upper}"
        )
    if not 0 < min_shape < max_shape:
        raise ConfigurationError(f"need 0 < min_shape < max_shape, got {min_shape}, {max_shape}")


class HardKumaShape(torch.nn.Module):
    """
    Maps features to a HardKuma distribution: shape parameters `a = softplus(W_a x + b_a)` and
    `b = softplus(W_b x + b_b)`, clamped to `[min_shape, max_shape]` (the range in which the
    distribution's float32 numerics are tested), over the stretched support `(lower, upper)`.
    """

    def __init__(
        self,
        input_dim: int,
        lower: float = -0.1,
        upper: float = 1.1,
        min_shape: float = 1e-2,
        max_shape: float = 100.0,
    ) -> None:
        super().__init__()
        check_hardkuma_arguments(lower, upper, min_shape, max_shape)
        self.a_layer = torch.nn.Linear(input_dim, 1)
        self.b_layer = torch.nn.Linear(input_dim, 1)
        self.lower, self.upper = lower, upper
        self.min_shape, self.max_shape = min_shape, max_shape

    def forward(self, features: torch.Tensor) -> HardKumaraswamy:
        # Shape: (..., input_dim) -> (...)
        a = torch.nn.functional.softplus(self.a_layer(features)).squeeze(-1)
        b = torch.nn.functional.softplus(self.b_layer(features)).squeeze(-1)
        a = a.clamp(self.min_shape, self.max_shape)
        b = b.clamp(self.min_shape, self.max_shape)
        return HardKumaraswamy(a, b, self.lower, self.upper, validate_args=False)


def report_penalties(p_zero: torch.Tensor, mask: torch.BoolTensor):
    """Expected selection and transition rates, each the batch mean of per-sequence rates."""
    lengths = mask.sum(-1).clamp(min=1).to(p_zero.dtype)
    return {
        "selection": (expected_l0(p_zero, mask) / lengths).mean(),
        "transition": (expected_transitions(p_zero, mask) / lengths).mean(),
    }


@Gate.register("hardkuma")
class HardKumaGate(Gate, PenaltyReporter):
    """
    Independent HardKuma gates ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160),
    sections 3 and 5): a `Seq2SeqEncoder` reads the embedded tokens, and for each token
    `z_i ~ HardKuma(a_i, b_i, lower, upper)` with `a_i, b_i` softplus outputs of two linear layers
    over the encoder output. In training `z_i` is the reparameterised sample; in evaluation the
    `decoding` rule sets it (by default the paper's: the most probable of 0, 1 and the interval
    (0, 1); in the interval the mean of the underlying Kumaraswamy).

    Reports the expected selection rate, `sum_i (1 - P(z_i = 0)) / length` (eq. 11), and the
    expected transition rate (eq. 12), each averaged over the batch, for the `lagrangian`
    callback.

    Registered as a `Gate` with name "hardkuma".

    # Parameters

    encoder : `Seq2SeqEncoder`
        Reads the embedded tokens (e.g. a BiLSTM).
    lower : `float`, optional (default = `-0.1`)
        Left end of the stretched support (`l` in the paper), must be < 0.
    upper : `float`, optional (default = `1.1`)
        Right end of the stretched support (`r` in the paper), must be > 1.
    min_shape : `float`, optional (default = `1e-2`)
    max_shape : `float`, optional (default = `100.0`)
        Range to which the shape parameters `a`, `b` are clamped.
    decoding : `GateDecoder`, optional (default = `"paper"`)
        The test-time rule: "paper", "threshold", "top_k" or "spans" (see `GateDecoder`).
    """

    def __init__(
        self,
        encoder: Seq2SeqEncoder,
        lower: float = -0.1,
        upper: float = 1.1,
        min_shape: float = 1e-2,
        max_shape: float = 100.0,
        decoding: Optional[GateDecoder] = None,
    ) -> None:
        super().__init__()
        self._encoder = encoder
        self.decoding = decoding if decoding is not None else PaperDecoder()
        self._shape = HardKumaShape(encoder.get_output_dim(), lower, upper, min_shape, max_shape)

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, seq_len, encoder_dim)
        encoded = self._encoder(embedded_text, mask)
        # Batch shape: (batch_size, seq_len)
        distribution = self._shape(encoded)
        z = distribution.rsample() if self.training else self.decoding(distribution, mask)
        self._expected_penalties = report_penalties(distribution.prob_zero(), mask)
        return z * mask

import torch
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gate_decoders.gate_decoder import (
    GateDecoder,
    check_gate_value,
    kept_gate_values,
)


@GateDecoder.register("threshold")
class ThresholdDecoder(GateDecoder):
    """
    Keeps every gate whose probability of being non-zero, `1 - P(z = 0)`, exceeds
    `threshold`; the rest are 0. At `threshold = 0.5` a gate is kept when it is more often
    non-zero than zero in training, so the selection follows the expected rate that the
    constraint holds in training more closely than the paper's rule, which also weighs
    P(z = 1) against the interval.

    Registered as a `GateDecoder` with name "threshold".

    # Parameters

    threshold : `float`, optional (default = `0.5`)
        In [0, 1).
    value : `str`, optional (default = `"one"`)
        What a kept gate is: `"one"`, or `"expected"`, its expected value `E[z]` (see
        `GateDecoder`). Zero gates are 0 either way, so the selection does not change.
    """

    elementwise = True

    def __init__(self, threshold: float = 0.5, value: str = "one") -> None:
        if not 0.0 <= threshold < 1.0:
            raise ConfigurationError(
                f"threshold decoder: threshold must lie in [0, 1), got {threshold}"
            )
        self.threshold = threshold
        self.value = check_gate_value("threshold", value)

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        keep = (1.0 - distribution.prob_zero() > self.threshold) & mask
        return kept_gate_values(distribution, keep, self.value)

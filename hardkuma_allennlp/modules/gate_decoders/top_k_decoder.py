import torch
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gate_decoders.gate_decoder import (
    GateDecoder,
    check_gate_value,
    kept_gate_values,
    rounded_counts,
)


@GateDecoder.register("top_k")
class TopKDecoder(GateDecoder):
    """
    Keeps exactly `round(share * length)` positions of each sequence (or attention row):
    those most likely to be non-zero, ranked by `1 - P(z = 0)`; the rest are 0. The selection is
    the requested share whatever the gates' confidence, so models can be compared at a fixed
    rationale length, and a test-time selection matches the training target.

    Registered as a `GateDecoder` with name "top_k".

    # Parameters

    share : `float`
        The share of each sequence to keep, in (0, 1]. Usually the selection target of the
        `lagrangian` callback.
    value : `str`, optional (default = `"one"`)
        What a kept gate is: `"one"`, or `"expected"`, its expected value `E[z]` (see
        `GateDecoder`). Zero gates are 0 either way, so the selection does not change.
    """

    def __init__(self, share: float, value: str = "one") -> None:
        if not 0.0 < share <= 1.0:
            raise ConfigurationError(f"top_k decoder: share must lie in (0, 1], got {share}")
        self.share = share
        self.value = check_gate_value("top_k", value)

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        score = torch.where(
            mask, 1.0 - distribution.prob_zero(), torch.full_like(distribution.a, -1.0)
        )
        # Shape: (..., seq_len): the rank of each position by decreasing score (0 = best).
        order = score.argsort(dim=-1, descending=True, stable=True)
        rank = order.argsort(dim=-1)
        keep = (rank < rounded_counts(self.share, mask).unsqueeze(-1)) & mask
        return kept_gate_values(distribution, keep, self.value)

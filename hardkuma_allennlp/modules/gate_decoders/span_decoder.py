import torch
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.modules.gate_decoders.gate_decoder import GateDecoder, rounded_counts


@GateDecoder.register("spans")
class SpanDecoder(GateDecoder):
    """
    Keeps (z = 1) one contiguous span of `round(share * length)` positions of each sequence (or
    attention row): the window with the largest total `1 - P(z = 0)`; the rest are 0. A rationale
    that reads as a phrase, of exactly the requested length.

    Registered as a `GateDecoder` with name "spans".

    # Parameters

    share : `float`
        The share of each sequence to keep, in (0, 1].
    """

    def __init__(self, share: float) -> None:
        if not 0.0 < share <= 1.0:
            raise ConfigurationError(f"spans decoder: share must lie in (0, 1], got {share}")
        self.share = share

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        score = torch.where(
            mask, 1.0 - distribution.prob_zero(), torch.zeros_like(distribution.a)
        ).double()
        seq_len = score.size(-1)
        # Shape: (...,)
        lengths = mask.sum(-1)
        width = rounded_counts(self.share, mask)
        # Shape: (..., seq_len + 1), prefix sums with a leading 0.
        prefix = torch.nn.functional.pad(score.cumsum(-1), (1, 0))
        # Shape: (..., seq_len), the span starting at each position.
        starts = torch.arange(seq_len, device=score.device)
        ends = starts + width.unsqueeze(-1)
        window = prefix.gather(-1, ends.clamp(max=seq_len)) - prefix[..., :-1]
        window = torch.where(ends <= lengths.unsqueeze(-1), window, torch.full_like(window, -1.0))
        # Shape: (..., 1)
        best = (
            window.argmax(-1, keepdim=True) if seq_len else starts.new_zeros(lengths.shape + (1,))
        )
        keep = (starts >= best) & (starts < best + width.unsqueeze(-1)) & mask
        return keep.to(distribution.a.dtype)

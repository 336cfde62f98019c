import torch
from allennlp.common import Registrable
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.distributions import HardKumaraswamy


class GateDecoder(Registrable):
    """
    Turns the HardKuma distributions of a sequence of gates (or of the cells of an attention
    matrix, row by row) into test-time gate values. Training always uses reparameterised samples;
    a decoder is used in evaluation mode only (validation, `allennlp evaluate`, `predict`).

    All decoders work along the last dimension, with a mask of the same shape, and give exactly
    0 at masked positions. Set one in a config (`decoding: {type: 'top_k', share: 0.3}`) or at
    evaluation time, e.g. `allennlp evaluate model.tar.gz test.txt -o OVERRIDES` with
    `OVERRIDES = '{"model.encoder.gate.decoding": {"type": "threshold"}}'`.

    Implementations: "paper" (the default: the most probable of 0, 1 and the interval),
    "threshold" (keep gates with P(z != 0) above a threshold), "top_k" (keep exactly a share of
    each sequence) and "spans" (keep the best contiguous span of that share). "paper" gives 0, 1
    or a value in between; "threshold" and "top_k" give 1 to the gates they keep, or with
    `value: "expected"` each kept gate's expected value `E[z]` (for gates trained in the
    continuous part of (0, 1), whose classifier learned to read scaled words); "spans" gives 1.
    """

    default_implementation = "paper"

    #: Whether each gate is decoded on its own (so a gate can be decoded while a chain of
    #: dependent gates is being built), rather than from the whole sequence.
    elementwise: bool = False

    def __call__(self, distribution: HardKumaraswamy, mask: torch.BoolTensor) -> torch.Tensor:
        """
        # Parameters

        distribution : `HardKumaraswamy`
            Batch shape `(..., seq_len)`.
        mask : `torch.BoolTensor`
            Shape `(..., seq_len)`, true at valid positions.

        # Returns

        `torch.Tensor`
            Gate values in [0, 1], shape `(..., seq_len)`, exactly 0 where the mask is false.
        """
        raise NotImplementedError


GATE_VALUES = ("one", "expected")


def check_gate_value(decoder: str, value: str) -> str:
    if value not in GATE_VALUES:
        raise ConfigurationError(
            f"{decoder} decoder: value must be one of {GATE_VALUES}, got {value!r}"
        )
    return value


def kept_gate_values(
    distribution: HardKumaraswamy, keep: torch.BoolTensor, value: str
) -> torch.Tensor:
    """The decoded gates: 0 where `keep` is false; where it is true, 1 (`value="one"`) or the
    gate's expected value `E[z]` (`value="expected"`)."""
    if value == "one":
        return keep.to(distribution.a.dtype)
    expected = distribution.mean
    return torch.where(keep, expected, torch.zeros_like(expected))


def rounded_counts(share: float, mask: torch.BoolTensor) -> torch.Tensor:
    """`round(share * length)` of every sequence along the last dimension (half to even)."""
    # Shape: (...)
    return torch.round(mask.sum(-1).to(torch.float64) * share).long()

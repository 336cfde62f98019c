from typing import Optional

import torch
from allennlp.modules import Seq2SeqEncoder

from hardkuma_allennlp.modules.gate_decoders import GateDecoder, PaperDecoder
from hardkuma_allennlp.modules.gates.gate import Gate, GateOutput
from hardkuma_allennlp.modules.hardkuma_shape import (
    HardKumaLayer,
    HardKumaShape,
    nonzero_scores,
    report_penalties,
    sample_or_decode,
)
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


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
    shape : `HardKumaShape`, optional (default = `HardKumaShape()`)
        Stretched support and range of the shape parameters `a`, `b`.
    decoding : `GateDecoder`, optional (default = `"paper"`)
        The test-time rule: "paper", "threshold", "top_k" or "spans" (see `GateDecoder`).
    """

    def __init__(
        self,
        encoder: Seq2SeqEncoder,
        shape: Optional[HardKumaShape] = None,
        decoding: Optional[GateDecoder] = None,
    ) -> None:
        super().__init__()
        self._encoder = encoder
        self.decoding = decoding if decoding is not None else PaperDecoder()
        self._shape = HardKumaLayer(encoder.get_output_dim(), shape or HardKumaShape())

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> GateOutput:
        # Shape: (batch_size, seq_len, encoder_dim)
        encoded = self._encoder(embedded_text, mask)
        # Batch shape: (batch_size, seq_len)
        distribution = self._shape(encoded)
        if self.training:
            self.warn_if_unconstrained()
        # Shape: (batch_size, seq_len); exactly 0 at padding even where the encoder gave NaN.
        z = sample_or_decode(distribution, mask, self.decoding, self.training)
        p_zero = distribution.prob_zero()
        self._expected_penalties = report_penalties(p_zero, mask)
        return GateOutput(z, nonzero_scores(p_zero, mask))

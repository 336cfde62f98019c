from typing import Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2SeqEncoder

from hardkuma_allennlp.modules.gate_decoders import GateDecoder, PaperDecoder
from hardkuma_allennlp.modules.gates.gate import Gate
from hardkuma_allennlp.modules.gates.hardkuma_gate import (
    HardKumaLayer,
    nonzero_scores,
    report_penalties,
)
from hardkuma_allennlp.modules.hardkuma_shape import HardKumaShape
from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter


@Gate.register("hardkuma_dependent")
class DependentHardKumaGate(Gate, PenaltyReporter):
    """
    Dependent HardKuma gates ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), eq. 16
    and appendix B.1.2): `z_i` is conditioned on the gates already assigned,
    `z_i ~ HardKuma(a_i, b_i)` with `a_i, b_i = f([h_i; s_{i-1}])`, where `h_i` is the output of a
    `Seq2SeqEncoder` over the embedded tokens and `s_i = LSTMCell([h_i; z_i], s_{i-1})` is a small
    recurrent state over the sampled prefix. In training every `z_i` is a reparameterised sample,
    so gradients flow through the whole chain; in evaluation each `z_i` is set by the
    deterministic rule and fed to the next step.

    The expected penalties are computed along the sampled prefix: from `P(z_i = 0 | z_<i)`, with
    the same formulas as for independent gates (eqs. 11 and 12), each averaged over the batch.

    Registered as a `Gate` with name "hardkuma_dependent".

    # Parameters

    encoder : `Seq2SeqEncoder`
        Reads the embedded tokens (e.g. a BiLSTM or an RCNN).
    hidden_size : `int`, optional (default = `30`)
        Size of the recurrent state `s_i` over the sampled gates.
    shape : `HardKumaShape`, optional (default = `HardKumaShape()`)
        Stretched support and range of the shape parameters `a`, `b`.
    decoding : `GateDecoder`, optional (default = `"paper"`)
        The test-time rule. Each gate is decoded before the next is conditioned on it, so only
        rules that decode gates one by one ("paper", "threshold") apply.
    """

    def __init__(
        self,
        encoder: Seq2SeqEncoder,
        hidden_size: int = 30,
        shape: Optional[HardKumaShape] = None,
        decoding: Optional[GateDecoder] = None,
    ) -> None:
        super().__init__()
        self.decoding = decoding if decoding is not None else PaperDecoder()
        if not self.decoding.elementwise:
            raise ConfigurationError(
                f"hardkuma_dependent: decoding {type(self.decoding).__name__} needs the whole "
                "sequence, but dependent gates are decoded one by one; use 'paper' or 'threshold'"
            )
        self._encoder = encoder
        encoder_dim = encoder.get_output_dim()
        self._cell = torch.nn.LSTMCell(encoder_dim + 1, hidden_size)
        self._shape = HardKumaLayer(encoder_dim + hidden_size, shape or HardKumaShape())

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, seq_len, encoder_dim)
        if self.training:
            self.warn_if_unconstrained()
        encoded = self._encoder(embedded_text, mask)
        batch_size, seq_len, encoder_dim = encoded.shape
        state_size = self._cell.hidden_size
        hidden = encoded.new_zeros(batch_size, state_size)
        cell = encoded.new_zeros(batch_size, state_size)
        # The parts of the shape scores and of the LSTM cell's gates that read `h_i` only, for
        # all steps in one matmul; the loop adds the parts that read `s_{i-1}` and `z_i`. The
        # parameters are those of `_shape` (a, b layers over [h_i; s_{i-1}]) and `_cell` (an
        # LSTMCell over [h_i; z_i]), split by the columns they read.
        a_layer, b_layer = self._shape.a_layer, self._shape.b_layer
        weight = torch.cat(
            [a_layer.weight[:, :encoder_dim], b_layer.weight[:, :encoder_dim]]
            + [self._cell.weight_ih[:, :encoder_dim]]
        )
        bias = torch.cat([a_layer.bias, b_layer.bias, self._cell.bias_ih + self._cell.bias_hh])
        # Shape: (batch_size, seq_len, 2 + 4 * state_size)
        from_encoder = torch.nn.functional.linear(encoded, weight, bias)
        # Shape: (state_size, 2 + 4 * state_size): what `s_{i-1}` adds to both.
        from_state = torch.cat(
            [a_layer.weight[:, encoder_dim:], b_layer.weight[:, encoder_dim:], self._cell.weight_hh]
        ).t()
        # Shape: (4 * state_size,): what z_i adds to the cell's gates.
        from_gate = self._cell.weight_ih[:, encoder_dim]
        z_steps, shape_scores = [], []
        # One unbind, not a slice per step: the backward pass of `x[:, i]` materialises a zero
        # gradient of the whole tensor at every step (quadratic in the length).
        for scores_i, mask_i in zip(from_encoder.unbind(1), mask.unbind(1)):
            # Shape: (batch_size, 2 + 4 * state_size)
            scores_i = torch.addmm(scores_i, hidden, from_state)
            # Batch shape: (batch_size,)
            distribution = self._shape.shape.distribution(scores_i[:, 0], scores_i[:, 1])
            if self.training:
                sample = distribution.rsample()
                z_i = torch.where(mask_i, sample, torch.zeros_like(sample))
            else:
                z_i = self.decoding(distribution, mask_i)
            # The LSTM cell (gates in torch's order: input, forget, cell, output); one sigmoid
            # for all four (the cell's candidate takes tanh of its own part).
            gates = torch.addcmul(scores_i[:, 2:], z_i.unsqueeze(-1), from_gate)
            input_gate, forget_gate, _, output_gate = gates.sigmoid().chunk(4, dim=-1)
            candidate = gates[:, 2 * state_size : 3 * state_size].tanh()
            new_cell = torch.addcmul(forget_gate * cell, input_gate, candidate)
            new_hidden = output_gate * new_cell.tanh()
            # Padded positions carry the state forward unchanged.
            keep = mask_i.unsqueeze(-1)
            hidden = torch.where(keep, new_hidden, hidden)
            cell = torch.where(keep, new_cell, cell)
            z_steps.append(z_i)
            shape_scores.append(scores_i[:, :2])
        # Shape: (batch_size, seq_len)
        z = torch.stack(z_steps, dim=1) if seq_len else encoded.new_zeros(batch_size, 0)
        # P(z_i = 0 | z_<i) for all steps at once, from the scores the loop computed.
        # Shape: (batch_size, seq_len, 2)
        scores = (
            torch.stack(shape_scores, dim=1) if seq_len else encoded.new_zeros(batch_size, 0, 2)
        )
        p_zero = self._shape.shape.distribution(scores[..., 0], scores[..., 1]).prob_zero()
        self._expected_penalties = report_penalties(p_zero, mask)
        self.last_scores = nonzero_scores(p_zero, mask)
        return z

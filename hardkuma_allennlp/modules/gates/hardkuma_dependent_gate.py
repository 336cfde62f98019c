from typing import List, Optional, Tuple

import torch
from allennlp.common.checks import ConfigurationError
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


def _valid_linear(
    inputs: torch.Tensor, mask: torch.BoolTensor, weight: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """`linear(inputs, weight, bias)` at the valid positions and 0 at padding, computed for the
    valid positions only (real BeerAdvocate batches are about half padding; the gates never read
    what padded positions hold). Shape: `(batch_size, seq_len, out_features)`."""
    mask = mask.bool()
    # Shape: (num_valid, out_features); under autocast in its lower precision.
    projected = torch.nn.functional.linear(inputs[mask], weight, bias)
    out = projected.new_zeros(*mask.shape, weight.size(0))
    out[mask] = projected
    return out


@Gate.register("hardkuma_dependent")
class DependentHardKumaGate(Gate, PenaltyReporter):
    """
    Dependent HardKuma gates ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160), eq. 16
    and appendix B.1.2): `z_i` is conditioned on the gates already assigned,
    `z_i ~ HardKuma(a_i, b_i)` with `a_i, b_i = f([h_i; s_{i-1}])`, where `h_i` is the output of a
    `Seq2SeqEncoder` over the embedded tokens and `s_i = cell([h_i; z_i], s_{i-1})` (an LSTM or an
    RCNN cell) is a small recurrent state over the sampled prefix. In training every `z_i` is a
    reparameterised sample, so gradients flow through the whole chain; in evaluation each `z_i` is
    set by the deterministic rule and fed to the next step.

    The expected penalties are computed along the sampled prefix: from `P(z_i = 0 | z_<i)`, with
    the same formulas as for independent gates (eqs. 11 and 12), each averaged over the batch.

    Registered as a `Gate` with name "hardkuma_dependent".

    # Parameters

    encoder : `Seq2SeqEncoder`
        Reads the embedded tokens (e.g. a BiLSTM or an RCNN).
    hidden_size : `int`, optional (default = `30`)
        Size of the recurrent state `s_i` over the sampled gates.
    state_cell : `str`, optional (default = `"lstm"`)
        The cell of the state `s_i`: `"lstm"` (an LSTM cell) or `"rcnn"` (the bigram RCNN cell of
        [Lei et al., 2016](https://arxiv.org/abs/1606.04155), which the paper authors' code uses
        with an RCNN encoder: `l = sigmoid(W_l x + U s_{i-1} + b)`,
        `c1 <- l * c1 + (1 - l) * W_1 x`, `c2 <- l * c2 + (1 - l) * (c1_prev + W_2 x)`,
        `s_i = tanh(c2 + b_out)` over `x = [h_i; z_i]`).
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
        state_cell: str = "lstm",
    ) -> None:
        super().__init__()
        if state_cell not in ("lstm", "rcnn"):
            raise ConfigurationError(
                f"hardkuma_dependent: state_cell must be 'lstm' or 'rcnn', got {state_cell!r}"
            )
        self.decoding = decoding if decoding is not None else PaperDecoder()
        if not self.decoding.elementwise:
            raise ConfigurationError(
                f"hardkuma_dependent: decoding {type(self.decoding).__name__} needs the whole "
                "sequence, but dependent gates are decoded one by one; use 'paper' or 'threshold'"
            )
        self._encoder = encoder
        encoder_dim = encoder.get_output_dim()
        self._state_cell = state_cell
        if state_cell == "lstm":
            self._cell = torch.nn.LSTMCell(encoder_dim + 1, hidden_size)
        else:
            # The RCNN cell's input projections (for `l`, `c1`, `c2`, over `[h_i; z_i]`), its
            # recurrent projection for `l` (with the gate bias) and its output bias.
            self._state_input = torch.nn.Linear(encoder_dim + 1, 3 * hidden_size, bias=False)
            self._state_recurrent = torch.nn.Linear(hidden_size, hidden_size)
            self._state_bias = torch.nn.Parameter(torch.empty(hidden_size))
            bound = 1.0 / hidden_size**0.5
            for parameter in (self._state_input.weight, self._state_recurrent.weight):
                torch.nn.init.uniform_(parameter, -bound, bound)
            torch.nn.init.uniform_(self._state_recurrent.bias, -bound, bound)
            torch.nn.init.uniform_(self._state_bias, -bound, bound)
        self._hidden_size = hidden_size
        self._shape = HardKumaLayer(encoder_dim + hidden_size, shape or HardKumaShape())

    def get_input_dim(self) -> int:
        return self._encoder.get_input_dim()

    def _lstm_steps(
        self, encoded: torch.Tensor, mask: torch.BoolTensor
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        batch_size, seq_len, encoder_dim = encoded.shape
        state_size = self._hidden_size
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
        from_encoder = _valid_linear(encoded, mask, weight, bias)
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
            z_i = sample_or_decode(distribution, mask_i, self.decoding, self.training)
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
        return z_steps, shape_scores

    def _rcnn_steps(
        self, encoded: torch.Tensor, mask: torch.BoolTensor
    ) -> Tuple[List[torch.Tensor], List[torch.Tensor]]:
        batch_size, seq_len, encoder_dim = encoded.shape
        state_size = self._hidden_size
        hidden, first, second = (encoded.new_zeros(batch_size, state_size) for _ in range(3))
        # As for the LSTM cell: the parts of the shape scores and of the RCNN cell's projections
        # (`W_l x`, `W_1 x`, `W_2 x`) that read `h_i` only, for all steps in one matmul.
        a_layer, b_layer = self._shape.a_layer, self._shape.b_layer
        input_weight = self._state_input.weight
        weight = torch.cat(
            [a_layer.weight[:, :encoder_dim], b_layer.weight[:, :encoder_dim]]
            + [input_weight[:, :encoder_dim]]
        )
        bias = torch.cat([a_layer.bias, b_layer.bias, input_weight.new_zeros(3 * state_size)])
        # Shape: (batch_size, seq_len, 2 + 3 * state_size)
        from_encoder = _valid_linear(encoded, mask, weight, bias)
        # Shape: (state_size, 2 + state_size): what `s_{i-1}` adds to the shape scores and to `l`.
        from_state = torch.cat(
            [a_layer.weight[:, encoder_dim:], b_layer.weight[:, encoder_dim:]]
            + [self._state_recurrent.weight]
        ).t()
        # Shape: (2 + state_size,)
        state_bias = torch.cat([a_layer.bias.new_zeros(2), self._state_recurrent.bias])
        # Shape: (3 * state_size,): what z_i adds to the cell's projections.
        from_gate = input_weight[:, encoder_dim]
        z_steps, shape_scores = [], []
        for scores_i, mask_i in zip(from_encoder.unbind(1), mask.unbind(1)):
            # Shape: (batch_size, 2 + state_size)
            recurrent = torch.addmm(state_bias, hidden, from_state)
            shape_i = scores_i[:, :2] + recurrent[:, :2]
            # Batch shape: (batch_size,)
            distribution = self._shape.shape.distribution(shape_i[:, 0], shape_i[:, 1])
            z_i = sample_or_decode(distribution, mask_i, self.decoding, self.training)
            # Shape: (batch_size, 3 * state_size)
            projected = torch.addcmul(scores_i[:, 2:], z_i.unsqueeze(-1), from_gate)
            forget = (projected[:, :state_size] + recurrent[:, 2:]).sigmoid()
            new_first = torch.lerp(projected[:, state_size : 2 * state_size], first, forget)
            new_second = torch.lerp(first + projected[:, 2 * state_size :], second, forget)
            new_hidden = (new_second + self._state_bias).tanh()
            # Padded positions carry the state forward unchanged.
            keep = mask_i.unsqueeze(-1)
            hidden = torch.where(keep, new_hidden, hidden)
            first = torch.where(keep, new_first, first)
            second = torch.where(keep, new_second, second)
            z_steps.append(z_i)
            shape_scores.append(shape_i)
        return z_steps, shape_scores

    def forward(self, embedded_text: torch.Tensor, mask: torch.BoolTensor) -> GateOutput:
        # Shape: (batch_size, seq_len, encoder_dim)
        if self.training:
            self.warn_if_unconstrained()
        encoded = self._encoder(embedded_text, mask)
        batch_size, seq_len, encoder_dim = encoded.shape
        if self._state_cell == "lstm":
            z_steps, shape_scores = self._lstm_steps(encoded, mask)
        else:
            z_steps, shape_scores = self._rcnn_steps(encoded, mask)
        # Shape: (batch_size, seq_len)
        z = torch.stack(z_steps, dim=1) if seq_len else encoded.new_zeros(batch_size, 0)
        # P(z_i = 0 | z_<i) for all steps at once, from the scores the loop computed.
        # Shape: (batch_size, seq_len, 2)
        scores = (
            torch.stack(shape_scores, dim=1) if seq_len else encoded.new_zeros(batch_size, 0, 2)
        )
        p_zero = self._shape.shape.distribution(scores[..., 0], scores[..., 1]).prob_zero()
        self._expected_penalties = report_penalties(p_zero, mask)
        return GateOutput(z, nonzero_scores(p_zero, mask))

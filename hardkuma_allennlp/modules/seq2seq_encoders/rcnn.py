from typing import List, Optional

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders.seq2seq_encoder import Seq2SeqEncoder


def _rcnn_recurrence(
    neg_gate_inputs: torch.Tensor,
    first_inputs: torch.Tensor,
    second_inputs: torch.Tensor,
    mask: torch.Tensor,
    neg_recurrent_weight: torch.Tensor,
    initial_cell: torch.Tensor,
) -> torch.Tensor:
    """
    The recurrent part of the RCNN, for all directions at once (time axis first, already reversed
    for the backward direction).

    Written with `w_t = 1 - lambda_t = sigmoid(-(W_l x_t + b_l) - U_l h_{t-1})` and the shifted cell
    `e_t = c2_t + b`, for which `e_t = e_{t-1} + w_t (c1_{t-1} + W2 x_t + b - e_{t-1})` and
    `h_t = tanh(e_t)`, which needs about half the tensor ops per step of a literal transcription.

    # Parameters

    neg_gate_inputs : `torch.Tensor`
        `-(W_l x_t + b_l)`, shape `(seq_len, num_directions, batch_size, hidden_size)`, set to
        `-inf` at masked steps, which makes `w_t` exactly 0 there (states carried unchanged).
    first_inputs : `torch.Tensor`
        `W1 x_t`, same shape.
    second_inputs : `torch.Tensor`
        `W2 x_t + b`, same shape.
    mask : `torch.Tensor`
        Bool, shape `(seq_len, num_directions, batch_size, 1)`.
    neg_recurrent_weight : `torch.Tensor`
        `-U_l` transposed, shape `(num_directions, hidden_size, hidden_size)`.
    initial_cell : `torch.Tensor`
        `e_0 = b`, shape `(num_directions, batch_size, hidden_size)`.

    # Returns

    The states `h_t`, shape `(seq_len, num_directions, batch_size, hidden_size)`; at masked steps
    they are not zeroed here (the caller does that).
    """
    cell = initial_cell
    first_cell = torch.zeros_like(initial_cell)
    hidden = torch.zeros_like(initial_cell)
    outputs: List[torch.Tensor] = []
    neg_gates = neg_gate_inputs.unbind(0)
    firsts = first_inputs.unbind(0)
    seconds = second_inputs.unbind(0)
    masks = mask.unbind(0)
    for t in range(len(neg_gates)):
        # Shape: (num_directions, batch_size, hidden_size)
        write = torch.sigmoid(torch.baddbmm(neg_gates[t], hidden, neg_recurrent_weight))
        # Uses c1_{t-1}, so it comes before the update of c1.
        cell = torch.addcmul(cell, write, first_cell + seconds[t] - cell)
        first_cell = torch.addcmul(first_cell, write, firsts[t] - first_cell)
        candidate = torch.tanh(cell)
        hidden = torch.where(masks[t], candidate, hidden)
        outputs.append(candidate)
    return torch.stack(outputs, dim=0)


@Seq2SeqEncoder.register("rcnn")
class RCNN(Seq2SeqEncoder):
    """
    The bigram recurrent convolutional network (RCNN) of Lei, Barzilay & Jaakkola (2016),
    [Rationalizing Neural Predictions](https://arxiv.org/abs/1606.04155), used as the encoder of
    the BeerAdvocate models of Bastings, Aziz & Titov (2019), [Interpretable Neural Predictions
    with Differentiable Binary Variables](https://arxiv.org/abs/1905.08160), appendix B.1.1.

    For each direction, with zero initial states:

        lambda_t = sigmoid(W_l x_t + U_l h_{t-1} + b_l)
        c1_t = lambda_t * c1_{t-1} + (1 - lambda_t) * W1 x_t
        c2_t = lambda_t * c2_{t-1} + (1 - lambda_t) * (c1_{t-1} + W2 x_t)
        h_t = tanh(c2_t + b)

    At masked positions the states `h`, `c1`, `c2` are carried forward unchanged and the output
    is zero. The backward direction (separate parameters) runs right-to-left over the whole
    padded sequence; because padding carries the zero initial state, this equals running it on
    each sequence's own valid tokens. The input projections `W_l x`, `W1 x`, `W2 x` of all
    directions are computed for the whole sequence in one matmul; only `U_l h_{t-1}` is left to
    the loop, which runs both directions in the same steps (one batched matmul per step).
    Neither `torch.jit.script` of the loop nor a hand-written backward pass measured faster, so
    autograd differentiates the plain loop.

    Registered as a `Seq2SeqEncoder` with name "rcnn".

    # Parameters

    input_dim : `int`, required
        The dimension of the input vectors.
    hidden_size : `int`, required
        The dimension of `h_t` per direction.
    bidirectional : `bool`, optional (default = `False`)
        If `True`, a backward RCNN is run as well and its states are concatenated after the
        forward ones (output dimension `2 * hidden_size`).
    """

    def __init__(self, input_dim: int, hidden_size: int, bidirectional: bool = False) -> None:
        super().__init__(stateful=False)
        if input_dim < 1 or hidden_size < 1:
            raise ConfigurationError(
                f"input_dim and hidden_size must be positive, got {input_dim} and {hidden_size}"
            )
        self._input_dim = input_dim
        self._hidden_size = hidden_size
        self._bidirectional = bidirectional
        self._num_directions = 2 if bidirectional else 1
        # Rows: for each direction, W_l, W1, W2 (each hidden_size x input_dim).
        self.input_weight = torch.nn.Parameter(
            torch.empty(self._num_directions * 3 * hidden_size, input_dim)
        )
        # b_l of each direction.
        self.gate_bias = torch.nn.Parameter(torch.empty(self._num_directions, hidden_size))
        # U_l of each direction, stored transposed: h_{t-1} @ recurrent_weight[d].
        self.recurrent_weight = torch.nn.Parameter(
            torch.empty(self._num_directions, hidden_size, hidden_size)
        )
        # b of each direction.
        self.output_bias = torch.nn.Parameter(torch.empty(self._num_directions, hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for chunk in self.input_weight.data.split(self._hidden_size, dim=0):
            torch.nn.init.xavier_uniform_(chunk)
        for direction in range(self._num_directions):
            torch.nn.init.orthogonal_(self.recurrent_weight.data[direction])
        torch.nn.init.zeros_(self.gate_bias)
        torch.nn.init.zeros_(self.output_bias)

    def get_input_dim(self) -> int:
        return self._input_dim

    def get_output_dim(self) -> int:
        return self._num_directions * self._hidden_size

    def is_bidirectional(self) -> bool:
        return self._bidirectional

    def forward(
        self, inputs: torch.Tensor, mask: Optional[torch.BoolTensor] = None
    ) -> torch.Tensor:
        """
        # Parameters

        inputs : `torch.Tensor`
            Shape `(batch_size, seq_len, input_dim)`.
        mask : `torch.BoolTensor`, optional
            Shape `(batch_size, seq_len)`; `None` means every position is valid.

        # Returns

        `torch.Tensor` of shape `(batch_size, seq_len, num_directions * hidden_size)`.
        """
        batch_size, seq_len, _ = inputs.size()
        num_directions, hidden_size = self._num_directions, self._hidden_size
        if seq_len == 0:
            return inputs.new_zeros(batch_size, 0, self.get_output_dim())
        if mask is None:
            mask = inputs.new_ones(batch_size, seq_len, dtype=torch.bool)
        mask = mask.bool()
        # The backward direction reads the time axis reversed. Reversing the (narrow) inputs
        # rather than the (wide) projections saves two full-size copies forward and backward.
        # Shape: (num_directions, batch_size, seq_len, input_dim)
        if self._bidirectional:
            directions = torch.stack([inputs, inputs.flip(1)])
            step_mask = torch.stack([mask, mask.flip(1)])
        else:
            directions = inputs.unsqueeze(0)
            step_mask = mask.unsqueeze(0)
        # All input projections (W_l x, W1 x, W2 x of every direction) in one batched matmul.
        # Shape: (num_directions, batch_size, seq_len, 3 * hidden_size)
        weight = self.input_weight.view(num_directions, 3 * hidden_size, -1)
        projections = torch.matmul(directions, weight.transpose(1, 2).unsqueeze(1))
        # Shape: (seq_len, num_directions, batch_size, 3 * hidden_size), a strided view (making
        # it contiguous costs a copy and measured no faster).
        projections = projections.permute(2, 0, 1, 3)
        gate_inputs, first_inputs, second_inputs = projections.split(hidden_size, dim=-1)
        # Shape: (seq_len, num_directions, batch_size, 1)
        step_mask = step_mask.permute(2, 0, 1).unsqueeze(-1)
        # Shape: (num_directions, 1, hidden_size)
        gate_bias = self.gate_bias.unsqueeze(1)
        output_bias = self.output_bias.unsqueeze(1)
        neg_gate_inputs = (-gate_inputs - gate_bias).masked_fill(~step_mask, float("-inf"))
        # Shape: (seq_len, num_directions, batch_size, hidden_size)
        states = _rcnn_recurrence(
            neg_gate_inputs,
            first_inputs,
            second_inputs + output_bias,
            step_mask,
            -self.recurrent_weight,
            output_bias.expand(num_directions, batch_size, hidden_size),
        )
        states = states * step_mask
        if self._bidirectional:
            # Shape: (seq_len, batch_size, 2 * hidden_size)
            states = torch.cat([states[:, 0], states[:, 1].flip(0)], dim=-1)
        else:
            states = states[:, 0]
        # Shape: (batch_size, seq_len, num_directions * hidden_size), a view.
        return states.transpose(0, 1)

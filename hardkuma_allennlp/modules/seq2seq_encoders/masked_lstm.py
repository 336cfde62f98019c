import torch
from allennlp.modules import Seq2SeqEncoder


def reverse_within_lengths(lengths: torch.Tensor, seq_len: int) -> torch.Tensor:
    """
    Index that reverses each right-padded sequence within its own length and leaves padding where
    it is: position `t` maps to `length - 1 - t` for `t < length`, to `t` otherwise. Applying it
    twice gives the identity. Shape: `(batch_size, seq_len)`.
    """
    positions = torch.arange(seq_len, device=lengths.device).unsqueeze(0)
    lengths = lengths.unsqueeze(1)
    return torch.where(positions < lengths, lengths - 1 - positions, positions)


@Seq2SeqEncoder.register("masked_lstm")
class MaskedLstm(Seq2SeqEncoder):
    """
    A one-layer (optionally bidirectional) LSTM over right-padded batches that runs on the padded
    tensor directly, without sorting and packing: the forward direction reads the batch as it is
    (padding comes after every valid token, so it cannot reach a valid output), and the backward
    direction reads each sequence reversed within its own length. Outputs at valid positions are
    exactly those of a packed LSTM; outputs at padded positions are 0.

    Why: on a CPU, a packed LSTM narrows its batch at every time step, and in the backward pass
    every narrowing materialises a zero gradient of the full size; and sorting, packing and
    unpacking cost more than they save on short sentences. Bucketed batches (similar lengths)
    leave little padding to run over. Used for the gate and (pooled with `pooled_seq2seq`,
    `"last"`) the classifier of the SST models.

    Registered as a `Seq2SeqEncoder` with name "masked_lstm".

    # Parameters

    input_size : `int`
    hidden_size : `int`
        Per direction; the output has `2 * hidden_size` features when bidirectional.
    bidirectional : `bool`, optional (default = `False`)
    """

    def __init__(self, input_size: int, hidden_size: int, bidirectional: bool = False) -> None:
        super().__init__(stateful=False)
        self._input_size = input_size
        self._hidden_size = hidden_size
        self._forward = torch.nn.LSTM(input_size, hidden_size, batch_first=True)
        self._backward = (
            torch.nn.LSTM(input_size, hidden_size, batch_first=True) if bidirectional else None
        )

    def get_input_dim(self) -> int:
        return self._input_size

    def get_output_dim(self) -> int:
        return self._hidden_size * (2 if self._backward is not None else 1)

    def is_bidirectional(self) -> bool:
        return self._backward is not None

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        # Shape: (batch_size, seq_len, hidden_size)
        outputs, _ = self._forward(inputs)
        if self._backward is not None:
            # Shape: (batch_size, seq_len, 1), broadcast over features by `gather`.
            index = reverse_within_lengths(mask.sum(-1), inputs.size(1)).unsqueeze(-1)
            reversed_inputs = inputs.gather(1, index.expand(-1, -1, inputs.size(-1)))
            backward, _ = self._backward(reversed_inputs)
            backward = backward.gather(1, index.expand(-1, -1, backward.size(-1)))
            outputs = torch.cat([outputs, backward], dim=-1)
        return outputs * mask.unsqueeze(-1).to(outputs.dtype)

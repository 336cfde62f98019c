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


def split_by_length(lengths: torch.Tensor, min_saving: float = 0.1, overhead: int = 2):
    """
    Rows of a batch, longest first, in one or two groups: split where running each group padded
    to its own longest row costs least, if that saves at least `min_saving` of the cost of
    running the whole batch padded to its longest row. A group's cost is its steps times its rows
    plus `overhead` (the fixed cost of a step, in rows: measured on a CPU for SST-sized LSTMs).
    Returns the row order and the groups' sizes.
    """
    # Shape: (batch_size,), descending
    sorted_lengths, order = lengths.sort(descending=True, stable=True)
    longest = sorted_lengths[:1].to(torch.long)
    batch_size = lengths.numel()
    if batch_size < 2:
        return order, [batch_size]
    # Cost of the split after row s (s = 1 .. batch_size - 1).
    split = torch.arange(1, batch_size, device=lengths.device)
    costs = (split + overhead) * longest + (batch_size - split + overhead) * sorted_lengths[1:]
    best = int(costs.argmin())
    whole = (batch_size + overhead) * int(longest)
    if whole == 0 or costs[best] > (1.0 - min_saving) * whole:
        return order, [batch_size]
    return order, [best + 1, batch_size - best - 1]


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
    unpacking cost more than they save on short sentences. Instead, a batch of mixed lengths
    (e.g. drawn at random) runs as two groups of rows, the longer and the shorter ones, each
    padded to its own longest row, where that saves at least a tenth of the work
    (`split_by_length`); the outputs are the same. Used for the gate and (pooled with
    `pooled_seq2seq`, `"last"`) the classifier of the SST models.

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
        lengths = mask.sum(-1)
        order, sizes = split_by_length(lengths)
        if len(sizes) == 1:
            return self._padded(inputs, mask)
        # Two groups of rows of similar length, each run padded to its own longest row only.
        seq_len, parts = inputs.size(1), []
        for rows in order.split(sizes):
            steps = int(lengths[rows].max())
            if steps == 0:  # rows without any valid token (e.g. empty rationales) encode to 0
                part = inputs.new_zeros(rows.numel(), 0, self.get_output_dim())
            else:
                part = self._padded(inputs[rows, :steps], mask[rows, :steps])
            parts.append(torch.nn.functional.pad(part, (0, 0, 0, seq_len - steps)))
        # Shape: (batch_size, seq_len, output_dim), back in the batch's order
        return torch.cat(parts).index_select(0, order.argsort())

    def _padded(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
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

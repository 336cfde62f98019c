import math
import weakref
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders.seq2seq_encoder import Seq2SeqEncoder


def _packed_ranks(active: List[int], device: torch.device) -> torch.Tensor:
    """Each packed step's row rank within its step (`0 .. active[t] - 1`, step after step)."""
    counts = torch.tensor(active, device=device)
    starts = counts.cumsum(0) - counts
    return torch.arange(int(counts.sum()), device=device) - starts.repeat_interleave(counts)


def _flushes_denormals() -> bool:
    """Whether the CPU flushes subnormal floats to zero now (PyTorch has no getter: a subnormal
    times one is zero then)."""
    return bool((torch.tensor([1e-39]) * 1.0).item() == 0.0)


@contextmanager
def _denormals_flushed(like: torch.Tensor) -> Iterator[None]:
    """
    On the CPU, subnormal floats (below 1.2e-38) flushed to zero inside the block, and the
    previous setting restored after it. The gradients that the backward recurrence carries
    through many steps decay into the subnormal range, where each arithmetic operation on them
    costs many times a normal one; flushed, a Beer training step takes about half the time
    (benchmarks/beer_speed.py). A subnormal is 1e-31 of a float32's resolution at 1e-7, so
    flushing it changes nothing a float32 result can show.
    """
    if like.device.type != "cpu":
        yield
        return
    before = _flushes_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


class _ScratchPool:
    """
    The large buffers of one RCNN (input projections, states, their gradients), kept between
    calls on the CPU. Each training step would otherwise allocate about a gigabyte afresh, which
    the C allocator takes from (and returns to) the operating system every time, so that every
    step pays for page faults on all of it.

    A buffer is lent out as a fresh view; it is free again once that view object is gone, i.e.
    when autograd has released the saved tensor (after a backward pass without `retain_graph`,
    or when the graph is dropped). A request that no free buffer fits gets a new buffer, and the
    largest free buffer that is too small is let go, so the pool holds about what one
    forward and backward pass needs. On other devices (whose allocators cache already) it simply
    allocates. Copies and pickles of a module start with an empty pool.
    """

    def __init__(self) -> None:
        # Pairs of a flat buffer and a weak reference to the view lent out (None: never lent).
        self._entries: List[list] = []

    def take(self, shape: Sequence[int], like: torch.Tensor) -> torch.Tensor:
        if like.device.type != "cpu":
            return like.new_empty(shape)
        numel = math.prod(shape)
        free = [
            entry
            for entry in self._entries
            if entry[0].dtype == like.dtype and (entry[1] is None or entry[1]() is None)
        ]
        fitting = [entry for entry in free if entry[0].numel() >= numel]
        if fitting:
            entry = min(fitting, key=lambda entry: entry[0].numel())
        else:
            if free:
                largest = max(free, key=lambda entry: entry[0].numel())
                self._entries = [entry for entry in self._entries if entry is not largest]
            entry = [like.new_empty(numel), None]
            self._entries.append(entry)
        view = entry[0][:numel].view(shape)
        entry[1] = weakref.ref(view)
        return view

    def __deepcopy__(self, memo) -> "_ScratchPool":
        return _ScratchPool()

    def __getstate__(self) -> dict:
        return {"_entries": []}


class _RCNNFunction(torch.autograd.Function):
    """
    The RCNN of all directions at once (input projections and recurrence), with a hand-written
    backward pass, over packed sequences: as in PyTorch's `PackedSequence`, the rows are sorted
    by length (longest first) and only valid steps are stored, step after step, so step `t`
    holds the first `active[t]` rows (those longer than `t`). Each direction reads its steps in
    its own order (the backward one from each row's last token). No work is done for padding,
    in the loop or in the matmuls over all steps.

    Per direction, with `w_t = 1 - lambda_t = sigmoid(-(W_l x_t + b_l) - U_l h_{t-1})` and the
    shifted cell `e_t = c2_t + b`:

        e_t = e_{t-1} + w_t (c1_{t-1} + W2 x_t + b - e_{t-1})
        c1_t = c1_{t-1} + w_t (W1 x_t - c1_{t-1})
        h_t = tanh(e_t)

    The input projections of all steps are three batched matmuls before the loop; the loop
    writes every step's states into buffers taken once per call from the module's `pool`
    (`w_t` in place over `W_l x_t`, the derivatives of `e_t` and `c1_t` by `w_t` over
    `W2 x_t + b` and `W1 x_t`), so a step allocates nothing and records no autograd graph. The
    backward pass walks the steps in reverse over the same buffers and leaves every weight
    gradient to one matmul over all steps at the end, rather than a small one per step.

    forward(inputs, index, weight, bias, active, neg_recurrent_weight, initial_cell, pool)
        -> outputs

    inputs : `(batch_size * seq_len, input_dim)`, the padded inputs, flat.
    index : `(num_directions, total)`: for each direction's packed steps (`total = sum(active)`),
        the row of `inputs` it reads (and of the outputs it writes).
    weight, bias : `(num_directions, 3 * hidden_size, input_dim)` and
        `(num_directions, 3 * hidden_size)`: the rows of `-W_l`, `W1`, `W2` and `-b_l`, 0, `b`.
    active : the number of rows at each step, a non-increasing list of positive ints.
    neg_recurrent_weight : `-U_l` transposed, `(num_directions, hidden_size, hidden_size)`.
    initial_cell : `e_0 = b`, `(num_directions, batch_size, hidden_size)`.
    pool : the module's `_ScratchPool`.
    outputs : `(batch_size * seq_len, num_directions * hidden_size)`, `h_t` of each direction
        at the position it read, zero at padding.
    """

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, *args) -> torch.Tensor:  # type: ignore
        with _denormals_flushed(inputs):
            return _RCNNFunction._forward(ctx, inputs, *args)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_outputs: torch.Tensor):  # type: ignore
        with _denormals_flushed(grad_outputs):
            return _RCNNFunction._backward(ctx, grad_outputs)

    @staticmethod
    def _previous(active: List[int], batch_size: int) -> List[int]:
        """Where each step's previous states start in the `hiddens` buffer, whose first
        `batch_size` rows are the initial (zero) states and then the packed steps."""
        starts, offset = [0], batch_size
        for n in active[:-1]:
            starts.append(offset)
            offset += n
        return starts

    @staticmethod
    def _forward(
        ctx,
        flat_inputs: torch.Tensor,
        index: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        active: List[int],
        neg_recurrent_weight: torch.Tensor,
        initial_cell: torch.Tensor,
        pool: _ScratchPool,
    ) -> torch.Tensor:
        num_directions, total = index.shape
        batch_size = initial_cell.size(1)
        hidden_size = neg_recurrent_weight.size(-1)
        # Shape: (num_directions, total, input_dim)
        inputs = torch.stack([flat_inputs.index_select(0, rows) for rows in index])
        # W_l x_t + ..., W1 x_t and W2 x_t + b of all steps.
        # Shape: (3, num_directions, total, hidden_size)
        projections = pool.take((3, num_directions, total, hidden_size), inputs)
        for projection, w, b in zip(
            projections, weight.split(hidden_size, 1), bias.split(hidden_size, 1)
        ):
            torch.baddbmm(b.unsqueeze(1), inputs, w.transpose(1, 2), out=projection)
        writes, first_inputs, second_inputs = projections.unbind(0)
        # The initial states (zero), then the state after each packed step.
        # Shape: (num_directions, batch_size + total, hidden_size)
        hiddens = pool.take((num_directions, batch_size + total, hidden_size), inputs)
        hiddens[:, :batch_size] = 0.0
        # The cells e_t and c1_t are only needed by the next step: what the backward pass needs
        # of them, their derivatives by w_t, overwrite W2 x_t + b and W1 x_t in place.
        # Shape: (num_directions, batch_size, hidden_size)
        cell = initial_cell.clone()
        first_cell = torch.zeros_like(cell)
        previous_starts = _RCNNFunction._previous(active, batch_size)
        offset = 0
        for n, previous in zip(active, previous_starts):
            step = slice(offset, offset + n)
            write = writes[:, step]
            write.baddbmm_(hiddens[:, previous : previous + n], neg_recurrent_weight).sigmoid_()
            # d e_t / d w_t = c1_{t-1} + W2 x_t + b - e_{t-1}, d c1_t / d w_t = W1 x_t - c1_{t-1}.
            cell_slope = second_inputs[:, step].add_(first_cell[:, :n]).sub_(cell[:, :n])
            first_cell_slope = first_inputs[:, step].sub_(first_cell[:, :n])
            cell[:, :n].addcmul_(write, cell_slope)
            first_cell[:, :n].addcmul_(write, first_cell_slope)
            torch.tanh(cell[:, :n], out=hiddens[:, batch_size + offset : batch_size + offset + n])
            offset += n
        # `first_inputs` and `second_inputs` now hold the derivatives of c1_t and e_t by w_t.
        # (The pool lends `projections` and `hiddens` again once autograd lets them go.)
        ctx.save_for_backward(inputs, index, weight, neg_recurrent_weight, projections, hiddens)
        ctx.active = active
        ctx.previous_starts = previous_starts
        ctx.pool = pool
        ctx.num_positions = flat_inputs.size(0)
        # Shape: (batch_size * seq_len, num_directions * hidden_size)
        outputs = flat_inputs.new_zeros(flat_inputs.size(0), num_directions * hidden_size)
        for direction, rows in enumerate(index):
            columns = slice(direction * hidden_size, (direction + 1) * hidden_size)
            outputs[:, columns].index_copy_(0, rows, hiddens[direction, batch_size:])
        return outputs

    @staticmethod
    def _backward(ctx, grad_outputs: torch.Tensor):
        inputs, index, weight, neg_recurrent_weight, projections, hiddens = ctx.saved_tensors
        active = ctx.active
        writes, first_cell_slopes, cell_slopes = projections.unbind(0)
        num_directions, total, input_dim = inputs.shape
        batch_size = hiddens.size(1) - total
        hidden_size = neg_recurrent_weight.size(-1)
        # The gradient of each packed step's output.
        # Shape: (num_directions, total, hidden_size)
        grad_states = torch.stack(
            [
                grad_outputs[
                    :, direction * hidden_size : (direction + 1) * hidden_size
                ].index_select(0, rows)
                for direction, rows in enumerate(index)
            ]
        )
        # Gradients with respect to -(W_l x_t + b_l) + ..., W1 x_t and W2 x_t + b.
        # Shape: (num_directions, total, 3 * hidden_size)
        grad_projections = ctx.pool.take((num_directions, total, 3 * hidden_size), inputs)
        grad_gates, grad_firsts, grad_seconds = grad_projections.split(hidden_size, dim=-1)
        # Gradients with respect to the states after the step being processed.
        # Shape: (num_directions, batch_size, hidden_size)
        grad_hidden = inputs.new_zeros(num_directions, batch_size, hidden_size)
        grad_cell = torch.zeros_like(grad_hidden)
        grad_first_cell = torch.zeros_like(grad_hidden)
        grad_step = torch.empty_like(grad_hidden)
        scratch = torch.empty_like(grad_hidden)
        recurrent_weight_t = neg_recurrent_weight.transpose(1, 2)
        offset = total
        for n in reversed(active):
            offset -= n
            step = slice(offset, offset + n)
            write = writes[:, step]
            gradient, work = grad_step[:, :n], scratch[:, :n]
            # The gradient reaching h_t: from the output at t and from later steps.
            torch.add(grad_hidden[:, :n], grad_states[:, step], out=gradient)
            # Through h_t = tanh(e_t): times 1 - h_t^2.
            state = hiddens[:, batch_size + offset : batch_size + offset + n]
            torch.mul(state, state, out=work)
            work.mul_(gradient)
            grad_cell[:, :n].add_(gradient).sub_(work)
            torch.mul(grad_cell[:, :n], write, out=grad_seconds[:, step])
            torch.mul(grad_first_cell[:, :n], write, out=grad_firsts[:, step])
            # Through e_t and c1_t to w_t.
            torch.mul(cell_slopes[:, step], grad_cell[:, :n], out=work)
            work.addcmul_(first_cell_slopes[:, step], grad_first_cell[:, :n])
            # Through the sigmoid: times w_t (1 - w_t).
            torch.addcmul(write, write, write, value=-1.0, out=gradient)
            torch.mul(work, gradient, out=grad_gates[:, step])
            # To the states before the step.
            grad_cell[:, :n].sub_(grad_seconds[:, step])
            grad_first_cell[:, :n].sub_(grad_firsts[:, step]).add_(grad_seconds[:, step])
            for direction in range(num_directions):
                torch.mm(
                    grad_gates[direction, step],
                    recurrent_weight_t[direction],
                    out=grad_hidden[direction, :n],
                )
        # The weight gradients, each one matmul over all steps.
        grad_inputs = grad_weight = grad_bias = grad_recurrent = None
        if ctx.needs_input_grad[0]:
            # Shape: (num_directions, total, input_dim), added back at the positions read.
            grad_packed = torch.bmm(grad_projections, weight)
            grad_inputs = inputs.new_zeros(ctx.num_positions, input_dim)
            for rows, grad in zip(index, grad_packed):
                grad_inputs.index_add_(0, rows, grad)
        if ctx.needs_input_grad[2]:
            grad_weight = torch.bmm(grad_projections.transpose(1, 2), inputs)
        if ctx.needs_input_grad[3]:
            grad_bias = grad_projections.sum(1)
        if ctx.needs_input_grad[5]:
            # The state before each packed step.
            # Shape: (num_directions, total, hidden_size)
            starts = torch.tensor(ctx.previous_starts, device=inputs.device)
            counts = torch.tensor(active, device=inputs.device)
            before = starts.repeat_interleave(counts) + _packed_ranks(active, inputs.device)
            states = hiddens.index_select(1, before)
            grad_recurrent = torch.bmm(states.transpose(1, 2), grad_gates)
        return grad_inputs, None, grad_weight, grad_bias, None, grad_recurrent, grad_cell, None


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
    is zero, so each sequence is its valid tokens run in a row; the backward direction (separate
    parameters) reads them from the last one. The sequences are packed, as PyTorch's
    `PackedSequence` packs them: sorted by length, only valid tokens stored, so no work is done
    for padding (real BeerAdvocate batches are about half padding). The input projections
    `W_l x`, `W1 x`, `W2 x` of all steps are batched matmuls before the loop; only `U_l h_{t-1}`
    is left to the loop, which runs both directions in the same steps, writes into large buffers
    that the module keeps between calls on the CPU (see `_ScratchPool`), and has a hand-written
    backward pass that computes the gradients of all weights with one matmul over all steps each
    (`benchmarks/rcnn_speed.py` times it).

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
        self._scratch = _ScratchPool()
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
        if seq_len == 0 or batch_size == 0:
            return inputs.new_zeros(batch_size, seq_len, self.get_output_dim())
        if mask is None:
            mask = inputs.new_ones(batch_size, seq_len, dtype=torch.bool)
        mask = mask.bool()
        # Shape: (batch_size,)
        lengths = mask.sum(-1)
        # Rows sorted by length, longest first: at step t the rows longer than t are the first
        # `active[t]`. Masked positions carry the states, so a row is its valid tokens run in a
        # row (a mask with holes needs no special case).
        sorted_lengths, rows = lengths.sort(descending=True)
        steps = int(sorted_lengths[0])
        if steps == 0:
            return inputs.new_zeros(batch_size, seq_len, self.get_output_dim())
        counts = torch.bincount(sorted_lengths, minlength=steps + 1)
        active = (batch_size - counts.cumsum(0))[:steps].tolist()
        # Each packed step's (step, rank), step after step as a PackedSequence holds them.
        # Shape: (total,)
        step = torch.repeat_interleave(
            torch.arange(steps, device=inputs.device),
            torch.tensor(active, device=inputs.device),
        )
        row = rows[_packed_ranks(active, inputs.device)]
        # The valid positions of each row, in order. Shape: (batch_size, seq_len)
        valid_positions = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices
        # The forward direction reads a row's t-th valid token at step t, the backward one its
        # t-th from the end. Shape: (num_directions, total)
        reading = [valid_positions[row, step]]
        if self._bidirectional:
            reading.append(valid_positions[row, lengths[row] - 1 - step])
        index = torch.stack(reading) + (row * seq_len).unsqueeze(0)
        # The rows of -W_l, W1, W2 and -b_l, 0, b per direction.
        # Shape: (num_directions, 3 * hidden_size, input_dim) and (num_directions, 3 * hidden_size)
        weight = self.input_weight.view(num_directions, 3, hidden_size, -1)
        weight = torch.cat([-weight[:, :1], weight[:, 1:]], dim=1).flatten(1, 2)
        bias = torch.cat(
            [-self.gate_bias, torch.zeros_like(self.gate_bias), self.output_bias], dim=-1
        )
        initial_cell = self.output_bias.unsqueeze(1).expand(num_directions, batch_size, hidden_size)
        # Shape: (batch_size * seq_len, num_directions * hidden_size)
        outputs = _RCNNFunction.apply(
            inputs.reshape(batch_size * seq_len, -1),
            index,
            weight,
            bias,
            active,
            -self.recurrent_weight,
            initial_cell,
            self._scratch,
        )
        return outputs.view(batch_size, seq_len, -1)

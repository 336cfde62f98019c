import math
import weakref
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders.seq2seq_encoder import Seq2SeqEncoder


def _step_columns(tensor: torch.Tensor, t: int, hidden_size: int) -> List[torch.Tensor]:
    """
    The views of `tensor` (`(batch_size, seq_len, num_directions * hidden_size)`) that hold step
    `t` of each direction: position `t` of the forward direction, position `seq_len - 1 - t` of
    the backward one (which reads the time axis reversed).
    """
    seq_len, num_directions = tensor.size(1), tensor.size(2) // hidden_size
    return [
        tensor[:, t if d == 0 else seq_len - 1 - t, d * hidden_size : (d + 1) * hidden_size]
        for d in range(num_directions)
    ]


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
    backward pass.

    Per direction, with `w_t = 1 - lambda_t = sigmoid(-(W_l x_t + b_l) - U_l h_{t-1})` (0 at
    masked steps, which carries every state unchanged) and the shifted cell `e_t = c2_t + b`:

        e_t = e_{t-1} + w_t (c1_{t-1} + W2 x_t + b - e_{t-1})
        c1_t = c1_{t-1} + w_t (W1 x_t - c1_{t-1})
        h_t = tanh(e_t) at valid steps, h_{t-1} at masked ones

    The input projections of all steps are three batched matmuls before the loop; the loop
    writes every step's states into buffers taken once per call from the module's `pool`
    (`w_t` in place over `W_l x_t`, the derivatives of `e_t` and `c1_t` by `w_t` over
    `W2 x_t + b` and `W1 x_t`), so a step allocates nothing and records no autograd graph. The
    backward pass walks the steps in reverse over the same buffers and leaves every weight
    gradient to one matmul over all steps at the end, rather than a small one per step.

    forward(inputs, weight, bias, valid, neg_recurrent_weight, initial_cell, pool) -> outputs

    inputs : `(num_directions, seq_len, batch_size, input_dim)`, time reversed for the backward
        direction.
    weight, bias : `(num_directions, 3 * hidden_size, input_dim)` and
        `(num_directions, 3 * hidden_size)`: the rows of `-W_l`, `W1`, `W2` and `-b_l`, 0, `b`.
    valid : `(num_directions, seq_len, batch_size, 1)`, bool.
    neg_recurrent_weight : `-U_l` transposed, `(num_directions, hidden_size, hidden_size)`.
    initial_cell : `e_0 = b`, `(num_directions, batch_size, hidden_size)`.
    pool : the module's `_ScratchPool`.
    outputs : `(batch_size, seq_len, num_directions * hidden_size)`, zero at masked steps, the
        backward direction's states put back in left-to-right order.
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
    def _forward(
        ctx,
        inputs: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        valid: torch.Tensor,
        neg_recurrent_weight: torch.Tensor,
        initial_cell: torch.Tensor,
        pool: _ScratchPool,
    ) -> torch.Tensor:
        num_directions, seq_len, batch_size, input_dim = inputs.shape
        hidden_size = neg_recurrent_weight.size(-1)
        # Shape: (num_directions, seq_len, batch_size, 1), 1.0 at valid steps.
        mask = valid.to(inputs.dtype)
        # Shape: (num_directions, seq_len * batch_size, input_dim)
        flat_inputs = inputs.reshape(num_directions, -1, input_dim)
        # W_l x_t + ..., W1 x_t and W2 x_t + b of all steps.
        # Shape: (3, num_directions, seq_len, batch_size, hidden_size)
        projections = pool.take((3, num_directions, seq_len, batch_size, hidden_size), inputs)
        for projection, w, b in zip(
            projections, weight.split(hidden_size, 1), bias.split(hidden_size, 1)
        ):
            torch.baddbmm(
                b.unsqueeze(1),
                flat_inputs,
                w.transpose(1, 2),
                out=projection.view(num_directions, -1, hidden_size),
            )
        writes, first_inputs, second_inputs = projections.unbind(0)
        # The states after each step: index t + 1 holds h_t, index 0 the initial state.
        # Shape: (num_directions, seq_len + 1, batch_size, hidden_size)
        hiddens = pool.take((num_directions, seq_len + 1, batch_size, hidden_size), inputs)
        hiddens[:, 0] = 0.0
        # Shape: (batch_size, seq_len, num_directions * hidden_size)
        outputs = inputs.new_empty(batch_size, seq_len, num_directions * hidden_size)
        # The cells e_t and c1_t are only needed by the next step: what the backward pass needs
        # of them, their derivatives by w_t, overwrite W2 x_t + b and W1 x_t in place.
        # Shape: (num_directions, batch_size, hidden_size)
        cell = initial_cell.clone()
        first_cell = torch.zeros_like(cell)
        scratch = torch.empty_like(cell)
        for t in range(seq_len):
            write = writes[:, t]
            write.baddbmm_(hiddens[:, t], neg_recurrent_weight).sigmoid_().mul_(mask[:, t])
            # d e_t / d w_t = c1_{t-1} + W2 x_t + b - e_{t-1}, d c1_t / d w_t = W1 x_t - c1_{t-1}.
            cell_slope = second_inputs[:, t].add_(first_cell).sub_(cell)
            first_cell_slope = first_inputs[:, t].sub_(first_cell)
            cell.addcmul_(write, cell_slope)
            first_cell.addcmul_(write, first_cell_slope)
            torch.where(
                valid[:, t], torch.tanh(cell, out=scratch), hiddens[:, t], out=hiddens[:, t + 1]
            )
            for direction, output in enumerate(_step_columns(outputs, t, hidden_size)):
                torch.mul(hiddens[direction, t + 1], mask[direction, t], out=output)
        # `first_inputs` and `second_inputs` now hold the derivatives of c1_t and e_t by w_t.
        # (The pool lends `projections` and `hiddens` again once autograd lets them go.)
        ctx.save_for_backward(inputs, weight, mask, neg_recurrent_weight, projections, hiddens)
        ctx.pool = pool
        return outputs

    @staticmethod
    def _backward(ctx, grad_outputs: torch.Tensor):
        inputs, weight, mask, neg_recurrent_weight, projections, hiddens = ctx.saved_tensors
        writes, first_cell_slopes, cell_slopes = projections.unbind(0)
        num_directions, seq_len, batch_size, input_dim = inputs.shape
        hidden_size = neg_recurrent_weight.size(-1)
        # Gradients with respect to -(W_l x_t + b_l) + ..., W1 x_t and W2 x_t + b.
        # Shape: (num_directions, seq_len, batch_size, 3 * hidden_size)
        grad_projections = ctx.pool.take(
            (num_directions, seq_len, batch_size, 3 * hidden_size), inputs
        )
        grad_gates, grad_firsts, grad_seconds = grad_projections.split(hidden_size, dim=-1)
        # Gradients with respect to the states after the step being processed.
        # Shape: (num_directions, batch_size, hidden_size)
        grad_hidden = inputs.new_zeros(num_directions, batch_size, hidden_size)
        grad_cell = torch.zeros_like(grad_hidden)
        grad_first_cell = torch.zeros_like(grad_hidden)
        grad_step = torch.empty_like(grad_hidden)
        scratch = torch.empty_like(grad_hidden)
        recurrent_weight_t = neg_recurrent_weight.transpose(1, 2)
        for t in range(seq_len - 1, -1, -1):
            step_mask, write = mask[:, t], writes[:, t]
            # The gradient reaching h_t: from the output at t and from later steps.
            for direction, grad_output in enumerate(_step_columns(grad_outputs, t, hidden_size)):
                torch.add(grad_hidden[direction], grad_output, out=grad_step[direction])
            grad_step.mul_(step_mask)
            # At masked steps h_t = h_{t-1}: the gradient passes through.
            grad_hidden.addcmul_(grad_hidden, step_mask, value=-1.0)
            # Through h_t = tanh(e_t): times 1 - h_t^2.
            torch.mul(hiddens[:, t + 1], hiddens[:, t + 1], out=scratch)
            scratch.mul_(grad_step)
            grad_cell.add_(grad_step).sub_(scratch)
            torch.mul(grad_cell, write, out=grad_seconds[:, t])
            torch.mul(grad_first_cell, write, out=grad_firsts[:, t])
            # Through e_t and c1_t to w_t.
            torch.mul(cell_slopes[:, t], grad_cell, out=scratch)
            scratch.addcmul_(first_cell_slopes[:, t], grad_first_cell)
            # Through the sigmoid: times w_t (1 - w_t).
            torch.addcmul(write, write, write, value=-1.0, out=grad_step)
            torch.mul(scratch, grad_step, out=grad_gates[:, t])
            # To the states before the step.
            grad_cell.sub_(grad_seconds[:, t])
            grad_first_cell.sub_(grad_firsts[:, t]).add_(grad_seconds[:, t])
            grad_hidden.baddbmm_(grad_gates[:, t], recurrent_weight_t)
        # The weight gradients, each one matmul over all steps.
        # Shape: (num_directions, seq_len * batch_size, 3 * hidden_size)
        flat_grads = grad_projections.view(num_directions, -1, 3 * hidden_size)
        flat_inputs = inputs.reshape(num_directions, -1, input_dim)
        grad_inputs = grad_weight = grad_bias = grad_recurrent = None
        if ctx.needs_input_grad[0]:
            grad_inputs = torch.bmm(flat_grads, weight).view(inputs.shape)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.bmm(flat_grads.transpose(1, 2), flat_inputs)
        if ctx.needs_input_grad[2]:
            grad_bias = flat_grads.sum(1)
        if ctx.needs_input_grad[4]:
            # Shape: (num_directions, seq_len * batch_size, hidden_size)
            states = hiddens[:, :seq_len].reshape(num_directions, -1, hidden_size)
            grads = grad_gates.reshape(num_directions, -1, hidden_size)
            grad_recurrent = torch.bmm(states.transpose(1, 2), grads)
        return grad_inputs, grad_weight, grad_bias, None, grad_recurrent, grad_cell, None


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
    steps are batched matmuls before the loop; only `U_l h_{t-1}` is left to the loop, which runs
    both directions in the same steps (one batched matmul per step), writes into large buffers
    that the module keeps between calls on the CPU (about a gigabyte for a Beer batch; see
    `_ScratchPool`), and has a hand-written backward pass that computes the gradients of all
    weights with one matmul over all steps each (`benchmarks/rcnn_speed.py` times it).

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
        if seq_len == 0:
            return inputs.new_zeros(batch_size, 0, self.get_output_dim())
        if mask is None:
            mask = inputs.new_ones(batch_size, seq_len, dtype=torch.bool)
        # Time first. The backward direction reads the time axis reversed; reversing the
        # (narrow) inputs rather than the (wide) projections saves full-size copies.
        # Shape: (seq_len, batch_size, input_dim) and (seq_len, batch_size)
        inputs = inputs.transpose(0, 1)
        valid = mask.bool().t()
        if self._bidirectional:
            inputs = torch.stack([inputs, inputs.flip(0)])
            valid = torch.stack([valid, valid.flip(0)])
        else:
            inputs, valid = inputs.unsqueeze(0), valid.unsqueeze(0)
        # Shape: (num_directions, seq_len, batch_size, 1)
        valid = valid.unsqueeze(-1)
        # The rows of -W_l, W1, W2 and -b_l, 0, b per direction.
        # Shape: (num_directions, 3 * hidden_size, input_dim) and (num_directions, 3 * hidden_size)
        weight = self.input_weight.view(num_directions, 3, hidden_size, -1)
        weight = torch.cat([-weight[:, :1], weight[:, 1:]], dim=1).flatten(1, 2)
        bias = torch.cat(
            [-self.gate_bias, torch.zeros_like(self.gate_bias), self.output_bias], dim=-1
        )
        initial_cell = self.output_bias.unsqueeze(1).expand(num_directions, batch_size, hidden_size)
        # Shape: (batch_size, seq_len, num_directions * hidden_size)
        return _RCNNFunction.apply(
            inputs,
            weight,
            bias,
            valid,
            -self.recurrent_weight,
            initial_cell,
            self._scratch,
        )

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder

from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import (
    RCNN,
    _denormals_flushed,
    _flushes_denormals,
)


def reference_direction(rcnn: RCNN, direction: int, x: torch.Tensor) -> torch.Tensor:
    """Lei et al.'s bigram RCNN, step by step as written in appendix B.1.1, on one unpadded
    sequence `x` of shape (length, input_dim), left to right."""
    hidden = rcnn._hidden_size
    weights = rcnn.input_weight[direction * 3 * hidden : (direction + 1) * 3 * hidden]
    w_l, w_1, w_2 = weights[:hidden], weights[hidden : 2 * hidden], weights[2 * hidden :]
    u_l = rcnn.recurrent_weight[direction].t()  # stored transposed
    b_l, b = rcnn.gate_bias[direction], rcnn.output_bias[direction]
    h = torch.zeros(hidden, dtype=x.dtype)
    c1 = torch.zeros(hidden, dtype=x.dtype)
    c2 = torch.zeros(hidden, dtype=x.dtype)
    outputs = []
    for x_t in x:
        lam = torch.sigmoid(w_l @ x_t + u_l @ h + b_l)
        new_c1 = lam * c1 + (1 - lam) * (w_1 @ x_t)
        new_c2 = lam * c2 + (1 - lam) * (c1 + w_2 @ x_t)
        c1, c2 = new_c1, new_c2
        h = torch.tanh(c2 + b)
        outputs.append(h)
    return torch.stack(outputs)


def reference(rcnn: RCNN, x: torch.Tensor) -> torch.Tensor:
    """Both directions on one unpadded sequence: (length, num_directions * hidden)."""
    forward = reference_direction(rcnn, 0, x)
    if not rcnn.is_bidirectional():
        return forward
    backward = reference_direction(rcnn, 1, x.flip(0)).flip(0)
    return torch.cat([forward, backward], dim=-1)


def make(input_dim=5, hidden=4, bidirectional=False, seed=0):
    torch.manual_seed(seed)
    rcnn = RCNN(input_dim, hidden, bidirectional=bidirectional).double()
    # Non-zero biases, so that a wrong placement of b_l or b shows.
    with torch.no_grad():
        rcnn.gate_bias.uniform_(-1, 1)
        rcnn.output_bias.uniform_(-1, 1)
    return rcnn


@pytest.mark.parametrize("bidirectional", [False, True])
def test_matches_step_by_step_reference_on_a_padded_batch(bidirectional):
    rcnn = make(bidirectional=bidirectional)
    lengths = [7, 3, 5, 1]
    x = torch.randn(len(lengths), 7, 5, dtype=torch.double)
    mask = torch.arange(7).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    output = rcnn(x, mask)
    assert output.shape == (4, 7, rcnn.get_output_dim())
    for row, length in enumerate(lengths):
        # Each row equals the reference run on the row's unpadded tokens alone (for the
        # backward direction: right to left over its own valid tokens) ...
        expected = reference(rcnn, x[row, :length])
        torch.testing.assert_close(output[row, :length], expected)
        # ... and its padded positions are zero.
        assert torch.equal(output[row, length:], torch.zeros_like(output[row, length:]))


def test_backward_direction_on_padded_batch_equals_unpadded_run():
    rcnn = make(bidirectional=True, seed=3)
    x = torch.randn(2, 6, 5, dtype=torch.double)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    batched = rcnn(x, mask)
    alone = rcnn(x[1:, :4], None)
    torch.testing.assert_close(batched[1:, :4], alone)
    # The backward half at the first token has read all four valid tokens, not the padding:
    # changing a padded input changes nothing.
    x_changed = x.clone()
    x_changed[1, 4:] = 100.0
    torch.testing.assert_close(rcnn(x_changed, mask), batched)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_masked_positions_carry_the_state(bidirectional):
    rcnn = make(bidirectional=bidirectional, seed=1)
    x = torch.randn(1, 6, 5, dtype=torch.double)
    # A hole in the middle: positions 2 and 3 are masked.
    mask = torch.tensor([[True, True, False, False, True, True]])
    output = rcnn(x, mask)
    assert torch.equal(output[0, 2:4], torch.zeros_like(output[0, 2:4]))
    # Carrying the state over the hole is the same as removing the hole's tokens.
    kept = torch.tensor([0, 1, 4, 5])
    without_hole = rcnn(x[:, kept], None)
    torch.testing.assert_close(output[:, kept], without_hole)
    # And the masked inputs do not matter at all.
    x_changed = x.clone()
    x_changed[0, 2:4] = -50.0
    torch.testing.assert_close(rcnn(x_changed, mask), output)
    # A 0/1 integer or float mask means the same as the bool mask.
    torch.testing.assert_close(rcnn(x, mask.long()), output)
    torch.testing.assert_close(rcnn(x, mask.double()), output)


def test_no_mask_means_all_valid():
    rcnn = make(bidirectional=True, seed=2)
    x = torch.randn(3, 4, 5, dtype=torch.double)
    torch.testing.assert_close(rcnn(x), rcnn(x, torch.ones(3, 4, dtype=torch.bool)))
    torch.testing.assert_close(rcnn(x)[1], reference(rcnn, x[1]))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradients_are_finite_and_reach_every_parameter(bidirectional):
    rcnn = make(bidirectional=bidirectional, seed=4)
    x = torch.randn(3, 6, 5, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 0, 0]]).bool()
    rcnn(x, mask).pow(2).sum().backward()
    for name, parameter in rcnn.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, name
    assert torch.isfinite(x.grad).all()
    # Masked inputs get no gradient.
    assert torch.equal(x.grad[1, 3:], torch.zeros_like(x.grad[1, 3:]))
    assert torch.equal(x.grad[2, 1], torch.zeros_like(x.grad[2, 1]))


def test_gradcheck_against_finite_differences():
    rcnn = make(input_dim=3, hidden=2, bidirectional=True, seed=5)
    x = torch.randn(2, 4, 3, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    assert torch.autograd.gradcheck(lambda inputs: rcnn(inputs, mask), (x,))


def test_seq2seq_encoder_interface_and_registration():
    encoder = Seq2SeqEncoder.from_params(
        Params({"type": "rcnn", "input_dim": 6, "hidden_size": 3, "bidirectional": True})
    )
    assert isinstance(encoder, RCNN)
    assert encoder.get_input_dim() == 6
    assert encoder.get_output_dim() == 6
    assert encoder.is_bidirectional()
    single = RCNN(6, 3)
    assert single.get_output_dim() == 3 and not single.is_bidirectional()
    output = single(torch.randn(2, 5, 6), torch.ones(2, 5, dtype=torch.bool))
    assert output.shape == (2, 5, 3)
    with pytest.raises(ConfigurationError):
        RCNN(0, 3)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradcheck_of_every_parameter_against_finite_differences(bidirectional):
    # The backward pass is hand-written: check it for the weights and biases as well as the
    # inputs, on a batch with padding and a hole in the mask.
    rcnn = make(input_dim=3, hidden=2, bidirectional=bidirectional, seed=6)
    x = torch.randn(3, 5, 3, dtype=torch.double, requires_grad=True)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 0, 1, 1, 0]]).bool()
    names = [name for name, _ in rcnn.named_parameters()]

    def run(inputs, *parameters):
        return torch.func.functional_call(rcnn, dict(zip(names, parameters)), (inputs, mask))

    parameters = tuple(p.detach().clone().requires_grad_() for p in rcnn.parameters())
    assert torch.autograd.gradcheck(run, (x,) + parameters)


def test_backward_can_run_twice_on_a_retained_graph():
    # The backward pass must not consume what the forward pass saved.
    rcnn = make(bidirectional=True, seed=7)
    x = torch.randn(2, 4, 5, dtype=torch.double, requires_grad=True)
    output = rcnn(x).pow(2).sum()
    (first,) = torch.autograd.grad(output, x, retain_graph=True)
    (second,) = torch.autograd.grad(output, x)
    torch.testing.assert_close(first, second)


def _input_gradient(rcnn: RCNN, x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_()
    (gradient,) = torch.autograd.grad(rcnn(x).pow(2).sum(), x)
    return gradient


def test_scratch_buffers_are_reused_across_steps():
    # The large buffers come from the module's pool: a second training step takes the ones the
    # first step's graph has let go instead of allocating new ones.
    rcnn = make(bidirectional=True, seed=8)
    x = torch.randn(3, 6, 5, dtype=torch.double, requires_grad=True)
    rcnn(x).sum().backward()
    buffers = [entry[0].data_ptr() for entry in rcnn._scratch._entries]
    assert len(buffers) == 3  # projections, states, gradients of the projections
    rcnn(x).sum().backward()
    assert [entry[0].data_ptr() for entry in rcnn._scratch._entries] == buffers
    # A shorter batch fits in the same buffers.
    rcnn(x[:2, :4]).sum().backward()
    assert [entry[0].data_ptr() for entry in rcnn._scratch._entries] == buffers


def test_graphs_alive_at_the_same_time_do_not_share_buffers():
    # Two forward passes before either backward pass (and a retained graph): each keeps its own
    # saved buffers, so both gradients equal those of separate runs.
    rcnn = make(bidirectional=True, seed=9)
    first_x = torch.randn(2, 5, 5, dtype=torch.double, requires_grad=True)
    second_x = torch.randn(2, 5, 5, dtype=torch.double, requires_grad=True)
    expected_first = _input_gradient(rcnn, first_x)
    expected_second = _input_gradient(rcnn, second_x)
    first = rcnn(first_x).pow(2).sum()
    second = rcnn(second_x).pow(2).sum()
    (second_gradient,) = torch.autograd.grad(second, second_x, retain_graph=True)
    third = rcnn(second_x * 2).pow(2).sum()  # may take only what no graph holds
    (first_gradient,) = torch.autograd.grad(first, first_x)
    (again,) = torch.autograd.grad(second, second_x)
    torch.testing.assert_close(first_gradient, expected_first)
    torch.testing.assert_close(second_gradient, expected_second)
    torch.testing.assert_close(again, expected_second)
    assert torch.isfinite(third)


def test_copies_and_pickles_start_with_an_empty_pool():
    import copy
    import pickle

    rcnn = make(bidirectional=True, seed=10)
    x = torch.randn(2, 4, 5, dtype=torch.double)
    expected = rcnn(x)  # its graph holds two buffers
    for clone in (copy.deepcopy(rcnn), pickle.loads(pickle.dumps(rcnn))):
        assert clone._scratch._entries == []
        torch.testing.assert_close(clone(x), expected)
    with torch.no_grad():  # without a graph the buffers are free again at once
        rcnn(x)
        rcnn(x)
    assert len(rcnn._scratch._entries) == 4


def test_a_longer_batch_replaces_the_largest_free_buffer_that_is_too_small():
    rcnn = make(bidirectional=True, seed=11)
    rcnn(torch.randn(2, 3, 5, dtype=torch.double)).sum().backward()
    assert len(rcnn._scratch._entries) == 3
    rcnn(torch.randn(2, 9, 5, dtype=torch.double)).sum().backward()
    # Each request larger than every free buffer let the largest of them go: still three.
    assert len(rcnn._scratch._entries) == 3
    assert min(entry[0].numel() for entry in rcnn._scratch._entries) >= 2 * 10 * 2 * 4


@pytest.mark.parametrize("before", [False, True])
def test_denormals_are_flushed_inside_the_rcnn_and_the_setting_restored(before):
    if not torch.set_flush_denormal(before):
        pytest.skip("this CPU cannot flush subnormal floats")
    try:
        assert _flushes_denormals() is before
        tiny = torch.tensor([1e-39])
        with _denormals_flushed(tiny):
            assert _flushes_denormals()
            assert (torch.tensor([1e-39]) * 1.0).item() == 0.0
        assert _flushes_denormals() is before
        # The RCNN's backward leaves the caller's setting as it found it, and its outputs and
        # gradients are finite.
        torch.manual_seed(0)
        rcnn = RCNN(3, 4, bidirectional=True)
        inputs = torch.randn(2, 5, 3, requires_grad=True)
        rcnn(inputs, torch.ones(2, 5, dtype=torch.bool)).sum().backward()
        assert _flushes_denormals() is before
        assert torch.isfinite(inputs.grad).all()
    finally:
        torch.set_flush_denormal(False)

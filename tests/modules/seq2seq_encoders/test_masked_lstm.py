import pytest
import torch
from allennlp.common import Params
from allennlp.modules import Seq2SeqEncoder
from allennlp.modules.seq2seq_encoders import LstmSeq2SeqEncoder
from allennlp.modules.seq2vec_encoders import LstmSeq2VecEncoder

from hardkuma_allennlp.modules.seq2seq_encoders.masked_lstm import (
    MaskedLstm,
    reverse_within_lengths,
    split_by_length,
)
from hardkuma_allennlp.modules.seq2vec_encoders.pooled_seq2seq_encoder import (
    PooledSeq2SeqEncoder,
)


def twin_encoders(bidirectional: bool):
    """AllenNLP's packed LSTM and a MaskedLstm with the same weights."""
    torch.manual_seed(0)
    packed = LstmSeq2SeqEncoder(6, 5, bidirectional=bidirectional)
    masked = MaskedLstm(6, 5, bidirectional=bidirectional)
    weights = packed._module.state_dict()
    masked._forward.load_state_dict({k: v for k, v in weights.items() if "reverse" not in k})
    if bidirectional:
        masked._backward.load_state_dict(
            {k.replace("_reverse", ""): v for k, v in weights.items() if "reverse" in k}
        )
    return packed, masked


def batch(lengths, seq_len=None, dtype=torch.float32):
    lengths = torch.tensor(lengths)
    seq_len = seq_len or int(lengths.max())
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randn(len(lengths), seq_len, 6, generator=generator, dtype=dtype)
    mask = torch.arange(seq_len) < lengths.unsqueeze(1)
    return inputs, mask


def test_reverse_within_lengths_is_an_involution_that_leaves_padding():
    index = reverse_within_lengths(torch.tensor([3, 0, 5, 1]), 5)
    assert index.tolist() == [[2, 1, 0, 3, 4], [0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [0, 1, 2, 3, 4]]
    assert torch.equal(index.gather(1, index), torch.arange(5).expand(4, 5))


@pytest.mark.parametrize("bidirectional", [False, True])
def test_outputs_and_gradients_equal_allennlps_packed_lstm(bidirectional):
    packed, masked = twin_encoders(bidirectional)
    inputs, mask = batch([7, 1, 4, 7, 2], seq_len=9)
    inputs.requires_grad_(True)
    expected = packed(inputs, mask)
    # AllenNLP pads its output only up to the longest sequence.
    expected = torch.nn.functional.pad(expected, (0, 0, 0, 9 - expected.size(1)))
    actual = masked(inputs, mask)
    assert torch.allclose(actual, expected, atol=1e-6)
    assert not actual[~mask].any()
    (expected_grad,) = torch.autograd.grad((expected * expected).sum(), inputs)
    (actual_grad,) = torch.autograd.grad((actual * actual).sum(), inputs)
    assert torch.allclose(actual_grad, expected_grad, atol=1e-6)
    assert not actual_grad[~mask].any()


def test_pooled_final_states_equal_allennlps_lstm_seq2vec():
    packed, masked = twin_encoders(True)
    seq2vec = LstmSeq2VecEncoder(6, 5, bidirectional=True)
    seq2vec._module.load_state_dict(packed._module.state_dict())
    inputs, mask = batch([5, 1, 3])
    pooled = PooledSeq2SeqEncoder(masked, "last")(inputs, mask)
    assert torch.allclose(pooled, seq2vec(inputs, mask), atol=1e-6)


def test_padding_and_empty_sequences_change_nothing():
    _, masked = twin_encoders(True)
    inputs, mask = batch([4, 2])
    wider = torch.cat([inputs, torch.randn(2, 3, 6) * 100], dim=1)
    wider_mask = torch.cat([mask, torch.zeros(2, 3, dtype=torch.bool)], dim=1)
    assert torch.allclose(masked(wider, wider_mask)[:, :4], masked(inputs, mask), atol=1e-6)
    empty = masked(inputs, torch.zeros_like(mask))
    assert empty.shape == (2, 4, 10) and not empty.any()


def test_split_by_length_groups_long_and_short_rows_only_where_it_pays():
    order, sizes = split_by_length(torch.tensor([7, 1, 4, 7, 2]))
    # Cost (rows + 2) x steps: whole batch 7 x 7 = 49; best split [7, 7, 4] + [2, 1]: 5x7 + 4x2.
    assert order.tolist() == [0, 3, 2, 4, 1] and sizes == [3, 2]
    assert split_by_length(torch.tensor([5, 4, 5, 5]))[1] == [4]  # a split would cost more
    assert split_by_length(torch.tensor([3]))[1] == [1]


@pytest.mark.parametrize("lengths", [[7, 1, 4, 7, 2], [6, 0, 1, 6, 0], [6, 6, 0, 0], [0, 0, 0]])
def test_rows_split_by_length_give_the_same_outputs_and_gradients(lengths, monkeypatch):
    _, masked = twin_encoders(True)
    inputs, mask = batch(lengths, seq_len=8, dtype=torch.float64)
    masked = masked.double()
    inputs.requires_grad_(True)
    split = masked(inputs, mask)
    (split_grad,) = torch.autograd.grad((split * split).sum(), inputs)
    # The same encoder made to run the whole batch padded to its longest row.
    monkeypatch.setattr(
        "hardkuma_allennlp.modules.seq2seq_encoders.masked_lstm.split_by_length",
        lambda lengths: (torch.arange(lengths.numel()), [lengths.numel()]),
    )
    whole = masked(inputs, mask)
    (whole_grad,) = torch.autograd.grad((whole * whole).sum(), inputs)
    assert split.shape == whole.shape
    assert torch.allclose(split, whole, atol=1e-12)
    assert torch.allclose(split_grad, whole_grad, atol=1e-12)
    assert not split[~mask].any()


def test_is_configurable():
    encoder = Seq2SeqEncoder.from_params(
        Params({"type": "masked_lstm", "input_size": 6, "hidden_size": 5, "bidirectional": True})
    )
    assert encoder.get_input_dim() == 6 and encoder.get_output_dim() == 10
    assert encoder.is_bidirectional()

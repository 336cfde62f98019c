import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules import Seq2VecEncoder

from hardkuma_allennlp.modules.seq2seq_encoders.masked_lstm import MaskedLstm
from hardkuma_allennlp.modules.seq2vec_encoders.pooled_seq2seq_encoder import PooledSeq2SeqEncoder
from tests.modules.helpers import UnmaskedEncoder

POOLINGS = ["last", "max", "mean"]


def batch(lengths, seq_len: int = 6, dim: int = 4, seed: int = 0, garbage: float = 1e3):
    """Random inputs with large values at the padded positions."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.arange(seq_len) < torch.tensor(lengths).unsqueeze(-1)
    x = torch.randn(len(lengths), seq_len, dim, generator=generator, dtype=torch.float64)
    return torch.where(mask.unsqueeze(-1), x, torch.full_like(x, garbage)), mask


@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_takes_the_last_valid_forward_state_and_the_first_backward_state(bidirectional):
    x, mask = batch([6, 3, 1])
    pooled = PooledSeq2SeqEncoder(UnmaskedEncoder(4, bidirectional), "last")(x, mask)
    # Shape: (3, 4)
    assert pooled.shape == (3, 4)
    for row, length in enumerate([6, 3, 1]):
        last, first = x[row, length - 1], x[row, 0]
        expected = torch.cat([last[:2], first[2:]]) if bidirectional else last
        assert torch.equal(pooled[row], expected)


def test_max_and_mean_pool_over_the_valid_positions_only():
    x, mask = batch([6, 3, 1])
    encoder = UnmaskedEncoder(4, bidirectional=False)
    max_pooled = PooledSeq2SeqEncoder(encoder, "max")(x, mask)
    mean_pooled = PooledSeq2SeqEncoder(encoder, "mean")(x, mask)
    for row, length in enumerate([6, 3, 1]):
        assert torch.equal(max_pooled[row], x[row, :length].max(0).values)
        assert torch.allclose(mean_pooled[row], x[row, :length].mean(0))
    # Not the unmasked maximum (the padding holds 1e3).
    assert (max_pooled[1:] < 100).all()


@pytest.mark.parametrize("pooling", POOLINGS)
def test_padding_changes_nothing_with_a_recurrent_encoder(pooling):
    torch.manual_seed(0)
    encoder = PooledSeq2SeqEncoder(MaskedLstm(4, 5, bidirectional=True).double(), pooling)
    x, mask = batch([4, 2, 1], seq_len=4)
    pooled = encoder(x, mask)
    assert pooled.shape == (3, 10) and torch.isfinite(pooled).all()
    wider = torch.cat([x, 1e3 * torch.randn(3, 3, 4, dtype=torch.float64)], dim=1)
    wider_mask = torch.cat([mask, torch.zeros(3, 3, dtype=torch.bool)], dim=1)
    assert torch.allclose(encoder(wider, wider_mask), pooled, atol=1e-12)
    for row, length in enumerate([4, 2, 1]):
        alone = encoder(x[row : row + 1, :length], mask[row : row + 1, :length])
        assert torch.allclose(alone[0], pooled[row], atol=1e-12)


@pytest.mark.parametrize("pooling", POOLINGS)
def test_rows_without_valid_tokens_pool_to_zeros(pooling):
    x, mask = batch([3, 0, 2])
    encoder = PooledSeq2SeqEncoder(UnmaskedEncoder(4, bidirectional=True), pooling)
    pooled = encoder(x, mask)
    assert torch.isfinite(pooled).all() and not pooled[1].any()
    assert torch.equal(pooled[[0, 2]], encoder(x[[0, 2]], mask[[0, 2]]))
    assert not encoder(x, torch.zeros_like(mask)).any()


def test_configuration():
    encoder = Seq2VecEncoder.from_params(
        Params(
            {
                "type": "pooled_seq2seq",
                "encoder": {"type": "masked_lstm", "input_size": 6, "hidden_size": 5},
                "pooling": "max",
            }
        )
    )
    assert isinstance(encoder, PooledSeq2SeqEncoder) and encoder._pooling == "max"
    assert encoder.get_input_dim() == 6 and encoder.get_output_dim() == 5
    assert PooledSeq2SeqEncoder(UnmaskedEncoder(4, False))._pooling == "last"  # the default
    with pytest.raises(ConfigurationError, match="pooling must be"):
        PooledSeq2SeqEncoder(UnmaskedEncoder(4, False), "sum")

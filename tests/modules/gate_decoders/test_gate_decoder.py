import itertools

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.distributions import HardKumaraswamy
from hardkuma_allennlp.interpret import faithfulness
from hardkuma_allennlp.modules.gate_decoders import (
    GateDecoder,
    PaperDecoder,
    SpanDecoder,
    ThresholdDecoder,
    TopKDecoder,
)
from hardkuma_allennlp.modules.gate_decoders.gate_decoder import rounded_counts
from hardkuma_allennlp.modules.gates import DependentHardKumaGate
from tests.modules.gate_decoders.helpers import random_gates


@pytest.mark.parametrize("seed", range(5))
def test_expected_values_keep_the_same_gates_at_their_expected_value(seed):
    distribution, mask = random_gates(seed)
    expected = distribution.mean
    for one, soft in (
        (ThresholdDecoder(0.4), ThresholdDecoder(0.4, value="expected")),
        (TopKDecoder(0.3), TopKDecoder(0.3, value="expected")),
    ):
        binary, z = one(distribution, mask), soft(distribution, mask)
        assert torch.equal(z != 0, binary == 1)
        kept = binary == 1
        assert torch.allclose(z[kept], expected[kept]) and (z[kept] < 1).all()
    # Near-certain gates: closed, all but closed (P(z != 0) about 6e-10, kept by a zero
    # threshold), even, open. Kept gates stay non-zero: the selection is that of `value="one"`.
    a = torch.tensor([[1e-6, 0.02, 1.0, 1e4]], dtype=torch.float64)
    b = torch.tensor([[1e4, 7.0, 1.0, 1e-6]], dtype=torch.float64)
    extreme = HardKumaraswamy(a, b, -0.1, 1.1, validate_args=False)
    full = torch.ones(1, 4, dtype=torch.bool)
    for threshold in (0.0, 1e-12):
        binary = ThresholdDecoder(threshold)(extreme, full)
        z = ThresholdDecoder(threshold, value="expected")(extreme, full)
        assert torch.isfinite(z).all() and torch.equal(z != 0, binary == 1)
        assert binary[0, 1] == 1 and z[0, 3] == pytest.approx(1.0)


def test_decoders_handle_empty_and_length_one_sequences():
    distribution, _ = random_gates(0, shape=(3, 0))
    empty = torch.zeros(3, 0, dtype=torch.bool)
    one, _ = random_gates(1, shape=(2, 1))
    for decoder in (PaperDecoder(), ThresholdDecoder(), TopKDecoder(0.3), SpanDecoder(0.3)):
        assert decoder(distribution, empty).shape == (3, 0)
        z = decoder(one, torch.tensor([[True], [False]]))
        assert z.shape == (2, 1) and z[1, 0] == 0 and torch.isfinite(z).all()
    # At share 0.3 a single token rounds to 0 kept; at 0.5 (half to even) also 0, at 0.6 to 1.
    assert TopKDecoder(0.6)(one, torch.tensor([[True], [True]])).tolist() == [[1.0], [1.0]]


def test_decoders_are_configurable_and_reject_bad_settings():
    assert isinstance(GateDecoder.from_params(Params({})), PaperDecoder)
    decoder = GateDecoder.from_params(Params({"type": "top_k", "share": 0.2}))
    assert isinstance(decoder, TopKDecoder) and decoder.share == 0.2
    for bad in ({"type": "top_k", "share": 0.0}, {"type": "spans", "share": 1.5}):
        with pytest.raises(ConfigurationError, match="share"):
            GateDecoder.from_params(Params(bad))
    with pytest.raises(ConfigurationError, match="threshold"):
        GateDecoder.from_params(Params({"type": "threshold", "threshold": 1.0}))
    decoder = GateDecoder.from_params(Params({"type": "threshold", "value": "expected"}))
    assert isinstance(decoder, ThresholdDecoder) and decoder.value == "expected"
    with pytest.raises(ConfigurationError, match="value must be one of"):
        GateDecoder.from_params(Params({"type": "top_k", "share": 0.3, "value": "mean"}))
    with pytest.raises(ConfigurationError, match="one by one"):
        DependentHardKumaGate(PassThroughEncoder(4), decoding=TopKDecoder(0.3))


def test_decoder_rounding_keeps_aggregate_share_close_on_realistic_lengths():
    # SST-like lengths 3-40: per-sentence rounding averages out.
    generator = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 41, (2000,), generator=generator)
    mask = torch.arange(40) < lengths.unsqueeze(-1)
    shape = (2000, 40)
    distribution = HardKumaraswamy(
        torch.rand(shape, generator=generator) + 0.5,
        torch.rand(shape, generator=generator) + 0.5,
        -0.1,
        1.1,
        validate_args=False,
    )
    for share, decoder in itertools.product((0.1, 0.3, 0.7), (TopKDecoder, SpanDecoder)):
        z = decoder(share)(distribution, mask)
        assert abs(float(z.sum() / mask.sum()) - share) < 0.01


def test_decoders_and_aopc_bins_round_a_share_of_tokens_alike():
    # One rounding rule: `rounded_counts` (the top-k and span decoders) and the AOPC bins of
    # `faithfulness.top_k_count` agree wherever the share is at least one token, ties included
    # (n = 5 at 0.3 is 1.5 tokens, n = 9 at 0.5 is 4.5).
    lengths = torch.arange(1, 301)
    mask = torch.arange(300).unsqueeze(0) < lengths.unsqueeze(1)
    for share in faithfulness.AOPC_BINS + (0.07, 0.13, 0.3, 0.7):
        counts = rounded_counts(share, mask).tolist()
        for length, count in zip(lengths.tolist(), counts):
            assert faithfulness.top_k_count(share, length) == max(1, count)

import pytest
import torch

from hardkuma_allennlp.modules.gate_decoders import ThresholdDecoder
from tests.modules.gate_decoders.helpers import random_gates


@pytest.mark.parametrize("seed", range(5))
def test_threshold_decoder_follows_its_rule(seed):
    distribution, mask = random_gates(seed)
    for threshold in (0.0, 0.5, 0.9):
        z = ThresholdDecoder(threshold)(distribution, mask)
        assert torch.equal(z, ((1 - distribution.prob_zero() > threshold) & mask).double())

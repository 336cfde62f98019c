import pytest
import torch

from hardkuma_allennlp.modules.gate_decoders import PaperDecoder
from tests.modules.gate_decoders.helpers import random_gates


@pytest.mark.parametrize("seed", range(5))
def test_paper_decoder_follows_its_rule(seed):
    distribution, mask = random_gates(seed)
    paper = PaperDecoder()(distribution, mask)
    assert torch.equal(paper, torch.where(mask, distribution.deterministic(), 0.0))

import pytest

from hardkuma_allennlp.modules.gate_decoders import TopKDecoder
from tests.modules.gate_decoders.helpers import random_gates


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("share", [0.1, 0.3, 0.5, 1.0])
def test_top_k_keeps_the_rounded_share_of_most_probable_gates(seed, share):
    distribution, mask = random_gates(seed)
    z = TopKDecoder(share)(distribution, mask)
    score = 1 - distribution.prob_zero()
    assert set(z.unique().tolist()) <= {0.0, 1.0}
    assert not z[~mask].any()
    for row in range(z.size(0)):
        length = int(mask[row].sum())
        k = round(share * length)
        assert int(z[row].sum()) == k
        if 0 < k < length:
            kept = score[row][z[row] == 1]
            dropped = score[row][(z[row] == 0) & mask[row]]
            assert kept.min() >= dropped.max()

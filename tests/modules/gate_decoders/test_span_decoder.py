import pytest

from hardkuma_allennlp.modules.gate_decoders import SpanDecoder
from tests.modules.gate_decoders.helpers import random_gates


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("share", [0.1, 0.3, 0.5, 1.0])
def test_spans_keep_the_best_contiguous_window_found_by_brute_force(seed, share):
    distribution, mask = random_gates(seed)
    z = SpanDecoder(share)(distribution, mask)
    score = 1 - distribution.prob_zero()
    assert not z[~mask].any()
    for row in range(z.size(0)):
        length = int(mask[row].sum())
        k = round(share * length)
        kept = z[row].nonzero().flatten().tolist()
        assert len(kept) == k
        if k == 0:
            continue
        assert kept == list(range(kept[0], kept[0] + k))  # contiguous
        best = max(float(score[row, s : s + k].sum()) for s in range(length - k + 1))
        assert float(score[row, kept].sum()) == pytest.approx(best)

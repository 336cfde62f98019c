"""The pure ERASER measures against brute force and hand-worked cases."""

import itertools
import random

import pytest

from hardkuma_allennlp.interpret import faithfulness as f


def test_top_k_count_keeps_at_least_one_token_and_at_most_all():
    assert f.top_k_count(0.01, 0) == 0
    assert f.top_k_count(0.01, 8) == 1  # 0.08 tokens: at least one
    assert f.top_k_count(0.5, 9) == 4  # 4.5 rounds half to even
    assert f.top_k_count(0.5, 11) == 6  # 5.5 too
    assert f.top_k_count(0.2, 20) == 4
    assert f.top_k_count(1.0, 3) == 3
    assert all(1 <= f.top_k_count(s, n) <= n for s in f.AOPC_BINS for n in range(1, 60))


def test_top_k_rationale_takes_the_highest_scores_earlier_first_on_ties():
    assert f.top_k_rationale([0.1, 0.9, 0.5, 0.9], 0.5) == [False, True, False, True]
    assert f.top_k_rationale([0.3, 0.3, 0.3], 0.34) == [True, False, False]
    assert f.top_k_rationale([], 0.5) == []


def test_spans_of_and_iou():
    assert f.spans_of([]) == []
    assert f.spans_of([False, False]) == []
    assert f.spans_of([True]) == [(0, 1)]
    assert f.spans_of([True, True, False, True, False, True, True]) == [(0, 2), (3, 4), (5, 7)]
    assert f.iou((0, 4), (2, 6)) == pytest.approx(2 / 6)
    assert f.iou((0, 2), (2, 4)) == 0.0
    assert f.iou((1, 3), (1, 3)) == 1.0


def test_change_and_aopc():
    assert f.change(0.9, 0.4, regression=False) == pytest.approx(0.5)
    assert f.change(0.4, 0.9, regression=False) == pytest.approx(-0.5)  # signed for classes
    assert f.change(0.4, 0.9, regression=True) == pytest.approx(0.5)  # a size for scores
    assert f.aopc(0.8, [0.8, 0.6, 0.2], regression=False) == pytest.approx((0 + 0.2 + 0.6) / 3)
    with pytest.raises(ValueError):
        f.aopc(0.5, [], regression=False)


def brute_force_agreement(predicted, gold, threshold=0.5):
    """Token and IOU scores by enumerating every position and every pair of spans."""
    tp = sum(p and g for pr, gr in zip(predicted, gold) for p, g in zip(pr, gr))
    sel = sum(p for pr in predicted for p in pr)
    gol = sum(g for gr in gold for g in gr)
    tokens = (tp / sel if sel else 0.0, tp / gol if gol else 0.0)
    correct = n_pred = n_gold = 0
    for pr, gr in zip(predicted, gold):

        def runs(row):
            out, i = [], 0
            while i < len(row):
                if row[i]:
                    j = i
                    while j < len(row) and row[j]:
                        j += 1
                    out.append(set(range(i, j)))
                    i = j
                else:
                    i += 1
            return out

        p_runs, g_runs = runs(pr), runs(gr)
        n_pred += len(p_runs)
        n_gold += len(g_runs)
        correct += sum(any(len(p & g) / len(p | g) >= threshold for g in g_runs) for p in p_runs)
    spans = (correct / n_pred if n_pred else 0.0, correct / n_gold if n_gold else 0.0)
    return tokens, spans


def test_agreement_matches_brute_force_on_random_rationales():
    rng = random.Random(0)
    for _ in range(200):
        n_inputs = rng.randint(1, 4)
        lengths = [rng.randint(0, 12) for _ in range(n_inputs)]
        predicted = [[rng.random() < 0.4 for _ in range(n)] for n in lengths]
        gold = [[rng.random() < 0.3 for _ in range(n)] for n in lengths]
        (tp, tr), (sp, sr) = brute_force_agreement(predicted, gold)
        tokens = f.token_agreement(predicted, gold)
        spans = f.iou_f1(predicted, gold)
        assert tokens["precision"] == pytest.approx(tp)
        assert tokens["recall"] == pytest.approx(tr)
        assert tokens["f1"] == pytest.approx(f.f1(tp, tr))
        assert spans["precision"] == pytest.approx(sp)
        assert spans["recall"] == pytest.approx(sr)


def test_iou_f1_hand_worked():
    # Gold: one span [2, 6). Predicted: [2, 5) (IOU 3/4, a match) and [8, 9) (no match).
    predicted = [[False, False, True, True, True, False, False, False, True]]
    gold = [[False, False, True, True, True, True, False, False, False]]
    scores = f.iou_f1(predicted, gold)
    assert scores["precision"] == pytest.approx(0.5)
    assert scores["recall"] == pytest.approx(1.0)
    # A span with IOU exactly 0.5 counts; below does not.
    assert f.iou_f1([[True, True, False, False]], [[True, True, True, True]])["precision"] == 1.0
    assert f.iou_f1([[True, False, False]], [[True, True, True]])["precision"] == 0.0


def test_token_agreement_rejects_rows_of_different_lengths():
    with pytest.raises(ValueError, match="lengths differ"):
        f.token_agreement([[True, False]], [[True]])
    with pytest.raises(ValueError):
        f.token_agreement([[True]], [[True], [False]])


def test_every_subset_of_a_short_input_is_ranked_consistently():
    # top_k_rationale always keeps a prefix of the score ranking.
    for scores in itertools.product([0.0, 0.5, 1.0], repeat=4):
        previous = 0
        for share in f.AOPC_BINS + (1.0,):
            kept = f.top_k_rationale(list(scores), share)
            assert sum(kept) >= previous
            previous = sum(kept)
            threshold = min(s for s, k in zip(scores, kept) if k)
            assert all(s <= threshold for s, k in zip(scores, kept) if not k)

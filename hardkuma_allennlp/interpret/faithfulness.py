"""
Faithfulness and agreement measures of rationales, after ERASER (DeYoung et al., 2020,
https://arxiv.org/abs/1911.03429), section 4. Pure Python (no AllenNLP, no torch), so they can be
reused and tested on their own; `hardkuma_allennlp.interpret.rationale_evaluator` runs a model to
get their inputs.

Conventions, for one input of `n` tokens:

- a *rationale* is a list of `n` booleans (True = selected); *scores* are `n` floats, higher =
  more important (a gate's P(z != 0), or gradient x input);
- `full`, `without` and `only` are the model's outputs on the whole input, on the input with the
  rationale removed, and on the rationale alone. For classification each is the probability of
  the class predicted on the whole input; for regression each is the predicted score.

Classification (ERASER's definitions):

    comprehensiveness = full - without        sufficiency = full - only

Regression has no "probability of the predicted class"; the analogue used here is the size of
the change of the predicted score, `|full - without|` and `|full - only|`: how far removing the
rationale moves the prediction, and how far the rationale alone is from it.

AOPC (area over the perturbation curve, ERASER eq. 1-2): the mean of comprehensiveness (or
sufficiency) over the bins {1, 5, 10, 20, 50} % when the rationale is the top `k(share)` tokens by
score, with `k(share) = min(n, max(1, round(share * n)))`: at least one token, so that very short
inputs still lose something at 1 %. `round` is the test-time decoders' rule (half to even, as
Python's `round` and `torch.round`), so a bin of share s keeps what a `top_k` decoder of share s
keeps.
"""

from typing import Dict, List, Optional, Sequence, Tuple

AOPC_BINS: Tuple[float, ...] = (0.01, 0.05, 0.1, 0.2, 0.5)

Span = Tuple[int, int]


def top_k_count(share: float, length: int) -> int:
    """How many tokens a bin of `share` keeps (or removes) of an input of `length` tokens."""
    if length == 0:
        return 0
    return min(length, max(1, round(share * length)))


def top_k_rationale(scores: Sequence[float], share: float) -> List[bool]:
    """The `top_k_count(share, n)` highest-scoring tokens (ties: the earlier token first)."""
    count = top_k_count(share, len(scores))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    chosen = set(order[:count])
    return [i in chosen for i in range(len(scores))]


def change(full: float, reduced: float, regression: bool) -> float:
    """Comprehensiveness/sufficiency of one input: `full - reduced` (classification, the
    probability of the predicted class) or `|full - reduced|` (regression, the predicted score)."""
    return abs(full - reduced) if regression else full - reduced


def aopc(full: float, reduced_per_bin: Sequence[float], regression: bool) -> float:
    """The mean `change` over the bins (the model's outputs with each bin's tokens removed, for
    comprehensiveness, or kept alone, for sufficiency)."""
    if not reduced_per_bin:
        raise ValueError("aopc needs at least one bin")
    return sum(change(full, r, regression) for r in reduced_per_bin) / len(reduced_per_bin)


def spans_of(rationale: Sequence[bool]) -> List[Span]:
    """The maximal runs of selected tokens, as `[start, end)` spans."""
    spans: List[Span] = []
    start: Optional[int] = None
    for i, selected in enumerate(list(rationale) + [False]):
        if selected and start is None:
            start = i
        elif not selected and start is not None:
            spans.append((start, i))
            start = None
    return spans


def iou(first: Span, second: Span) -> float:
    """Intersection over union of two `[start, end)` token spans."""
    overlap = max(0, min(first[1], second[1]) - max(first[0], second[0]))
    union = (first[1] - first[0]) + (second[1] - second[0]) - overlap
    return overlap / union if union > 0 else 0.0


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def precision_recall_f1(true_positives: float, selected: float, gold: float) -> Dict[str, float]:
    """Token-level precision (`true_positives / selected`), recall (`true_positives / gold`) and
    their F1, from counts; each 0.0 where its denominator is 0."""
    precision = true_positives / selected if selected > 0 else 0.0
    recall = true_positives / gold if gold > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall)}


def token_agreement(
    predicted: Sequence[Sequence[bool]], gold: Sequence[Sequence[bool]]
) -> Dict[str, float]:
    """
    Token-level precision, recall and F1 of predicted against gold rationales, micro-averaged
    over all tokens of all inputs (as ERASER's token-level scores).
    """
    true_positives = selected = gold_count = 0
    for p_row, g_row in zip(predicted, gold, strict=True):
        if len(p_row) != len(g_row):
            raise ValueError(f"rationale lengths differ: {len(p_row)} predicted, {len(g_row)} gold")
        true_positives += sum(1 for p, g in zip(p_row, g_row) if p and g)
        selected += sum(1 for p in p_row if p)
        gold_count += sum(1 for g in g_row if g)
    return precision_recall_f1(true_positives, selected, gold_count)


def iou_f1(
    predicted: Sequence[Sequence[bool]], gold: Sequence[Sequence[bool]], threshold: float = 0.5
) -> Dict[str, float]:
    """
    ERASER's IOU F1 (partial span match), micro-averaged: a predicted span counts as correct
    when its IOU with some gold span of the same input is at least `threshold`; precision is the
    share of predicted spans that are correct, recall the number of correct predicted spans over
    the number of gold spans.
    """
    correct = predicted_count = gold_count = 0
    for p_row, g_row in zip(predicted, gold, strict=True):
        p_spans, g_spans = spans_of(p_row), spans_of(g_row)
        predicted_count += len(p_spans)
        gold_count += len(g_spans)
        correct += sum(
            1 for p in p_spans if any(iou(p, g) >= threshold for g in g_spans) and g_spans
        )
    precision = correct / predicted_count if predicted_count else 0.0
    recall = correct / gold_count if gold_count else 0.0
    return {"precision": precision, "recall": recall, "f1": f1(precision, recall)}


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else float("nan")

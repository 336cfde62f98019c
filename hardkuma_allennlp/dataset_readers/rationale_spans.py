"""
Gold rationales given as `[start, end)` token spans (end exclusive), as the readers turn them into
the per-token `gold_rationale` that the rationale metrics read.
"""

from typing import List, Sequence, Tuple

import torch


def clip_spans(spans: Sequence[Sequence[int]], length: int) -> List[List[int]]:
    """The spans cut at `length` tokens (a truncated text); spans left empty are dropped."""
    return [[start, min(end, length)] for start, end in spans if start < min(end, length)]


def gold_rationale_mask(spans: Sequence[Sequence[int]], length: int) -> Tuple[torch.Tensor, bool]:
    """
    The gold rationale of a text of `length` tokens, shape `(length,)`: 1.0 for the tokens in
    `spans`, 0.0 for the others; and whether any token is gold. A text without any gold token is
    -1.0 everywhere, which tells the rationale metrics to skip it.
    """
    # Shape: (length,)
    gold = torch.zeros(length, dtype=torch.float)
    for start, end in spans:
        gold[start:end] = 1.0
    has_gold = bool(gold.sum() > 0)
    if not has_gold:
        gold.fill_(-1.0)
    return gold, has_gold

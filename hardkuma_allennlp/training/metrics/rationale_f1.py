from typing import Dict, Optional

import torch
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.metrics.metric import Metric

from hardkuma_allennlp.interpret.faithfulness import precision_recall_f1


@Metric.register("rationale_f1")
class RationaleF1(Metric):
    """
    Token-level agreement between a selected rationale and human-annotated gold rationale spans,
    as reported for BeerAdvocate by Lei, Barzilay & Jaakkola (2016) and by Bastings, Aziz &
    Titov (2019), [Interpretable Neural Predictions with Differentiable Binary
    Variables](https://arxiv.org/abs/1905.08160), section 6.1, tables 1-2.

    A token is *selected* where the gate value `z` is non-zero (so a HardKuma assignment in
    (0, 1] counts as selected) and it is a valid position of `mask`. A token is *gold* where
    `gold_rationale > 0`. A review takes part only if it has at least one valid gold token and no
    valid position with a negative gold value: the `beer_advocate` reader marks reviews without a
    gold span for the aspect with -1 everywhere, so they are skipped here.

    `get_metric` returns, over the reviews that take part:

    - `precision`: share of all selected tokens that are gold (micro average);
    - `precision_macro`: per-review precision, averaged over reviews with at least one selected
      token (reviews that select nothing are skipped);
    - `recall`: share of all gold tokens that are selected (micro); `recall_macro`: averaged
      per review;
    - `f1`: harmonic mean of the micro `precision` and `recall`;
    - `selected`: share of all valid tokens that are selected;
    - `num_reviews`: how many reviews took part.

    Rates are in [0, 1]; they are 0.0 where their denominator is 0. The micro scores are those
    of `faithfulness.precision_recall_f1`, as for the `rationales` command's token agreement.

    Registered as a `Metric` with name "rationale_f1".
    """

    supports_distributed = True

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._true_positives = 0.0
        self._selected = 0.0
        self._gold = 0.0
        self._tokens = 0.0
        self._reviews = 0.0
        self._precision_sum = 0.0
        self._precision_reviews = 0.0
        self._recall_sum = 0.0

    def __call__(
        self,
        predictions: torch.Tensor,
        gold_labels: torch.Tensor,
        mask: Optional[torch.BoolTensor] = None,
    ) -> None:
        """
        # Parameters

        predictions : `torch.Tensor`
            The gate values `z`, shape `(batch_size, seq_len)`; non-zero means selected.
        gold_labels : `torch.Tensor`
            The gold rationale mask, shape `(batch_size, seq_len)`: 1 inside a gold span, 0
            outside, negative for a review without gold spans.
        mask : `torch.BoolTensor`, optional
            Valid positions, shape `(batch_size, seq_len)`.
        """
        predictions, gold_labels, mask = self.detach_tensors(predictions, gold_labels, mask)
        if predictions.dim() != 2 or gold_labels.size() != predictions.size():
            raise ValueError(
                "predictions and gold_labels must both have shape (batch_size, seq_len), got "
                f"{tuple(predictions.size())} and {tuple(gold_labels.size())}"
            )
        if mask is None:
            mask = torch.ones_like(predictions, dtype=torch.bool)
        elif mask.size() != predictions.size():
            raise ValueError(
                f"mask must have shape {tuple(predictions.size())}, got {tuple(mask.size())}"
            )
        mask = mask.bool()
        # Shape: (batch_size, seq_len)
        selected = (predictions != 0) & mask
        gold = (gold_labels > 0) & mask
        # Shape: (batch_size,)
        included = gold.any(dim=-1) & ~((gold_labels < 0) & mask).any(dim=-1)
        weight = included.double()
        true_positives = (selected & gold).sum(dim=-1).double() * weight
        num_selected = selected.sum(dim=-1).double() * weight
        num_gold = gold.sum(dim=-1).double() * weight
        num_tokens = mask.sum(dim=-1).double() * weight
        precision = true_positives / num_selected.clamp(min=1)
        recall = true_positives / num_gold.clamp(min=1)
        has_selection = (num_selected > 0).double()

        totals = torch.stack(
            [
                true_positives.sum(),
                num_selected.sum(),
                num_gold.sum(),
                num_tokens.sum(),
                weight.sum(),
                (precision * has_selection).sum(),
                has_selection.sum(),
                recall.sum(),
            ]
        )
        totals = dist_reduce_sum(totals).tolist()
        self._true_positives += totals[0]
        self._selected += totals[1]
        self._gold += totals[2]
        self._tokens += totals[3]
        self._reviews += totals[4]
        self._precision_sum += totals[5]
        self._precision_reviews += totals[6]
        self._recall_sum += totals[7]

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        micro = precision_recall_f1(self._true_positives, self._selected, self._gold)
        metrics = {
            "precision": micro["precision"],
            "precision_macro": _ratio(self._precision_sum, self._precision_reviews),
            "recall": micro["recall"],
            "recall_macro": _ratio(self._recall_sum, self._reviews),
            "f1": micro["f1"],
            "selected": _ratio(self._selected, self._tokens),
            "num_reviews": float(self._reviews),
        }
        if reset:
            self.reset()
        return metrics


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else 0.0

from typing import Dict

import torch
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.metrics.metric import Metric


@Metric.register("selection")
class Selection(Metric):
    """
    How much of the text a rationale keeps: over all valid tokens seen since the last reset, the
    share with `z != 0` (`selected`, the paper's "% selected", reported as a fraction), and the
    shares with `z` exactly 0 (`zero`), strictly inside (0, 1) (`continuous`) and exactly 1
    (`one`). HardKuma gates put mass on all three; Bernoulli gates only on 0 and 1.

    Registered as a `Metric` with name "selection".
    """

    def __init__(self) -> None:
        self.reset()

    def __call__(self, z: torch.Tensor, mask: torch.BoolTensor) -> None:  # type: ignore[override]
        z, mask = self.detach_tensors(z, mask)
        mask = mask.bool()
        valid = z[mask]
        self._counts += (
            torch.stack(
                [
                    valid.new_tensor(valid.numel()),
                    (valid != 0).sum().to(valid.dtype),
                    (valid == 0).sum().to(valid.dtype),
                    ((valid > 0) & (valid < 1)).sum().to(valid.dtype),
                    (valid == 1).sum().to(valid.dtype),
                ]
            )
            .double()
            .cpu()
        )

    def get_metric(self, reset: bool = False) -> Dict[str, float]:
        total, selected, zero, continuous, one = (
            float(dist_reduce_sum(value)) for value in self._counts.tolist()
        )
        denominator = max(total, 1.0)
        metrics = {
            "selected": selected / denominator,
            "zero": zero / denominator,
            "continuous": continuous / denominator,
            "one": one / denominator,
        }
        if reset:
            self.reset()
        return metrics

    def reset(self) -> None:
        self._counts = torch.zeros(5, dtype=torch.float64)

from typing import Dict

import torch


class PenaltyReporter:
    """
    The small protocol between modules with latent gates and the `lagrangian` trainer callback.

    A module that mixes this in stores, in every forward pass, its expected penalties as
    differentiable scalar tensors in `self._expected_penalties`, keyed by constraint name:
    `"selection"` (expected rate of non-zero gates over valid positions, averaged over the batch)
    and, where it makes sense, `"transition"` (expected rate of zero/non-zero transitions). The
    callback finds every such module in the model, reads `expected_penalties()` after the forward
    pass and adds its multiplier-weighted constraint terms to the loss.
    """

    _expected_penalties: Dict[str, torch.Tensor]

    def expected_penalties(self) -> Dict[str, torch.Tensor]:
        return getattr(self, "_expected_penalties", {})

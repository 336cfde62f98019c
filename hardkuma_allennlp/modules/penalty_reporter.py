import logging
import warnings
from typing import Dict, Optional

import torch

logger = logging.getLogger(__name__)


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

    #: The constraint callback attached to this module, if any (set by the `lagrangian` callback).
    constraint: Optional[object] = None
    _warned_unconstrained = False

    def warn_if_unconstrained(self) -> None:
        """
        Called by a reporter in every training forward pass: without a constraint nothing holds
        the selection rate, which is legitimate (e.g. to see what the task alone selects) but
        rarely meant, so it is said loudly, once per module.
        """
        if self.constraint is None and not self._warned_unconstrained:
            self._warned_unconstrained = True
            message = (
                f"{type(self).__name__} is training without a constraint: no 'lagrangian' "
                "trainer callback holds its selection rate, so the gates select whatever the "
                "task alone favours (usually everything). Add "
                "`callbacks: [{type: 'lagrangian', selection: ...}]` to the trainer."
            )
            logger.warning(message)
            warnings.warn(message, UserWarning, stacklevel=3)

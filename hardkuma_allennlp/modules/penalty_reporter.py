import logging
import warnings
from typing import Dict, Optional, Tuple

import torch

logger = logging.getLogger(__name__)


class PenaltyReporter:
    """
    The small protocol between modules with latent gates and the `lagrangian` trainer callback.

    A module that mixes this in declares the names of the penalties it reports
    (`penalty_names`) and the model metric that holds its decoded selection (`selection_metric`),
    and stores, in every forward pass, its expected penalties as differentiable scalar tensors in
    `self._expected_penalties`, keyed by those names: `"selection"` (expected rate of non-zero
    gates over valid positions, averaged over the batch) and, where it makes sense,
    `"transition"` (expected rate of zero/non-zero transitions). The callback finds every such
    module in the model, checks its targets against the declared names when training starts,
    reads `expected_penalties()` after each forward pass and adds its multiplier-weighted
    constraint terms to the loss.
    """

    #: The names of the penalties that `expected_penalties()` holds after a forward pass. The
    #: defaults are those of the HardKuma gates (the `hardkuma` matrix attention declares its own).
    penalty_names: Tuple[str, ...] = ("selection", "transition")
    #: The model metric with this module's decoded selection (the share of non-zero gates in
    #: evaluation mode), if its model reports one: a `rationale_model`'s `selected`.
    selection_metric: Optional[str] = "selected"

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

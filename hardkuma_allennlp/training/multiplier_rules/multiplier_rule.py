from typing import Dict

import torch
from allennlp.common import Registrable


class MultiplierRule(Registrable):
    """
    How the `lagrangian` trainer callback weights one constraint `c = R - r` (an expected penalty
    `R` minus its target `r`) in the training loss, and how it moves that constraint's Lagrange
    multiplier after each optimizer step.

    A rule is stateless: the callback keeps one state dictionary per constraint (always with the
    key `"multiplier"`, plus whatever the rule needs, e.g. a moving average), checkpoints it and
    passes it back in. So one rule object serves the selection and the transition constraint
    alike, and `allennlp train --recover` continues every constraint where it stopped.

    Implementations: "dual_ascent" (the default: an additive, signed multiplier with a damping
    term, an equality constraint that pushes the rate to its target from either side) and
    "multiplicative" (the paper authors' rule: a positive multiplier that starts tiny and grows or
    shrinks geometrically, an upper bound on the rate).
    """

    default_implementation = "dual_ascent"

    def initial_state(self) -> Dict[str, float]:
        """The state of a constraint before the first step."""
        raise NotImplementedError

    def loss_term(self, state: Dict[str, float], constraint: torch.Tensor) -> torch.Tensor:
        """The term added to the training loss for a differentiable scalar `constraint`."""
        raise NotImplementedError

    # Whether `step` needs the share of an epoch that one optimizer step covers.
    needs_epoch_share = False

    def step(
        self, state: Dict[str, float], constraint: float, epoch_share: float
    ) -> Dict[str, float]:
        """The state after one optimizer step whose mean constraint value was `constraint`;
        `epoch_share` is the share of an epoch that the step covers (1 / steps per epoch), for
        rules whose rate is given per epoch."""
        raise NotImplementedError

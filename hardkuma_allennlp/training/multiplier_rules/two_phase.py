from typing import Dict

import torch

from hardkuma_allennlp.training.multiplier_rules.multiplier_rule import MultiplierRule


@MultiplierRule.register("two_phase")
class TwoPhaseRule(MultiplierRule):
    """
    One rule until the constrained rate first comes down to its target, another from then on.

    Made for [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160)'s BeerAdvocate model: the
    paper authors' `"multiplicative"` rule (the `opening` rule) leaves the gates open for the
    first epochs, while the regressor learns from whole reviews, and then closes them within an
    epoch. But it only bounds the rate from above, so the gates settle wherever the regressor
    leaves them, often far below the target. From the first optimizer step whose mean constraint
    `c = R - r` is at or below zero, the `holding` rule (e.g. `"dual_ascent"`, a signed
    multiplier) takes over with its own initial state and holds the rate at the target from both
    sides.

    The state carries both rules' keys plus `"holding"` (0 before the switch, 1 after), so a
    checkpoint resumes in the right phase. When the selection constraint switches, the `lagrangian`
    callback switches every other two-phase constraint with it: the gates' closing brings the
    selection rate down to its target, but not necessarily the transition rate, which is then held
    too (the Beer config holds it from above, with an `inequality` dual ascent).

    Registered as a `MultiplierRule` with name "two_phase".

    # Parameters

    opening : `MultiplierRule`
        The rule until the rate first reaches the target.
    holding : `MultiplierRule`
        The rule from then on, started from its `initial_state`.
    """

    def __init__(self, opening: MultiplierRule, holding: MultiplierRule) -> None:
        self.opening = opening
        self.holding = holding
        self.needs_epoch_share = opening.needs_epoch_share or holding.needs_epoch_share

    def initial_state(self) -> Dict[str, float]:
        # Both rules' keys from the start, so that every checkpoint of a run has the same keys (the
        # callback checks a checkpoint's keys against its rule's).
        return {**self.holding.initial_state(), **self.opening.initial_state(), "holding": 0.0}

    def _active(self, state: Dict[str, float]) -> MultiplierRule:
        return self.holding if state["holding"] else self.opening

    def loss_term(self, state: Dict[str, float], constraint: torch.Tensor) -> torch.Tensor:
        return self._active(state).loss_term(state, constraint)

    def step(
        self, state: Dict[str, float], constraint: float, epoch_share: float
    ) -> Dict[str, float]:
        if not state["holding"] and constraint <= 0:
            state = self.hold(state)
        updated = dict(state)
        updated.update(self._active(state).step(state, constraint, epoch_share))
        return updated

    def hold(self, state: Dict[str, float]) -> Dict[str, float]:
        """`state` switched to the holding rule (unchanged if it already holds)."""
        if state["holding"]:
            return state
        return {**state, **self.holding.initial_state(), "holding": 1.0}

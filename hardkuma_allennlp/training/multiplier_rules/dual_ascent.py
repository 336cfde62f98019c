from typing import Dict

import torch
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.training.multiplier_rules.multiplier_rule import MultiplierRule


@MultiplierRule.register("dual_ascent")
class DualAscentRule(MultiplierRule):
    """
    The modified differential method of multipliers (Platt & Barr, 1988) for the equality
    constraint `c = 0` of [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), eq. 13. The
    loss gets

        lambda * c + damping / 2 * c^2,   gradient (lambda + damping * c) * grad c,

    (the damping term vanishes at the target and damps the oscillations of plain gradient
    descent-ascent), and after each optimizer step the multiplier moves by dual ascent:

        lambda <- clip(lambda + lr * c, -max_multiplier, max_multiplier)

    The multiplier is signed: it pushes the rate down when it is above the target and up when it
    is below, from the first step on. That is also its weakness early in training: it holds the
    expected rate at the target while the gates are still uncertain and the classifier has
    learned nothing yet (the `lagrangian` callback's `anneal_epochs` eases this).

    Registered as a `MultiplierRule` with name "dual_ascent".

    # Parameters

    lr : `float`, optional (default = `0.01`)
        Step size of the dual ascent.
    damping : `float`, optional (default = `10.0`)
        Weight of the damping term; `0` gives plain gradient descent-ascent.
    upper_bound : `bool`, optional (default = `False`)
        With `True`, the constraint is `c <= 0` (the rate at most its target): the multiplier is
        kept at or above 0 and the damping term acts above the target only, so a model whose task
        selects less than the target is left there instead of being pushed up to it.
    initial_multiplier : `float`, optional (default = `0.0`)
    max_multiplier : `float`, optional (default = `100.0`)
        The multiplier is clipped to `[-max_multiplier, max_multiplier]`.
    """

    def __init__(
        self,
        lr: float = 0.01,
        damping: float = 10.0,
        upper_bound: bool = False,
        initial_multiplier: float = 0.0,
        max_multiplier: float = 100.0,
    ) -> None:
        if lr <= 0:
            raise ConfigurationError(f"dual_ascent rule: lr must be positive, got {lr}")
        if damping < 0:
            raise ConfigurationError(f"dual_ascent rule: damping must be >= 0, got {damping}")
        if max_multiplier <= 0 or abs(initial_multiplier) > max_multiplier:
            raise ConfigurationError(
                "dual_ascent rule: need max_multiplier > 0 and |initial_multiplier| <= "
                f"max_multiplier, got {initial_multiplier}, {max_multiplier}"
            )
        self.lr = lr
        self.damping = damping
        if upper_bound and initial_multiplier < 0:
            raise ConfigurationError(
                f"dual_ascent rule: an upper bound needs initial_multiplier >= 0, got "
                f"{initial_multiplier}"
            )
        self.upper_bound = upper_bound
        self.initial_multiplier = initial_multiplier
        self.max_multiplier = max_multiplier

    def initial_state(self) -> Dict[str, float]:
        return {"multiplier": self.initial_multiplier}

    def loss_term(self, state: Dict[str, float], constraint: torch.Tensor) -> torch.Tensor:
        damped = constraint.clamp(min=0.0) if self.upper_bound else constraint
        return state["multiplier"] * constraint + 0.5 * self.damping * damped * damped

    def step(
        self, state: Dict[str, float], constraint: float, epoch_share: float
    ) -> Dict[str, float]:
        multiplier = state["multiplier"] + self.lr * constraint
        lowest = 0.0 if self.upper_bound else -self.max_multiplier
        return {"multiplier": max(lowest, min(self.max_multiplier, multiplier))}

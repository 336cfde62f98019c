import math
from typing import Dict

import torch
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.training.multiplier_rules.multiplier_rule import MultiplierRule


@MultiplierRule.register("multiplicative")
class MultiplicativeRule(MultiplierRule):
    """
    A positive Lagrange multiplier updated geometrically on a moving average of the constraint,
    the rule of the paper authors' code ([Bastings et al., 2019](https://arxiv.org/abs/1905.08160)).
    After each optimizer step, which covers the share `1 / steps_per_epoch` of an epoch:

        c_avg  <- alpha * c_avg + (1 - alpha) * c
        lambda <- clip(lambda * exp(lr * c_avg / steps_per_epoch), min_multiplier, max_multiplier)

    and the loss gets `lambda * c`. Starting from a tiny multiplier, the constraint is negligible
    while the classifier learns from the whole text; only as the violation persists does
    `lambda` grow (by `exp(lr * c_avg)` per epoch) until the rate comes down to the target. Below
    the target `lambda` shrinks again. The multiplier never changes sign, so this bounds the rate
    from above: a model whose task alone selects less than the target is left alone.

    `lr` is a rate per epoch, so that the multiplier grows the same in epochs on a small and a
    large training set (the authors' code grows it per optimizer step: their `lagrange_lr` times
    the steps of an epoch is `lr`). `alpha` smooths the noise of single batches and stays per
    step.

    Registered as a `MultiplierRule` with name "multiplicative".

    # Parameters

    lr : `float`, optional (default = `3.42`)
        Rate of the geometric update per epoch (3.42 is 0.01 a step at SST's 342 batches an
        epoch).
    alpha : `float`, optional (default = `0.99`)
        Decay of the moving average of the constraint, per step, in [0, 1).
    initial_multiplier : `float`, optional (default = `1e-4`)
    min_multiplier : `float`, optional (default = `1e-12`)
    max_multiplier : `float`, optional (default = `100.0`)
        The multiplier starts at `initial_multiplier` and stays in
        `[min_multiplier, max_multiplier]`.
    """

    needs_epoch_share = True

    def __init__(
        self,
        lr: float = 3.42,
        alpha: float = 0.99,
        initial_multiplier: float = 1e-4,
        min_multiplier: float = 1e-12,
        max_multiplier: float = 100.0,
    ) -> None:
        if lr <= 0:
            raise ConfigurationError(f"multiplicative rule: lr must be positive, got {lr}")
        if not 0.0 <= alpha < 1.0:
            raise ConfigurationError(f"multiplicative rule: alpha must lie in [0, 1), got {alpha}")
        if not 0.0 < min_multiplier <= initial_multiplier <= max_multiplier:
            raise ConfigurationError(
                "multiplicative rule: need 0 < min_multiplier <= initial_multiplier <= "
                f"max_multiplier, got {min_multiplier}, {initial_multiplier}, {max_multiplier}"
            )
        self.lr = lr
        self.alpha = alpha
        self.initial_multiplier = initial_multiplier
        self.min_multiplier = min_multiplier
        self.max_multiplier = max_multiplier

    def initial_state(self) -> Dict[str, float]:
        return {"multiplier": self.initial_multiplier, "moving_average": 0.0}

    def loss_term(self, state: Dict[str, float], constraint: torch.Tensor) -> torch.Tensor:
        return state["multiplier"] * constraint

    def step(
        self, state: Dict[str, float], constraint: float, epoch_share: float
    ) -> Dict[str, float]:
        average = self.alpha * state["moving_average"] + (1.0 - self.alpha) * constraint
        multiplier = state["multiplier"] * math.exp(self.lr * epoch_share * average)
        multiplier = min(self.max_multiplier, max(self.min_multiplier, multiplier))
        return {"multiplier": multiplier, "moving_average": average}

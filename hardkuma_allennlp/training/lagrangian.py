import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import torch
import torch.distributed as dist
from allennlp.common.checks import ConfigurationError
from allennlp.models import Model
from allennlp.training.callbacks.callback import TrainerCallback

from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter

if TYPE_CHECKING:
    from allennlp.training.gradient_descent_trainer import GradientDescentTrainer

logger = logging.getLogger(__name__)


@TrainerCallback.register("lagrangian")
class LagrangianCallback(TrainerCallback):
    """
    Holds expected penalties at target values with Lagrange multipliers, the constrained
    objective of [Bastings et al. (2019)](https://arxiv.org/abs/1905.08160), eq. 13:

        min_theta max_lambda  task_loss + sum_k lambda_k * (R_k - r_k)

    where `R_k` is an expected penalty reported by the model (the expected selection rate, and
    optionally the expected transition rate) and `r_k` its target.

    The callback needs no model code. At the start of training it finds every module of
    `trainer.model` that mixes in `PenaltyReporter` (HardKuma gates of a `latent_rationale`
    encoder, the `hardkuma` matrix attention) and registers a forward hook on the model that, in
    training mode, adds the constraint terms to `output_dict["loss"]`. Because the terms join the
    loss inside the model's forward pass, AllenNLP's trainer treats them exactly like the task
    loss: division by the size of a gradient-accumulation group, mixed-precision loss scaling
    and distributed gradient reduction all apply unchanged. When several modules report the same
    penalty, `R_k` is their mean.

    The update is the modified differential method of multipliers (Platt & Barr, 1988): with the
    constraint `c_k = R_k - r_k`, the loss gets

        (lambda_k + damping / 2 * c_k) * c_k

    (the damping term, `damping / 2 * c_k^2`, vanishes at the target and damps the oscillations
    of plain gradient descent-ascent), and after each optimizer step (training batches only;
    validation and evaluation never touch the multipliers) the multipliers move by dual ascent:

        lambda_k <- clip(lambda_k + lr * mean of c_k over the step's forward passes,
                         -max_multiplier, max_multiplier)

    This is an equality constraint: `lambda_k > 0` pushes the rate down when it is above the
    target, `lambda_k < 0` pushes it up when the task alone would select less, so the rate is
    driven to the target from either side (the paper: "it extracted exactly the percentage of
    text that we specified"). The paper authors' code instead uses a multiplicative update of a
    positive multiplier on a moving average of the constraint, which only bounds the rate from
    above. Under distributed training the measured constraint is averaged over workers before
    the update, so every worker holds the same multipliers.

    Multipliers are part of the trainer checkpoint (`state_dict`), so `allennlp train --recover`
    continues with the same values. Metrics: the callback adds, to the model's `get_metrics` (so
    to the progress bar, `metrics_epoch_*.json` and `metrics.json`), `lagrangian_<name>_lambda`
    (the multiplier), `lagrangian_<name>_rate` (the mean expected penalty since the last metric
    reset, on training or validation data) and `lagrangian_<name>_target`.

    Registered as a `TrainerCallback` with name "lagrangian".

    # Parameters

    serialization_dir : `str`
        Passed by the trainer.
    selection : `float`
        Target expected selection rate (share of non-zero gates over valid positions), in (0, 1).
    transition : `float`, optional (default = `None`)
        Target expected transition rate (zero/non-zero changes per position), in (0, 1). No
        transition constraint when `None`.
    lr : `float`, optional (default = `0.01`)
        Step size of the dual ascent on the multipliers.
    damping : `float`, optional (default = `10.0`)
        Weight of the damping term; `0` gives plain gradient descent-ascent.
    initial_multiplier : `float`, optional (default = `0.0`)
        Starting value of every multiplier.
    max_multiplier : `float`, optional (default = `100.0`)
        Multipliers are clipped to [-max_multiplier, max_multiplier].
    """

    def __init__(
        self,
        serialization_dir: str,
        selection: float,
        transition: Optional[float] = None,
        lr: float = 0.01,
        damping: float = 10.0,
        initial_multiplier: float = 0.0,
        max_multiplier: float = 100.0,
    ) -> None:
        super().__init__(serialization_dir)
        self.targets: Dict[str, float] = {"selection": selection}
        if transition is not None:
            self.targets["transition"] = transition
        for name, target in self.targets.items():
            if not 0.0 < target < 1.0:
                raise ConfigurationError(f"lagrangian: target {name}={target} must lie in (0, 1)")
        if lr <= 0:
            raise ConfigurationError(f"lagrangian: lr must be positive, got {lr}")
        if damping < 0:
            raise ConfigurationError(f"lagrangian: damping must be >= 0, got {damping}")
        if max_multiplier <= 0:
            raise ConfigurationError("lagrangian: max_multiplier must be positive")
        self.lr = lr
        self.max_multiplier = max_multiplier
        self.damping = damping
        self.multipliers: Dict[str, float] = {k: float(initial_multiplier) for k in self.targets}
        self._steps = 0
        # Constraint values (R - r) of the training forward passes since the last optimizer step.
        self._pending: List[Dict[str, float]] = []
        # Sums and counts of measured rates since the last metric reset.
        self._rate_sums: Dict[str, float] = {k: 0.0 for k in self.targets}
        self._rate_count = 0
        self._reporters: List[PenaltyReporter] = []
        self._hook: Optional[torch.utils.hooks.RemovableHandle] = None
        self._model: Optional[Model] = None

    # Attaching to the model.

    def on_start(
        self, trainer: "GradientDescentTrainer", is_primary: bool = True, **kwargs
    ) -> None:
        self.attach(trainer.model)

    def on_end(self, trainer: "GradientDescentTrainer", *args, **kwargs) -> None:
        self.detach()

    def attach(self, model: Model) -> None:
        """Finds the penalty reporters of `model`, hooks its forward pass and its metrics."""
        self.detach()
        self._reporters = [m for m in model.modules() if isinstance(m, PenaltyReporter)]
        if not self._reporters:
            raise ConfigurationError(
                "The 'lagrangian' callback found no module that reports expected penalties in "
                f"{type(model).__name__} (expected e.g. a 'latent_rationale' encoder with a "
                "HardKuma gate, or a 'hardkuma' matrix attention)."
            )
        self._model = model
        self._hook = model.register_forward_hook(self._forward_hook)
        model_get_metrics = model.get_metrics

        def get_metrics(reset: bool = False) -> Dict[str, float]:
            metrics = model_get_metrics(reset)
            metrics.update(self.get_metrics(reset))
            return metrics

        # An instance attribute shadows the class method; `detach` removes it again.
        model.get_metrics = get_metrics  # type: ignore[method-assign]

    def detach(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self._model is not None:
            self._model.__dict__.pop("get_metrics", None)
            self._model = None

    def _measured_penalties(self) -> Dict[str, torch.Tensor]:
        measured: Dict[str, List[torch.Tensor]] = {k: [] for k in self.targets}
        for reporter in self._reporters:
            for name, value in reporter.expected_penalties().items():
                if name in measured:
                    measured[name].append(value)
        missing = [name for name, values in measured.items() if not values]
        if missing:
            raise ConfigurationError(
                f"The 'lagrangian' callback has targets for {missing}, but no module of the model "
                f"reported them (reported: "
                f"{sorted({n for r in self._reporters for n in r.expected_penalties()})})."
            )
        return {name: torch.stack(values).mean() for name, values in measured.items()}

    def _forward_hook(self, module: Model, inputs: Any, output_dict: Dict[str, Any]):
        penalties = self._measured_penalties()
        for name, rate in penalties.items():
            self._rate_sums[name] += float(rate.detach())
        self._rate_count += 1
        if not module.training or "loss" not in output_dict:
            return output_dict
        constraint_terms = 0.0
        constraints = {}
        for name, rate in penalties.items():
            constraint = rate - self.targets[name]
            constraints[name] = float(constraint.detach())
            constraint_terms = (
                constraint_terms
                + (self.multipliers[name] + 0.5 * self.damping * constraint.detach()) * constraint
            )
        self._pending.append(constraints)
        output_dict["loss"] = output_dict["loss"] + constraint_terms
        return output_dict

    # Dual ascent.

    def on_batch(
        self,
        trainer: "GradientDescentTrainer",
        batch_inputs: List[Dict[str, Any]],
        batch_outputs: List[Dict[str, Any]],
        batch_metrics: Dict[str, Any],
        epoch: int,
        batch_number: int,
        is_training: bool,
        is_primary: bool = True,
        batch_grad_norm: Optional[float] = None,
        **kwargs,
    ) -> None:
        if not is_training:
            return
        self.update(self._pending)
        self._pending = []
        batch_metrics.update(self.get_metrics(reset=False))

    def update(self, constraints: List[Dict[str, float]]) -> None:
        """One dual-ascent step from the constraints of one optimizer step's forward passes."""
        if not constraints:
            return
        names = sorted(self.targets)
        measured = torch.tensor(
            [sum(c[name] for c in constraints) / len(constraints) for name in names],
            dtype=torch.float64,
        )
        if dist.is_available() and dist.is_initialized():
            # The default process group may be NCCL: reduce on the model's device.
            device = next(self._model.parameters()).device if self._model is not None else "cpu"
            measured = measured.to(device)
            dist.all_reduce(measured, op=dist.ReduceOp.SUM)
            measured = measured / dist.get_world_size()
        for name, value in zip(names, measured.tolist()):
            multiplier = self.multipliers[name] + self.lr * value
            self.multipliers[name] = max(-self.max_multiplier, min(self.max_multiplier, multiplier))
        self._steps += 1

    # Metrics and checkpoints.

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics: Dict[str, float] = {}
        for name, target in self.targets.items():
            metrics[f"lagrangian_{name}_lambda"] = self.multipliers[name]
            metrics[f"lagrangian_{name}_target"] = target
            if self._rate_count:
                metrics[f"lagrangian_{name}_rate"] = self._rate_sums[name] / self._rate_count
        if reset:
            self._rate_sums = {k: 0.0 for k in self.targets}
            self._rate_count = 0
        return metrics

    def state_dict(self) -> Dict[str, Any]:
        return {
            "multipliers": dict(self.multipliers),
            "steps": self._steps,
        }

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        if set(state_dict["multipliers"]) != set(self.targets):
            raise ConfigurationError(
                f"The checkpoint's Lagrange multipliers {sorted(state_dict['multipliers'])} do not "
                f"match the configured targets {sorted(self.targets)}."
            )
        self.multipliers = dict(state_dict["multipliers"])
        self._steps = state_dict["steps"]

import logging
import math
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import torch
import torch.distributed as dist
from allennlp.common.checks import ConfigurationError
from allennlp.models import Model
from allennlp.nn.util import dist_reduce_sum
from allennlp.training.callbacks.callback import TrainerCallback

from hardkuma_allennlp.modules.penalty_reporter import PenaltyReporter
from hardkuma_allennlp.training.multiplier_rules import DualAscentRule, MultiplierRule

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

    How each constraint `c_k = R_k - r_k` enters the loss and how its multiplier moves after each
    optimizer step (training batches only; validation and evaluation never touch the multipliers)
    is the `rule`'s business:

    - "dual_ascent" (the default): a signed multiplier moved additively, with a damping term,
      which holds the expected rate at the target from either side. With a fixed target it does
      so from the first steps on, before the gates and the classifier have learned anything;
      with `anneal_epochs` the target starts at the gates' initial rate and narrows linearly,
      so the classifier first learns from (nearly) the whole text, and a signed multiplier can
      always pull collapsing gates back up.
    - "multiplicative", the paper authors' rule: a positive multiplier that starts tiny and
      grows geometrically (at a rate per epoch) while the rate is above the target. It bounds the
      rate from above only.

    Under distributed training the measured constraint is averaged over workers before the update,
    so every worker holds the same multipliers.

    At the start of training the callback checks its targets against the penalties that the
    reporters declare (`PenaltyReporter.penalty_names`), so that e.g. a transition target on
    HardKuma attention, which reports none, is refused before the first batch.

    Model selection. The expected rate is what is constrained, but what a user gets at test time is
    the decoded selection (the model metric that the reporters declare as their
    `selection_metric`: a `rationale_model`'s `selected`, the attention model's
    `nonzero_attention`). The callback therefore also reports
    `lagrangian_selection_miss = max(0, |selected - target| - selection_tolerance)` where the
    model reports that metric; the experiment configs select the best epoch on
    `["+accuracy", "-lagrangian_selection_miss"]` (the sum of the two), so an epoch whose decoded
    selection is far from the target is not picked as best for its accuracy alone.

    Multipliers (and the rule's state, e.g. a moving average) are part of the trainer checkpoint
    (`state_dict`), so `allennlp train --recover` continues with the same values. Metrics: the
    callback adds, to the model's `get_metrics` (so to the progress bar, `metrics_epoch_*.json` and
    `metrics.json`), `lagrangian_<name>_lambda` (the multiplier), `lagrangian_<name>_rate` (the
    mean expected penalty since the last metric reset, on training or validation data),
    `lagrangian_<name>_target` and `lagrangian_selection_miss`. (It wraps the model's
    `get_metrics` because AllenNLP's trainer takes the validation metrics that choose the best
    epoch from `model.get_metrics` before any callback sees them.)

    Registered as a `TrainerCallback` with name "lagrangian".

    # Parameters

    serialization_dir : `str`
        Passed by the trainer.
    selection : `float`
        Target expected selection rate (share of non-zero gates over valid positions), in (0, 1).
    selection_tolerance : `float`, optional (default = `0.01`)
        Distance from the target that `lagrangian_selection_miss` forgives.
    transition : `float`, optional (default = `None`)
        Target expected transition rate (zero/non-zero changes per position), in (0, 1). No
        transition constraint when `None`.
    rule : `MultiplierRule`, optional (default = `"dual_ascent"` with its defaults)
        How multipliers weight the constraints and are updated (default "dual_ascent").
    anneal_epochs : `float`, optional (default = `0`)
        With `n > 0`, the first optimizer step only measures the gates' initial rates (no
        constraint in the loss), and each target then moves linearly from that rate to its
        configured value over `n` epochs (`n` times the optimizer steps of an epoch, counted from
        the training data loader at the start of training, so the schedule is the same on a
        small and a large training set; fractions of an epoch are allowed). The classifier
        learns from (nearly) the whole text first, and the selection narrows as the gates learn
        which tokens matter.
    open_epochs : `float`, optional (default = `0`)
        With `n > 0`, the constraint stays out of the loss for the first `n` epochs (counted like
        `anneal_epochs`, before it): the task loss alone trains the gates and the classifier,
        which learns from (nearly) the whole text, as with the paper authors' multiplier that
        starts tiny. Then the constraint starts (annealed over `anneal_epochs` from the rates
        measured at that step, or at once without annealing).
    """

    def __init__(
        self,
        serialization_dir: str,
        selection: float,
        selection_tolerance: float = 0.01,
        transition: Optional[float] = None,
        rule: Optional[MultiplierRule] = None,
        anneal_epochs: float = 0.0,
        open_epochs: float = 0.0,
    ) -> None:
        super().__init__(serialization_dir)
        self.targets: Dict[str, float] = {"selection": selection}
        if transition is not None:
            self.targets["transition"] = transition
        for name, target in self.targets.items():
            if not 0.0 < target < 1.0:
                raise ConfigurationError(f"lagrangian: target {name}={target} must lie in (0, 1)")
        if not anneal_epochs >= 0:
            raise ConfigurationError(f"lagrangian: anneal_epochs must be >= 0, got {anneal_epochs}")
        if not open_epochs >= 0:
            raise ConfigurationError(f"lagrangian: open_epochs must be >= 0, got {open_epochs}")
        if selection_tolerance < 0:
            raise ConfigurationError("lagrangian: selection_tolerance must be >= 0")
        self.rule = rule if rule is not None else DualAscentRule()
        self.selection_tolerance = selection_tolerance
        self.states: Dict[str, Dict[str, float]] = {
            k: self.rule.initial_state() for k in self.targets
        }
        self.anneal_epochs = anneal_epochs
        self.open_epochs = open_epochs
        # Optimizer steps taken while the constraint was off (`open_epochs`).
        self._open_steps = 0
        # Optimizer steps per epoch, known once training starts (see `attach`).
        self.steps_per_epoch: Optional[int] = None
        self._start_rates: Optional[Dict[str, float]] = None
        self._steps = 0
        # Constraint values (R - r) of the training forward passes since the last optimizer step.
        self._pending: List[Dict[str, float]] = []
        # Sums and counts of measured rates since the last metric reset.
        self._rate_sums: Dict[str, float] = {k: 0.0 for k in self.targets}
        self._rate_count = 0
        self._reporters: List[PenaltyReporter] = []
        self._hook: Optional[torch.utils.hooks.RemovableHandle] = None
        self._model: Optional[Model] = None
        # The model metric with the decoded selection, as the reporters declare it.
        self._selection_metric: Optional[str] = None

    @property
    def multipliers(self) -> Dict[str, float]:
        return {name: state["multiplier"] for name, state in self.states.items()}

    # Attaching to the model.

    def on_start(
        self, trainer: "GradientDescentTrainer", is_primary: bool = True, **kwargs
    ) -> None:
        self.attach(trainer.model, steps_per_epoch(trainer))

    def on_end(self, trainer: "GradientDescentTrainer", *args, **kwargs) -> None:
        self.detach()

    def attach(self, model: Model, steps_per_epoch: Optional[int] = None) -> None:
        """Finds the penalty reporters of `model`, hooks its forward pass and its metrics.
        `steps_per_epoch` (optimizer steps) is needed with `anneal_epochs`."""
        self.detach()
        needs_epochs = self.anneal_epochs > 0 or self.open_epochs > 0
        if (needs_epochs or self.rule.needs_epoch_share) and not steps_per_epoch:
            raise ConfigurationError(
                "lagrangian: anneal_epochs, open_epochs and the multiplicative rule need the "
                "number of optimizer steps per epoch, but the training data loader has no length "
                "(e.g. `max_instances_in_memory` is set); use a data loader whose batches can be "
                "counted"
            )
        self.steps_per_epoch = steps_per_epoch
        self._reporters = [m for m in model.modules() if isinstance(m, PenaltyReporter)]
        if not self._reporters:
            raise ConfigurationError(
                "The 'lagrangian' callback found no module that reports expected penalties in "
                f"{type(model).__name__} (expected e.g. a 'latent_rationale' encoder with a "
                "HardKuma gate, or a 'hardkuma' matrix attention)."
            )
        declared = {name for reporter in self._reporters for name in reporter.penalty_names}
        undeclared = sorted(set(self.targets) - declared)
        if undeclared:
            raise ConfigurationError(
                f"The 'lagrangian' callback has targets for {sorted(self.targets)}, but no module "
                f"of {type(model).__name__} reports {undeclared}; its reporters report: "
                + "; ".join(f"{type(r).__name__}: {list(r.penalty_names)}" for r in self._reporters)
            )
        metrics = sorted({r.selection_metric for r in self._reporters if r.selection_metric})
        if len(metrics) > 1:
            raise ConfigurationError(
                "The 'lagrangian' callback needs one decoded-selection metric, but the penalty "
                f"reporters of {type(model).__name__} declare {metrics}."
            )
        self._selection_metric = metrics[0] if metrics else None
        for reporter in self._reporters:
            if reporter.constraint is not None and reporter.constraint is not self:
                raise ConfigurationError(
                    f"{type(reporter).__name__} is already constrained by another 'lagrangian' "
                    "callback: configure one 'lagrangian' callback per model (it takes a "
                    "selection and a transition target)."
                )
        for reporter in self._reporters:
            reporter.constraint = self
        self._model = model
        self._hook = model.register_forward_hook(self._forward_hook)
        model_get_metrics = model.get_metrics

        def get_metrics(reset: bool = False) -> Dict[str, float]:
            metrics = model_get_metrics(reset)
            metrics.update(self.get_metrics(reset))
            selected = metrics.get(self._selection_metric) if self._selection_metric else None
            if selected is not None:
                miss = abs(selected - self.targets["selection"])
                metrics["lagrangian_selection_miss"] = max(0.0, miss - self.selection_tolerance)
            return metrics

        # An instance attribute shadows the class method; `detach` removes it again.
        model.get_metrics = get_metrics  # type: ignore[method-assign]

    def detach(self) -> None:
        for reporter in self._reporters:
            if reporter.constraint is self:
                reporter.constraint = None
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
        constraint_off = (
            self.anneal_epochs > 0 and self._start_rates is None
        ) or self._constraint_open()
        for name, rate in penalties.items():
            constraint = rate - self.current_target(name)
            constraints[name] = float(constraint.detach())
            if not constraint_off:
                term = self.rule.loss_term(self.states[name], constraint)
                constraint_terms = constraint_terms + term
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
        if self._constraint_open():
            self._open_steps += 1
            return
        if self.anneal_epochs > 0 and self._start_rates is None:
            # The first optimizer step only measures where the gates start (its constraints are
            # relative to the final targets); annealing runs from there.
            self._start_rates = {
                name: value + self.targets[name] for name, value in zip(names, measured.tolist())
            }
            return
        for name, value in zip(names, measured.tolist()):
            self.states[name] = self.rule.step(
                self.states[name],
                value,
                1.0 / self.steps_per_epoch if self.steps_per_epoch else 1.0,
            )
        self._steps += 1

    def _constraint_open(self) -> bool:
        """Whether the constraint is still off (the first `open_epochs` epochs)."""
        if self.open_epochs == 0:
            return False
        return self._open_steps < round(self.open_epochs * self.steps_per_epoch)

    def current_target(self, name: str) -> float:
        """The target of this optimizer step: annealed linearly from the gates' initial rate to
        the configured target over the first `anneal_epochs` epochs, then the configured one."""
        target = self.targets[name]
        if self.anneal_epochs == 0 or self._start_rates is None:
            return target
        progress = min(1.0, self._steps / (self.anneal_epochs * self.steps_per_epoch))
        return self._start_rates[name] + progress * (target - self._start_rates[name])

    # Metrics and checkpoints.

    def get_metrics(self, reset: bool = False) -> Dict[str, float]:
        metrics: Dict[str, float] = {}
        # The mean rate over the forward passes of every worker (not worker 0's alone). Like
        # AllenNLP's own metrics this is a collective call: every worker asks for metrics.
        names = sorted(self.targets)
        sums = [dist_reduce_sum(self._rate_sums[name]) for name in names]
        count = dist_reduce_sum(self._rate_count)
        for name, rate_sum in zip(names, sums):
            metrics[f"lagrangian_{name}_lambda"] = self.multipliers[name]
            metrics[f"lagrangian_{name}_target"] = self.current_target(name)
            if count:
                metrics[f"lagrangian_{name}_rate"] = float(rate_sum) / float(count)
        if reset:
            self._rate_sums = {k: 0.0 for k in self.targets}
            self._rate_count = 0
        return metrics

    def state_dict(self) -> Dict[str, Any]:
        return {
            "multipliers": self.multipliers,
            "states": {name: dict(state) for name, state in self.states.items()},
            "steps": self._steps,
            "start_rates": self._start_rates,
            "open_steps": self._open_steps,
        }

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        if set(state_dict["multipliers"]) != set(self.targets):
            raise ConfigurationError(
                f"The checkpoint's Lagrange multipliers {sorted(state_dict['multipliers'])} do not "
                f"match the configured targets {sorted(self.targets)}."
            )
        if set(state_dict.get("states", {}).get("selection", {})) != set(self.states["selection"]):
            raise ConfigurationError(
                "The checkpoint's Lagrangian state was written by a different multiplier rule "
                f"({sorted(state_dict.get('states', {}).get('selection', {}))}); this run's rule "
                f"{type(self.rule).__name__} keeps {sorted(self.states['selection'])}."
            )
        self.states = {name: dict(state) for name, state in state_dict["states"].items()}
        self._steps = state_dict["steps"]
        self._start_rates = state_dict.get("start_rates")
        self._open_steps = state_dict.get("open_steps", 0)


def steps_per_epoch(trainer: "GradientDescentTrainer") -> Optional[int]:
    """Optimizer steps per epoch of `trainer`, as AllenNLP's trainer counts them (batches of the
    training data loader over the gradient-accumulation group), or None if the loader has no
    length."""
    try:
        batches = len(trainer.data_loader)
    except TypeError:
        return None
    return max(1, math.ceil(batches / getattr(trainer, "_num_gradient_accumulation_steps", 1)))

import copy
import math
import warnings

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model
from allennlp.modules import FeedForward
from allennlp.modules.seq2seq_encoders import PassThroughEncoder
from allennlp.nn import Activation

from hardkuma_allennlp.modules.gates import HardKumaGate
from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.training.lagrangian import LagrangianCallback
from hardkuma_allennlp.training.multiplier_rules import DualAscentRule, MultiplicativeRule


class ToyGatedModel(Model):
    """HardKuma gates over random features; the task loss rewards selecting (or dropping) all."""

    def __init__(self, prefer: float) -> None:
        super().__init__(Vocabulary())
        self.gate = HardKumaGate(PassThroughEncoder(4))
        self.prefer = prefer

    def forward(self, x, mask):
        z = self.gate(x, mask).z
        return {"loss": self.prefer * -(z.sum() / mask.sum()), "z": z}

    def get_metrics(self, reset: bool = False):
        return {"task": 1.0}


def batches(seed: int, count: int):
    generator = torch.Generator().manual_seed(seed)
    for _ in range(count):
        x = torch.randn(16, 12, 4, generator=generator)
        lengths = torch.randint(1, 13, (16,), generator=generator)
        mask = torch.arange(12).unsqueeze(0) < lengths.unsqueeze(1)
        yield x, mask


def train_toy(
    target: float,
    prefer: float,
    steps: int = 800,
    seed: int = 0,
    rule=None,
    lr=1.0,
    steps_per_epoch=100,
):
    torch.manual_seed(seed)
    model = ToyGatedModel(prefer)
    rule = rule if rule is not None else DualAscentRule(lr=0.5, damping=5.0)
    callback = LagrangianCallback("unused", selection=target, rule=rule)
    callback.attach(model, steps_per_epoch)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    rates = []
    for x, mask in batches(seed, steps):
        model.train()
        optimizer.zero_grad()
        model(x, mask)["loss"].backward()
        optimizer.step()
        rates.append(float(model.gate.expected_penalties()["selection"].detach()))
        callback.update(callback._pending)
        callback._pending = []
    return model, callback, rates


@pytest.mark.parametrize("target", [0.1, 0.3, 0.6])
@pytest.mark.parametrize("prefer", [1.0, -1.0])
def test_dual_ascent_drives_selection_rate_to_target(target, prefer):
    # prefer=1: the task wants every token, the multiplier must push the rate down;
    # prefer=-1: the task wants none, the multiplier must go negative and push it up.
    _, callback, rates = train_toy(target, prefer)
    final = sum(rates[-200:]) / 200
    assert abs(final - target) < 0.02, (target, prefer, final)
    assert (callback.multipliers["selection"] > 0) == (prefer > 0)


def test_validation_does_not_change_multipliers_and_loss_gets_constraint_only_in_training():
    model, callback, _ = train_toy(0.3, 1.0, steps=50)
    before = copy.deepcopy(callback.state_dict())
    model.eval()
    x, mask = next(batches(7, 1))
    with torch.no_grad():
        eval_loss = model(x, mask)["loss"]
    # The trainer calls on_batch with is_training=False for validation batches.
    callback.on_batch(None, [], [], {}, 0, 1, is_training=False)
    assert callback.state_dict() == before
    assert callback._pending == []
    # In training mode the hook adds lambda * c + damping / 2 * c^2, c = rate - target.
    model.train()
    torch.manual_seed(3)
    hooked = model(x, mask)
    rate = model.gate.expected_penalties()["selection"]
    torch.manual_seed(3)
    callback.detach()
    plain = model(x, mask)
    c = rate - 0.3
    expected = plain["loss"] + (callback.multipliers["selection"] + 2.5 * c) * c
    assert torch.allclose(hooked["loss"], expected)
    assert "lagrangian_selection_lambda" not in model.get_metrics()
    assert eval_loss.shape == ()


def test_state_dict_round_trip_restores_multipliers_exactly():
    _, callback, _ = train_toy(0.3, 1.0, steps=30)
    state = callback.state_dict()
    restored = LagrangianCallback("unused", selection=0.3, rule=DualAscentRule(lr=0.5, damping=5.0))
    restored.load_state_dict(copy.deepcopy(state))
    assert restored.multipliers == callback.multipliers
    # Both continue identically from the same constraint.
    callback.update([{"selection": 0.05}])
    restored.update([{"selection": 0.05}])
    assert restored.state_dict() == callback.state_dict()
    with pytest.raises(ConfigurationError, match="do not match"):
        LagrangianCallback("unused", selection=0.3, transition=0.1).load_state_dict(state)
    with pytest.raises(ConfigurationError, match="different multiplier rule"):
        LagrangianCallback("unused", selection=0.3, rule=MultiplicativeRule()).load_state_dict(
            state
        )


def test_damping_gradient_is_lambda_plus_damping_times_constraint():
    # The documented objective lambda * c + d / 2 * c^2 has gradient (lambda + d * c) dc.
    rule = DualAscentRule(damping=4.0)
    rate = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    state = {"multiplier": 0.25}
    rule.loss_term(state, rate - 0.3).backward()
    assert rate.grad.item() == pytest.approx(0.25 + 4.0 * 0.4)


def test_multiplicative_rule_starts_small_and_grows_geometrically():
    rule = MultiplicativeRule(lr=0.1, alpha=0.5, initial_multiplier=1e-4)
    state = rule.initial_state()
    assert state["multiplier"] == 1e-4
    rate = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)
    rule.loss_term(state, rate - 0.3).backward()
    assert rate.grad.item() == pytest.approx(1e-4)
    state = rule.step(state, 0.6, 1.0)  # moving average 0.3
    assert state == pytest.approx({"multiplier": 1e-4 * math.exp(0.1 * 0.3), "moving_average": 0.3})
    state = rule.step(state, 0.6, 1.0)  # moving average 0.45
    assert state["multiplier"] == pytest.approx(1e-4 * math.exp(0.1 * 0.75))
    # The rate is per epoch: a step that covers a quarter of an epoch grows it a quarter as much.
    quarter = rule.step(state, 0.6, 0.25)
    assert quarter["multiplier"] == pytest.approx(
        state["multiplier"] * math.exp(0.1 * 0.25 * 0.525)
    )
    # Below the target it shrinks, but never below min_multiplier nor above max_multiplier.
    for _ in range(10_000):
        state = rule.step(state, -1.0, 1.0)
    assert state["multiplier"] == rule.min_multiplier
    for _ in range(10_000):
        state = rule.step(state, 1.0, 1.0)
    assert state["multiplier"] == rule.max_multiplier


def test_multiplicative_rule_lets_the_task_learn_first_where_dual_ascent_does_not():
    # The schedule of issue 9: early on, the task (here: keep every token) decides, and the
    # constraint only bites once the violation has lasted; dual ascent bites at once.
    _, _, multiplicative = train_toy(
        0.3, 1.0, steps=100, rule=MultiplicativeRule(), lr=0.1, steps_per_epoch=342
    )
    _, _, dual_ascent = train_toy(0.3, 1.0, steps=100, lr=0.1)
    assert multiplicative[-1] > multiplicative[0] > 0.7
    assert dual_ascent[-1] < 0.45


class ToySelectedModel(ToyGatedModel):
    selected = 0.0

    def get_metrics(self, reset: bool = False):
        return {"selected": self.selected}


def test_selection_miss_reports_distance_beyond_tolerance():
    model = ToySelectedModel(1.0)
    LagrangianCallback("unused", selection=0.3).attach(model)
    model.selected = 0.42
    assert model.get_metrics()["lagrangian_selection_miss"] == pytest.approx(0.11)
    model.selected = 0.295
    assert model.get_metrics()["lagrangian_selection_miss"] == 0.0
    model.selected = 0.1
    assert model.get_metrics()["lagrangian_selection_miss"] == pytest.approx(0.19)


def test_metrics_show_multiplier_rate_and_target():
    model, callback, _ = train_toy(0.3, 1.0, steps=20)
    metrics = model.get_metrics()
    assert metrics["task"] == 1.0
    assert metrics["lagrangian_selection_lambda"] == callback.multipliers["selection"]
    assert metrics["lagrangian_selection_target"] == 0.3
    assert 0.0 < metrics["lagrangian_selection_rate"] < 1.0
    model.get_metrics(reset=True)
    assert "lagrangian_selection_rate" not in model.get_metrics()


def test_misconfiguration_is_reported_early():
    with pytest.raises(ConfigurationError, match="must lie in"):
        LagrangianCallback("unused", selection=1.5)
    callback = LagrangianCallback("unused", selection=0.3, transition=0.1)
    with pytest.raises(ConfigurationError, match="found no module"):
        callback.attach(Model(Vocabulary()))


class ToyAttentionModel(Model):
    """HardKuma attention, whose model reports its decoded selection as `nonzero_attention`."""

    def __init__(self) -> None:
        super().__init__(Vocabulary())
        linear = FeedForward(4, 1, 3, Activation.by_name("linear")())
        self.attention = HardKumaMatrixAttention(linear, linear)

    def get_metrics(self, reset: bool = False):
        return {"selected": 0.9, "nonzero_attention": 0.25}


def test_targets_are_checked_against_the_declared_penalties_at_the_start():
    callback = LagrangianCallback("unused", selection=0.1, transition=0.05)
    with pytest.raises(ConfigurationError) as error:
        callback.attach(ToyAttentionModel())
    # Both sides: the configured targets and what each reporter declares.
    assert "['selection', 'transition']" in str(error.value)
    assert "reports ['transition']" in str(error.value)
    assert "HardKumaMatrixAttention: ['selection']" in str(error.value)
    callback = LagrangianCallback("unused", selection=0.1, transition=0.05)
    callback.attach(ToyGatedModel(1.0))  # HardKuma gates report both


def test_selection_miss_reads_the_metric_that_the_reporters_declare():
    model = ToyAttentionModel()
    LagrangianCallback("unused", selection=0.2, selection_tolerance=0.0).attach(model)
    assert model.get_metrics()["lagrangian_selection_miss"] == pytest.approx(0.05)


def test_one_multiplier_update_per_optimizer_step_under_gradient_accumulation(
    tmp_path, monkeypatch
):
    from allennlp.commands.train import train_model_from_file

    from tests import FIXTURES_ROOT

    group_sizes = []
    original_update = LagrangianCallback.update

    def spy(self, constraints):
        group_sizes.append(len(constraints))
        return original_update(self, constraints)

    monkeypatch.setattr(LagrangianCallback, "update", spy)
    train_model_from_file(
        FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet",
        tmp_path,
        overrides='{"trainer.num_epochs": 1, "trainer.num_gradient_accumulation_steps": 2}',
    )
    # 16 training trees in batches of 5: 4 batches, so 2 optimizer steps of 2 forward passes.
    assert group_sizes == [2, 2]


def test_two_lagrangian_callbacks_on_one_model_are_rejected():
    model = ToyGatedModel(1.0)
    first = LagrangianCallback("unused", selection=0.3)
    first.attach(model)
    first.attach(model)  # attaching the same callback again (a --recover) is fine
    with pytest.raises(ConfigurationError, match="already constrained by another"):
        LagrangianCallback("unused", selection=0.2).attach(model)
    first.detach()
    LagrangianCallback("unused", selection=0.2).attach(model)


def test_a_hardkuma_gate_training_without_a_constraint_warns_once(caplog):
    model = ToyGatedModel(1.0).train()
    x, mask = next(batches(0, 1))
    with pytest.warns(UserWarning, match="training without a constraint"):
        model(x, mask)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model(x, mask)  # once per module
        constrained = ToyGatedModel(1.0).train()
        LagrangianCallback("unused", selection=0.3).attach(constrained)
        constrained(x, mask)
        model.eval()(x, mask)


class _Loader:
    """A stand-in for a training data loader: all the callback asks of it is its length."""

    def __init__(self, batches: int) -> None:
        self.batches = batches

    def __len__(self) -> int:
        return self.batches


@pytest.mark.parametrize("accumulation", [1, 2])
def test_schedules_are_the_same_in_epochs_on_a_small_and_a_large_training_set(accumulation):
    # 9k and 80k reviews in batches of 256: 36 and 313 batches an epoch. The annealed target and
    # the multiplicative multiplier must be where they are after the same share of training.
    from types import SimpleNamespace

    def run(batches: int, rule, anneal_epochs: float, epochs: float = 1.5):
        torch.manual_seed(0)
        model = ToyGatedModel(1.0)
        callback = LagrangianCallback(
            "unused", selection=0.1, rule=rule, anneal_epochs=anneal_epochs
        )
        trainer = SimpleNamespace(
            model=model,
            data_loader=_Loader(batches),
            _num_gradient_accumulation_steps=accumulation,
        )
        callback.on_start(trainer)
        steps = math.ceil(batches / accumulation)
        assert callback.steps_per_epoch == steps
        # A constant violation: the expected rate stays at 0.9 (the gates do not move).
        for _ in range(round(epochs * steps)):
            callback.update([{"selection": 0.9 - callback.current_target("selection")}])
        return callback

    small, large = (run(b, DualAscentRule(), anneal_epochs=3.0) for b in (36, 313))
    # 1.5 of 3 epochs: halfway from the initial rate 0.9 to 0.1.
    for callback in (small, large):
        assert callback.current_target("selection") == pytest.approx(0.5, abs=0.02)
    small, large = (
        run(b, MultiplicativeRule(lr=2.0, alpha=0.0, initial_multiplier=1e-5), 0.0)
        for b in (36, 313)
    )
    # exp(2 * 0.8 * 1.5) times the initial multiplier after 1.5 epochs, on both sizes.
    for callback in (small, large):
        assert callback.multipliers["selection"] == pytest.approx(1e-5 * math.exp(2.4), rel=0.02)


def test_a_schedule_in_epochs_needs_a_data_loader_with_a_length():
    with pytest.raises(ConfigurationError, match="steps per epoch"):
        LagrangianCallback("unused", selection=0.1, anneal_epochs=2).attach(ToyGatedModel(1.0))
    with pytest.raises(ConfigurationError, match="steps per epoch"):
        LagrangianCallback("unused", selection=0.1, rule=MultiplicativeRule()).attach(
            ToyGatedModel(1.0)
        )


def test_an_upper_bound_leaves_a_rate_below_its_target_alone():
    # prefer=-1: the task wants no token. Two-sided, the multiplier goes negative and pushes the
    # rate up to the target; as an upper bound it stays at 0 and the rate falls below.
    _, two_sided, rates = train_toy(0.3, -1.0)
    assert abs(sum(rates[-200:]) / 200 - 0.3) < 0.02
    _, bounded, rates = train_toy(
        0.3, -1.0, rule=DualAscentRule(lr=0.5, damping=5.0, upper_bound=True)
    )
    assert bounded.multipliers["selection"] == 0.0
    assert sum(rates[-200:]) / 200 < 0.1
    # Above the target it holds the rate there, as the two-sided rule does.
    _, bounded, rates = train_toy(
        0.3, 1.0, rule=DualAscentRule(lr=0.5, damping=5.0, upper_bound=True)
    )
    assert abs(sum(rates[-200:]) / 200 - 0.3) < 0.02 and bounded.multipliers["selection"] > 0


def test_upper_bound_loss_term_damps_above_the_target_only():
    rule = DualAscentRule(damping=10.0, upper_bound=True)
    state = {"multiplier": 0.5}
    below = torch.tensor(-0.2, requires_grad=True)
    rule.loss_term(state, below).backward()
    assert below.grad.item() == pytest.approx(0.5)
    above = torch.tensor(0.2, requires_grad=True)
    rule.loss_term(state, above).backward()
    assert above.grad.item() == pytest.approx(0.5 + 10.0 * 0.2)
    assert rule.step({"multiplier": 0.001}, -0.5, 1.0)["multiplier"] == 0.0
    with pytest.raises(ConfigurationError, match="upper bound"):
        DualAscentRule(upper_bound=True, initial_multiplier=-1.0)


def test_open_epochs_keep_the_constraint_out_of_the_loss_then_anneal_from_the_rate_then():
    from types import SimpleNamespace

    model = ToyGatedModel(1.0)
    callback = LagrangianCallback("unused", selection=0.1, open_epochs=2, anneal_epochs=1)
    callback.on_start(SimpleNamespace(model=model, data_loader=_Loader(10)))
    x, mask = next(batches(0, 1))
    for step in range(20):
        model.train()
        output = model(x, mask)
        # No constraint term in the loss while open.
        assert output["loss"].item() == pytest.approx(-(output["z"].sum() / mask.sum()).item())
        callback.update([{"selection": 0.7 - 0.1}])
        assert callback.multipliers["selection"] == 0.0
    callback._pending = []
    # The first step after the open epochs measures the start rate (0.7), then the target anneals
    # from it over one epoch (10 steps).
    callback.update([{"selection": 0.6}])
    assert callback.current_target("selection") == pytest.approx(0.7)
    for _ in range(5):
        callback.update([{"selection": 0.7 - callback.current_target("selection")}])
    assert callback.current_target("selection") == pytest.approx(0.4)
    # Checkpoints keep where the schedule is.
    restored = LagrangianCallback("unused", selection=0.1, open_epochs=2, anneal_epochs=1)
    restored.load_state_dict(callback.state_dict())
    restored.steps_per_epoch = 10
    assert restored.current_target("selection") == pytest.approx(0.4)
    assert restored._open_steps == 20

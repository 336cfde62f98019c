import copy

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Vocabulary
from allennlp.models import Model
from allennlp.modules.seq2seq_encoders import PassThroughEncoder

from hardkuma_allennlp.modules.gates import HardKumaGate
from hardkuma_allennlp.training.lagrangian import LagrangianCallback


class ToyGatedModel(Model):
    """HardKuma gates over random features; the task loss rewards selecting (or dropping) all."""

    def __init__(self, prefer: float) -> None:
        super().__init__(Vocabulary())
        self.gate = HardKumaGate(PassThroughEncoder(4))
        self.prefer = prefer

    def forward(self, x, mask):
        z = self.gate(x, mask)
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


def train_toy(target: float, prefer: float, steps: int = 800, seed: int = 0):
    torch.manual_seed(seed)
    model = ToyGatedModel(prefer)
    callback = LagrangianCallback("unused", selection=target, lr=0.5, damping=5.0)
    callback.attach(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
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
def test_controller_drives_selection_rate_to_target(target, prefer):
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
    # In training mode the hook adds (lambda + damping / 2 * c) * c, c = rate - target.
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
    restored = LagrangianCallback("unused", selection=0.3, lr=0.5)
    restored.load_state_dict(copy.deepcopy(state))
    assert restored.multipliers == callback.multipliers
    # Both continue identically from the same constraint.
    callback.update([{"selection": 0.05}])
    restored.update([{"selection": 0.05}])
    assert restored.state_dict() == callback.state_dict()
    with pytest.raises(ConfigurationError, match="do not match"):
        LagrangianCallback("unused", selection=0.3, transition=0.1).load_state_dict(state)


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

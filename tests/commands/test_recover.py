import pytest
import torch
from allennlp.commands.train import train_model_from_file

from hardkuma_allennlp.training.lagrangian import LagrangianCallback
from tests import FIXTURES_ROOT


class Crash(Exception):
    pass


def test_recover_continues_with_the_checkpointed_multipliers(tmp_path, monkeypatch):
    config = FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet"
    original_on_batch = LagrangianCallback.on_batch

    def crash_in_second_epoch(self, trainer, *args, **kwargs):
        if args[3] == 1:  # epoch
            raise Crash()
        return original_on_batch(self, trainer, *args, **kwargs)

    monkeypatch.setattr(LagrangianCallback, "on_batch", crash_in_second_epoch)
    with pytest.raises(Crash):
        train_model_from_file(config, tmp_path)
    saved = torch.load(tmp_path / "training_state_e1_b0.th", weights_only=False)
    saved_states = [s for s in saved["callbacks"] if "multipliers" in s]
    assert len(saved_states) == 1 and saved_states[0]["multipliers"]["selection"] != 0.0

    monkeypatch.setattr(LagrangianCallback, "on_batch", original_on_batch)
    seen_at_start = []
    original_on_start = LagrangianCallback.on_start

    def spy(self, trainer, **kwargs):
        seen_at_start.append(self.state_dict())
        return original_on_start(self, trainer, **kwargs)

    monkeypatch.setattr(LagrangianCallback, "on_start", spy)
    train_model_from_file(config, tmp_path, recover=True)
    assert seen_at_start == saved_states
    assert (tmp_path / "model.tar.gz").exists()

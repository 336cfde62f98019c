"""The `hardkuma_atomic` checkpointer: a checkpoint is complete or absent, a full disk says so and
names the file, and `--recover` names a checkpoint file it cannot read (issue 26, item 6)."""

import errno
import io
import json
import os
import re
from pathlib import Path

import pytest
import torch
from allennlp.commands.train import train_model_from_file
from allennlp.common import Params
from allennlp.training.checkpointer import Checkpointer
from allennlp.training.trainer import TrainerCheckpoint

from hardkuma_allennlp.training.checkpointer import (
    AtomicCheckpointer,
    CheckpointReadError,
    DiskFullError,
    save_atomically,
)
from tests import CONFIG_ROOT, FIXTURES_ROOT

REAL_SAVE = torch.save
CONFIG = FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet"
ATOMIC = json.dumps({"trainer.checkpointer": {"type": "hardkuma_atomic"}})


class FakeTrainer:
    """What a `Checkpointer` asks of the trainer: the state to save."""

    def __init__(self, epochs_completed: int):
        self.state = TrainerCheckpoint(
            {"weight": torch.full((50, 50), float(epochs_completed))},
            {"epochs_completed": epochs_completed, "batches_in_epoch_completed": 0, "version": 1},
        )

    def get_checkpoint_state(self):
        return self.state


def failing_save(fail_from_call: int = 1):
    """A `torch.save` that, from its `fail_from_call`-th call on, writes half of what it would
    and then fails as a full disk does."""
    calls = [0]

    def save(obj, f, *args, **kwargs):
        calls[0] += 1
        if calls[0] < fail_from_call:
            return REAL_SAVE(obj, f, *args, **kwargs)
        buffer = io.BytesIO()
        REAL_SAVE(obj, buffer)
        data = buffer.getvalue()
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as handle:
                handle.write(data[: len(data) // 2])
        else:
            f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    return save


def snapshot(directory: Path):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def test_registered():
    checkpointer = Checkpointer.from_params(
        Params({"type": "hardkuma_atomic", "keep_most_recent_by_count": 3}),
        serialization_dir="/tmp/unused",
    )
    assert isinstance(checkpointer, AtomicCheckpointer)


def test_saves_and_loads_like_allennlps_checkpointer(tmp_path):
    atomic, default = tmp_path / "atomic", tmp_path / "default"
    atomic.mkdir(), default.mkdir()
    for directory, kind in ((atomic, AtomicCheckpointer), (default, Checkpointer)):
        checkpointer = kind(directory, keep_most_recent_by_count=2)
        for epoch in (1, 2, 3):
            checkpointer.save_checkpoint(FakeTrainer(epoch))
    assert (
        sorted(os.listdir(atomic))
        == sorted(os.listdir(default))
        == [
            "model_state_e2_b0.th",
            "model_state_e3_b0.th",
            "training_state_e2_b0.th",
            "training_state_e3_b0.th",
        ]
    )
    loaded = AtomicCheckpointer(atomic).load_checkpoint()
    assert loaded.trainer_state["epochs_completed"] == 3
    assert torch.equal(loaded.model_state["weight"], torch.full((50, 50), 3.0))


@pytest.mark.parametrize("fail_from_call, which", [(1, "training_state"), (2, "model_state")])
def test_a_full_disk_leaves_the_previous_checkpoint_and_no_partial_file(
    tmp_path, monkeypatch, fail_from_call, which
):
    checkpointer = AtomicCheckpointer(tmp_path)
    checkpointer.save_checkpoint(FakeTrainer(1))
    before = snapshot(tmp_path)

    monkeypatch.setattr(torch, "save", failing_save(fail_from_call))
    failed = str(tmp_path / f"{which}_e2_b0.th")
    with pytest.raises(DiskFullError, match=rf"the disk is full: .*{re.escape(failed)}") as error:
        checkpointer.save_checkpoint(FakeTrainer(2))
    assert error.value.errno == errno.ENOSPC
    assert error.value.filename == failed
    assert isinstance(error.value.__cause__, OSError)

    # The previous checkpoint byte for byte, nothing of the failed one (no temporary file).
    assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["model_state_e1_b0.th", "training_state_e1_b0.th"]
    monkeypatch.setattr(torch, "save", REAL_SAVE)
    assert AtomicCheckpointer(tmp_path).load_checkpoint().trainer_state["epochs_completed"] == 1


def test_other_write_errors_are_reraised_and_cleaned_up(tmp_path, monkeypatch):
    def broken(obj, f, *args, **kwargs):
        f.write(b"PK partial")
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError) as error:
        save_atomically({"a": 1}, str(tmp_path / "x.th"))
    assert not isinstance(error.value, DiskFullError) and error.value.errno == errno.EIO
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_real_enospc_from_the_kernel(tmp_path, monkeypatch):
    # /dev/full fails every write with ENOSPC, as a full disk does.
    import tempfile

    placeholder = tmp_path / ".x.th.tmp"
    placeholder.write_bytes(b"")
    monkeypatch.setattr(
        tempfile, "mkstemp", lambda **kwargs: (os.open("/dev/full", os.O_WRONLY), str(placeholder))
    )
    target = tmp_path / "x.th"
    with pytest.raises(DiskFullError, match=rf"the disk is full: .*{re.escape(str(target))}"):
        save_atomically({"weight": torch.zeros(100_000)}, str(target))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("damaged", ["model_state", "training_state"])
def test_recover_names_a_truncated_checkpoint_file(tmp_path, damaged):
    checkpointer = AtomicCheckpointer(tmp_path, keep_most_recent_by_count=None)
    checkpointer.save_checkpoint(FakeTrainer(1))
    checkpointer.save_checkpoint(FakeTrainer(2))
    path = tmp_path / f"{damaged}_e2_b0.th"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        CheckpointReadError,
        match=rf"{re.escape(str(path))} is truncated or unreadable .*previous checkpoint "
        r"\(model_state_e1_b0.th\)",
    ):
        AtomicCheckpointer(tmp_path).load_checkpoint()


def test_recover_names_a_missing_training_state(tmp_path):
    checkpointer = AtomicCheckpointer(tmp_path)
    checkpointer.save_checkpoint(FakeTrainer(1))
    os.remove(tmp_path / "training_state_e1_b0.th")
    with pytest.raises(
        CheckpointReadError, match=r"training_state_e1_b0.th is missing; there is no older"
    ):
        AtomicCheckpointer(tmp_path).load_checkpoint()


def test_training_on_a_full_disk_then_recover(tmp_path, monkeypatch):
    # Epoch 1's checkpoint is two torch.save calls; the disk is full from the third on.
    monkeypatch.setattr(torch, "save", failing_save(fail_from_call=3))
    with pytest.raises(DiskFullError, match="the disk is full: could not write the checkpoint"):
        train_model_from_file(CONFIG, tmp_path, overrides=ATOMIC)
    names = sorted(os.listdir(tmp_path))
    assert "model_state_e1_b0.th" in names and "training_state_e1_b0.th" in names
    assert not [n for n in names if "_e2_" in n or n.endswith(".tmp")], names

    # Space freed: --recover continues from epoch 1's checkpoint and finishes.
    monkeypatch.setattr(torch, "save", REAL_SAVE)
    train_model_from_file(CONFIG, tmp_path, overrides=ATOMIC, recover=True)
    assert (tmp_path / "model.tar.gz").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["epoch"] == 1


def test_recover_from_a_truncated_checkpoint_names_the_file(tmp_path):
    overrides = json.dumps({**json.loads(ATOMIC), "trainer.num_epochs": 1})
    train_model_from_file(CONFIG, tmp_path, overrides=overrides)
    damaged = tmp_path / "training_state_e1_b0.th"
    data = damaged.read_bytes()
    damaged.write_bytes(data[:100])  # as a full disk left it with AllenNLP's checkpointer
    with pytest.raises(CheckpointReadError, match=re.escape(str(damaged))):
        train_model_from_file(CONFIG, tmp_path, overrides=overrides, recover=True)


def test_temporary_files_of_a_killed_save_are_removed_at_the_start(tmp_path):
    stale = tmp_path / ".model_state_e2_b0.th.abc123.tmp"
    stale.write_bytes(b"PK half a checkpoint")
    unrelated = tmp_path / ".notes.tmp"
    unrelated.write_bytes(b"mine")
    AtomicCheckpointer(tmp_path)
    assert not stale.exists() and unrelated.exists()


@pytest.mark.parametrize("config", sorted(CONFIG_ROOT.glob("*.jsonnet")), ids=lambda p: p.stem)
def test_every_shipped_config_uses_it(config):
    trainer = Params.from_file(str(config)).as_dict()["trainer"]
    assert trainer["checkpointer"] == {"type": "hardkuma_atomic"}

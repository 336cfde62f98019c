"""
Checkpoints that are complete or absent: each state file is written to a temporary file in the
serialization directory and renamed into place only once it is whole, so a full disk, a crash or
a kill during a save never leaves a truncated `model_state_*.th` / `training_state_*.th` behind,
and the previous checkpoint stays usable for `allennlp train --recover`.
"""

import errno
import glob
import logging
import os
import tempfile
from typing import Any, List, Optional, Union

import torch
from allennlp.common.checks import ConfigurationError
from allennlp.nn import util as nn_util
from allennlp.training.checkpointer import Checkpointer
from allennlp.training.trainer import Trainer, TrainerCheckpoint

logger = logging.getLogger(__name__)

# Out of space, or over a disk quota.
_DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskFullError(OSError):
    """A checkpoint could not be written because the disk (or the user's quota) is full."""


class CheckpointReadError(ConfigurationError):
    """
    A checkpoint file that `--recover` cannot read; the message names the file. Not a
    `RuntimeError`: AllenNLP's trainer replaces those, from restoring a checkpoint, with a
    message that names no file.
    """


def save_atomically(obj: Any, path: str) -> None:
    """
    `torch.save(obj, path)`, but complete or not at all: the data goes to a temporary file next
    to `path` (a name that AllenNLP's checkpoint patterns do not match), is flushed to the disk,
    and is renamed to `path` only then (`os.replace`, atomic on POSIX and Windows). On any error
    the temporary file is removed and `path` is left as it was. A full disk raises a
    `DiskFullError` that says so and names `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
    )
    try:
        # A Python file object, not a path: torch then writes through Python's `write`, so a full
        # disk is an `OSError` with its errno, not "[enforce fail at inline_container.cc]".
        with os.fdopen(handle, "wb") as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        try:
            os.remove(temporary)
        except OSError:
            pass
        if isinstance(error, OSError) and error.errno in _DISK_FULL_ERRNOS:
            raise DiskFullError(
                error.errno,
                f"the disk is full: could not write the checkpoint {path} "
                f"({os.strerror(error.errno)}). Nothing was written there and the previous "
                f"checkpoints in {directory} are intact; free some space and continue with "
                "`allennlp train ... --recover`",
                path,
            ) from error
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    # Makes the rename itself durable; not possible (nor needed) everywhere, e.g. on Windows.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@Checkpointer.register("hardkuma_atomic")
class AtomicCheckpointer(Checkpointer):
    """
    AllenNLP's default `Checkpointer` (same parameters, file names and retention), but every
    checkpoint is complete or absent:

    - Each state file is written to a temporary file and renamed into place once whole (see
      `save_atomically`). The training state is renamed first and the model state last, and
      AllenNLP finds checkpoints by their model state file, so a save that fails half-way leaves
      no checkpoint that `--recover` would pick up, and the previous one is still the latest.
    - A full disk (`ENOSPC`, or `EDQUOT` for a quota) raises a `DiskFullError` whose message says
      that the disk is full and names the file, instead of PyTorch's
      `RuntimeError: [enforce fail at inline_container.cc:672]`.
    - Temporary files left by a run that was killed while saving are removed when the
      checkpointer is created (i.e. at the start of a `--recover` run).
    - Loading (`--recover`) a checkpoint file that is missing, truncated or otherwise unreadable
      (e.g. one left by a run without this checkpointer) raises a `CheckpointReadError` naming
      the file and what to do about it.

    Registered as a `Checkpointer` with name "hardkuma_atomic". Use it with
    `"trainer": {"checkpointer": {"type": "hardkuma_atomic"}}`.

    # Parameters

    As for AllenNLP's `Checkpointer`: `serialization_dir`, `save_completed_epochs`,
    `save_every_num_seconds`, `save_every_num_batches`, `keep_most_recent_by_count`,
    `keep_most_recent_by_age`.
    """

    def __init__(self, serialization_dir: Union[str, os.PathLike], **kwargs) -> None:
        super().__init__(serialization_dir, **kwargs)
        if self._is_primary:
            self._remove_stale_temporary_files()

    def _remove_stale_temporary_files(self) -> None:
        # Temporary files of a run that was killed while saving (nothing else writes these
        # names): they are never a checkpoint, and only take space.
        for state_name in ("model_state", "training_state"):
            pattern = os.path.join(self._serialization_dir, f".{state_name}_e*_b*.th.*.tmp")
            for path in glob.glob(pattern):
                logger.info("Removing %s, left by a checkpoint save that did not finish", path)
                try:
                    os.remove(path)
                except OSError:
                    pass

    def save_checkpoint(self, trainer: Trainer) -> None:
        if self._serialization_dir is None:
            return
        tcps = trainer.get_checkpoint_state()
        if tcps is None:
            # A non-primary worker of distributed training with a non-sharded model.
            assert not self._is_primary and not self.state_is_sharded
            return
        epochs_completed = tcps.trainer_state["epochs_completed"]
        batches_in_epoch_completed = tcps.trainer_state["batches_in_epoch_completed"]
        model_state_path = self._model_state_path(epochs_completed, batches_in_epoch_completed)
        trainer_state_path = self._training_state_path(epochs_completed, batches_in_epoch_completed)
        # As AllenNLP's: a checkpoint that already exists is not written again. The model state
        # is what marks a checkpoint as present, so it goes last; if it cannot be written, the
        # training state written just before it is removed again, so nothing of the checkpoint
        # is left.
        wrote_trainer_state = False
        if not os.path.isfile(trainer_state_path) or not os.path.isfile(model_state_path):
            save_atomically(tcps.trainer_state, trainer_state_path)
            wrote_trainer_state = True
        if not os.path.isfile(model_state_path):
            try:
                save_atomically(tcps.model_state, model_state_path)
            except BaseException:
                if wrote_trainer_state:
                    try:
                        os.remove(trainer_state_path)
                    except OSError:
                        pass
                raise
        # Both files exist now, so AllenNLP's own `save_checkpoint` writes nothing: it keeps its
        # books (when the last save was) and removes old checkpoints as configured.
        super().save_checkpoint(_WrittenState(tcps))  # type: ignore[arg-type]

    def load_checkpoint(self) -> Optional[TrainerCheckpoint]:
        latest = self.find_latest_checkpoint()
        if latest is None:
            return None
        model_path, training_state_path = latest
        others = self._older_checkpoints(model_path)
        model_state = _load(model_path, others)
        training_state = _load(training_state_path, others)
        return TrainerCheckpoint(model_state, training_state)

    def _older_checkpoints(self, latest_model_path: str) -> List[str]:
        latest = self._parse_model_state_path(latest_model_path)
        return [
            os.path.basename(self._model_state_path(*checkpoint))
            for checkpoint in sorted(self._find_all_checkpoints(), reverse=True)
            if checkpoint != latest
        ]


class _WrittenState:
    """Stands in for the trainer: the checkpoint state that was just written."""

    def __init__(self, state: TrainerCheckpoint) -> None:
        self._state = state

    def get_checkpoint_state(self) -> TrainerCheckpoint:
        return self._state


def _load(path: str, older: List[str]) -> Any:
    if older:
        hint = (
            f"delete it and its {'model' if 'training_state' in path else 'training'} state file "
            f"to recover from the previous checkpoint ({older[0]}), or start again without "
            "--recover"
        )
    else:
        hint = "there is no older checkpoint; start again without --recover"
    if not os.path.isfile(path):
        raise CheckpointReadError(f"cannot recover: the checkpoint file {path} is missing; {hint}")
    try:
        # As AllenNLP loads it: onto the CPU first; tensors and plain containers only.
        return torch.load(path, map_location=nn_util.device_mapping(-1), weights_only=True)
    except Exception as error:  # truncated zip, bad pickle, unreadable file, ...
        raise CheckpointReadError(
            f"cannot recover: the checkpoint file {path} is truncated or unreadable "
            f"({type(error).__name__}: {str(error)[:200]}); {hint}"
        ) from error

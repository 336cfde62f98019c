"""
Outputs of the commands that the plugin runs (`allennlp predict`, `evaluate`, `train --force` and
`rationales`) never destroy a file the command was given to read, and never replace a device.

- **Paths are checked before anything is opened.** An output that resolves to an input (the data,
  the model archive, a weights file) or to another output is refused, as is an output that is a
  directory or whose directory does not exist. `train --force` checks that the config reads and
  that its local data files exist, and refuses a serialization directory that holds one of its
  inputs, before it deletes the previous model folder.
- **Written into, not swapped in.** `PendingOutput` writes a regular file through a temporary
  file that replaces it only when the command succeeds. A symlink is followed: its target is
  written (atomically). A device, a FIFO or `-` (standard output) is streamed to: the node itself
  is never replaced.

`install_output_guards` puts the checks in front of the three AllenNLP commands (importing the
plugin installs them, with `.allennlp_plugins` or `--include-package`).
"""

import functools
import inspect
import os
import shutil
import stat
import sys
import tempfile
from typing import Dict, Iterable, List, Optional

from allennlp.common.checks import ConfigurationError


def _is_stream(path: str) -> bool:
    """Whether writing to `path` means writing into an existing node that is not a regular file
    (standard output, a device, a FIFO, a socket)."""
    if path == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _local(path: str) -> bool:
    return bool(path) and "://" not in path and "!" not in path


def _split(value: Optional[str]) -> List[str]:
    """AllenNLP's comma-separated lists of paths (evaluate)."""
    return [part for part in (value or "").split(",") if part]


def check_paths(command: str, outputs: Dict[str, Iterable[str]], inputs: Iterable[str]) -> None:
    """
    Refuses, with a message naming the option and the path, an output that is an input, that is
    another output, that is a directory, or whose directory does not exist. `outputs` maps an
    option (e.g. "--output-file") to its paths; `inputs` are the paths the command reads.
    """
    read = {}
    for path in inputs:
        if _local(path) and os.path.exists(path):
            read[os.path.realpath(path)] = path
    seen: Dict[str, str] = {}
    for option, paths in outputs.items():
        for path in paths:
            if not path or path == "-":
                continue
            where = os.path.realpath(path)
            if where in read:
                raise ConfigurationError(
                    f"{command}: {option} {path} is also an input ({read[where]}): writing it "
                    "would destroy it; choose another output path"
                )
            if _is_stream(path):
                continue
            if where in seen:
                raise ConfigurationError(f"{command}: {seen[where]} and {option} are both {path}")
            seen[where] = option
            if os.path.isdir(path):
                raise ConfigurationError(f"{command}: {option} {path} is a directory, not a file")
            directory = os.path.dirname(where)
            if not os.path.isdir(directory):
                raise ConfigurationError(
                    f"{command}: {option} {path}: the directory {directory} does not exist"
                )


class PendingOutput:
    """
    An output written in full or not at all. For a regular file (or a new one), the text goes to
    a temporary file in the target's directory (a symlink's target, not the link) that `commit`
    moves into place (`os.replace`) with the mode of the file it replaces; `discard` removes it.
    For standard output (`-`), a device or a FIFO the text is kept and written into the node on
    `commit`.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.done = False
        self.stream = _is_stream(path)
        if self.stream:
            self.temporary = None
            self.file = tempfile.TemporaryFile("w+", encoding="utf-8")
            return
        target = os.path.realpath(path)
        descriptor, self.temporary = tempfile.mkstemp(
            dir=os.path.dirname(target), prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
        self.file = os.fdopen(descriptor, "w", encoding="utf-8")

    def commit(self, target: Optional[str] = None) -> str:
        """Writes the output to `target` (default: its path); returns where."""
        target = target or self.path
        if self.stream and target == self.path:
            self.file.seek(0)
            if target == "-":
                shutil.copyfileobj(self.file, sys.stdout)
                sys.stdout.flush()
            else:
                with open(target, "w", encoding="utf-8") as node:
                    shutil.copyfileobj(self.file, node)
            self.file.close()
            self.done = True
            return target
        if self.stream:
            # A second name (e.g. `PATH.partial`) for a streamed output: a regular file.
            self.file.seek(0)
            with PendingOutput(target) as other:
                shutil.copyfileobj(self.file, other.file)
            self.file.close()
            self.done = True
            return target
        resolved = os.path.realpath(target)
        self.file.close()
        os.chmod(self.temporary, _mode_for(resolved))
        os.replace(self.temporary, resolved)
        self.done = True
        return target

    def discard(self) -> None:
        if self.done:
            return
        self.file.close()
        if self.temporary and os.path.exists(self.temporary):
            os.unlink(self.temporary)
        self.done = True

    def __enter__(self) -> "PendingOutput":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()


def _mode_for(path: str) -> int:
    if os.path.exists(path):
        return stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# AllenNLP's commands.


def check_device(command: str, cuda_device) -> None:
    """A GPU asked for where torch sees none is a clear error before anything loads (torch's own
    is a bare `RuntimeError` from deep inside `load_archive`). `cuda_device` is what AllenNLP
    takes: an int (-1 for the CPU), a device string or `torch.device`, or a list of them."""
    import torch

    devices = cuda_device if isinstance(cuda_device, (list, tuple)) else [cuda_device]
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    for device in devices:
        if device is None:
            continue
        if isinstance(device, int) or (isinstance(device, str) and device.lstrip("-").isdigit()):
            index = int(device)
            if index < 0:
                continue
        else:
            parsed = torch.device(device)
            if parsed.type != "cuda":
                continue
            index = parsed.index or 0
        if index >= available:
            raise ConfigurationError(
                f"{command}: --cuda-device {device} asks for a GPU, but torch sees "
                f"{available or 'no'} CUDA device{'s' if available != 1 else ''} here; use "
                "--cuda-device -1 for the CPU"
            )


def _check_predict(args) -> None:
    check_device("predict", args.cuda_device)
    check_paths(
        "predict",
        {"--output-file": [args.output_file or ""]},
        [args.input_file, args.archive_file, getattr(args, "weights_file", None) or ""],
    )
    if args.batch_size < 1:
        raise ConfigurationError(f"predict: --batch-size must be at least 1, got {args.batch_size}")


def _check_evaluate(*args, **kwargs) -> None:
    from allennlp.commands import evaluate

    # The arguments as AllenNLP's `evaluate_from_archive` takes them (by position or by name).
    bound = inspect.signature(evaluate.evaluate_from_archive).bind(*args, **kwargs).arguments
    check_device("evaluate", bound.get("cuda_device", -1))
    check_paths(
        "evaluate",
        {
            "--output-file": _split(bound.get("metrics_output_file")),
            "--predictions-output-file": _split(bound.get("predictions_output_file")),
        },
        [*_split(bound["input_file"]), str(bound["archive_file"]), bound.get("weights_file") or ""],
    )


def _data_paths(params) -> List[str]:
    return [
        str(params.get(key))
        for key in ("train_data_path", "validation_data_path", "test_data_path")
        if isinstance(params.get(key), str)
    ]


def _check_train(parameter_filename, serialization_dir, overrides="", force=False, **_) -> None:
    """Before `--force` deletes the serialization directory: the config must read, its local data
    files must exist, and no input may lie inside the directory."""
    directory = str(serialization_dir)
    if not (force and os.path.isdir(directory)):
        return
    from allennlp.common import Params

    params = Params.from_file(parameter_filename, overrides)
    data = _data_paths(params)
    for path in data:
        if _local(path) and not os.path.exists(path):
            raise ConfigurationError(
                f"train: the data file {path} does not exist; nothing was deleted (--force "
                f"deletes {directory} only once the config's files are found)"
            )
    root = os.path.realpath(directory)
    for path in [str(parameter_filename), *data]:
        if _local(path) and os.path.exists(path):
            where = os.path.realpath(path)
            if os.path.commonpath([root, where]) == root:
                raise ConfigurationError(
                    f"train: --force would delete {directory}, which holds the input {path}; "
                    "nothing was deleted"
                )


def _guarded(function, check):
    @functools.wraps(function)
    def command(*args, **kwargs):
        check(*args, **kwargs)
        return function(*args, **kwargs)

    command._hardkuma_guarded = True  # type: ignore[attr-defined]
    return command


def install_output_guards() -> None:
    """Puts the checks above in front of AllenNLP's `predict`, `evaluate` and `train` (at the
    functions that those commands look up when they run). Idempotent."""
    from allennlp.commands import evaluate, predict, train

    for module, name, check in (
        (predict, "_get_predictor", _check_predict),
        (evaluate, "evaluate_from_archive", _check_evaluate),
        (train, "train_model_from_file", _check_train),
    ):
        function = getattr(module, name)
        if not getattr(function, "_hardkuma_guarded", False):
            setattr(module, name, _guarded(function, check))

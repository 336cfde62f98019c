"""Outputs never destroy an input or replace a device: `PendingOutput`, `check_paths`, and the
guards in front of AllenNLP's `predict`, `evaluate` and `train --force`."""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from allennlp.commands import evaluate, train
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.commands.outputs import PendingOutput, check_paths
from tests import FIXTURES_ROOT, PROJECT_ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def test_a_regular_output_is_replaced_whole_and_only_on_commit(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old")
    output = PendingOutput(str(path))
    output.file.write("new")
    assert path.read_text() == "old"
    output.commit()
    assert path.read_text() == "new"
    discarded = PendingOutput(str(path))
    discarded.file.write("never")
    discarded.discard()
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["out.json"]


def test_a_symlinked_output_writes_its_target_and_stays_a_link(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with PendingOutput(str(link)) as output:
        output.file.write("new")
    assert link.is_symlink() and target.read_text() == "new"


def test_a_fifo_is_written_into_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo).read()))
    reader.start()
    with PendingOutput(str(fifo)) as output:
        output.file.write("streamed")
    reader.join(timeout=10)
    assert received == ["streamed"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_character_device_is_written_into_not_replaced():
    before = os.stat("/dev/null")
    with PendingOutput("/dev/null") as output:
        output.file.write("nothing")
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino


def test_standard_output_is_streamed(capsys):
    with PendingOutput("-") as output:
        output.file.write("to stdout")
    assert capsys.readouterr().out == "to stdout"


def test_outputs_that_are_inputs_or_each_other_are_refused(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("x")
    link = tmp_path / "alias.txt"
    link.symlink_to(data)
    with pytest.raises(ConfigurationError, match=r"--out .*data\.txt is also an input"):
        check_paths("cmd", {"--out": [str(data)]}, [str(data)])
    with pytest.raises(ConfigurationError, match="is also an input"):
        check_paths("cmd", {"--out": [str(link)]}, [str(data)])
    with pytest.raises(ConfigurationError, match="--a and --b are both"):
        check_paths("cmd", {"--a": [str(tmp_path / "o")], "--b": [str(tmp_path / "o")]}, [])
    with pytest.raises(ConfigurationError, match="is a directory"):
        check_paths("cmd", {"--out": [str(tmp_path)]}, [])
    with pytest.raises(ConfigurationError, match="does not exist"):
        check_paths("cmd", {"--out": [str(tmp_path / "no" / "o")]}, [])
    # Devices and standard output may be named by several outputs.
    check_paths("cmd", {"--a": ["/dev/null"], "--b": ["/dev/null", "-"]}, [str(data)])


def test_evaluate_refuses_to_write_onto_its_test_file_or_archive(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("sst_hardkuma")
    test_file = tmp_path / "test.txt"
    test_file.write_bytes((FIXTURES_ROOT / "sst" / "test.txt").read_bytes())
    before = test_file.read_bytes(), archive.read_bytes()
    for option in ("metrics_output_file", "predictions_output_file"):
        for target in (test_file, archive):
            with pytest.raises(ConfigurationError, match="is also an input"):
                evaluate.evaluate_from_archive(
                    archive_file=str(archive), input_file=str(test_file), **{option: str(target)}
                )
    assert (test_file.read_bytes(), archive.read_bytes()) == before


def test_train_force_with_a_missing_data_file_keeps_the_old_model(tmp_path):
    old = tmp_path / "model"
    old.mkdir()
    (old / "model.tar.gz").write_bytes(b"the previous model")
    with pytest.raises(ConfigurationError, match="does not exist; nothing was deleted"):
        train.train_model_from_file(
            parameter_filename=str(FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet"),
            serialization_dir=str(old),
            overrides=json.dumps({"train_data_path": str(tmp_path / "missing.txt")}),
            force=True,
        )
    assert (old / "model.tar.gz").read_bytes() == b"the previous model"


def test_train_force_refuses_a_folder_that_holds_its_config(tmp_path):
    old = tmp_path / "model"
    old.mkdir()
    config = old / "config.jsonnet"
    config.write_text((FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet").read_text())
    (old / "common.libsonnet").write_text(
        (FIXTURES_ROOT / "configs" / "common.libsonnet").read_text()
    )
    with pytest.raises(ConfigurationError, match="holds the input"):
        train.train_model_from_file(
            parameter_filename=str(config), serialization_dir=str(old), force=True
        )
    assert config.exists()


def test_predict_keeps_an_input_named_as_its_output(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("sst_hardkuma")
    source = tmp_path / "input.jsonl"
    source.write_text('{"sentence": "a fine film ."}\n')
    for output, message in ((source, "is also an input"), (archive, "is also an input")):
        before = output.read_bytes()
        result = subprocess.run(
            [ALLENNLP, "predict", str(archive), str(source), "--output-file", str(output),
             "--silent", "--cuda-device", "-1"],
            cwd=PROJECT_ROOT, capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode != 0 and message in result.stderr
        assert output.read_bytes() == before
    result = subprocess.run(
        [ALLENNLP, "predict", str(archive), str(source), "--output-file",
         str(tmp_path / "out.jsonl"), "--batch-size", "0", "--silent"],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0 and "--batch-size must be at least 1" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_check_device_takes_what_allennlp_takes():
    import torch

    from hardkuma_allennlp.commands.outputs import check_device

    for device in (-1, None, "-1", "cpu", torch.device("cpu"), [-1]):
        check_device("cmd", device)
    for device in (99, "99", "cuda:99", torch.device("cuda", 99), [-1, 99]):
        with pytest.raises(ConfigurationError, match="asks for a GPU"):
            check_device("cmd", device)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigurationError, match="--cuda-device cuda asks for a GPU"):
            check_device("cmd", "cuda")


def test_unknown_trainer_keys_are_refused_but_a_subclass_may_take_its_own():
    from allennlp.training import GradientDescentTrainer

    with pytest.raises(ConfigurationError, match=r"trainer\.num_epoch \(did you mean"):
        GradientDescentTrainer.from_partial_objects(
            model=None, serialization_dir="unused", data_loader=None, num_epoch=1
        )

    class Subclass(GradientDescentTrainer):
        def __init__(self, *args, my_flag: bool = False, **kwargs) -> None:
            super().__init__(*args, **kwargs)

    try:  # Fails later, building a trainer of nothing; not on its own key.
        Subclass.from_partial_objects(
            model=None, serialization_dir="unused", data_loader=None, my_flag=True
        )
    except ConfigurationError as error:
        assert "unknown trainer key" not in str(error)
    except Exception:
        pass

import io
import json
import os
import subprocess
import sys
import tarfile

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.models.archival import load_archive

from hardkuma_allennlp.archive_safety import TRUST_VARIABLE, UnsafeArchiveError, check_config_types
from tests import PROJECT_ROOT

CONFIG = "sst_hardkuma"


def _members(archive_path):
    """(name, bytes) of every regular file of a model archive."""
    with tarfile.open(archive_path, "r:gz") as archive:
        return [
            (member.name, archive.extractfile(member).read())
            for member in archive.getmembers()
            if member.isfile()
        ]


def _write(path, members, extra=()):
    """A model archive with `members` (name, bytes) and `extra` TarInfo objects (with bytes or
    None)."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info, data in extra:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, hard=False):
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info, None


@pytest.mark.parametrize(
    "member",
    [
        _file("../escaped.txt"),
        _file("weights/../../escaped.txt"),
        _link("escaped.txt", "../../outside.txt"),
        _link("etc", "/etc"),
        _link("hard.txt", "/etc/passwd", hard=True),
    ],
    ids=["dotdot", "nested-dotdot", "symlink-out", "absolute-symlink", "hardlink"],
)
def test_an_archive_with_a_member_outside_its_folder_is_refused(
    fixture_archive_path, tmp_path, member
):
    (tmp_path / "inner").mkdir()
    members = _members(fixture_archive_path(CONFIG))
    crafted = _write(tmp_path / "inner" / "model.tar.gz", members, [member])
    before = set(os.listdir(tmp_path))
    with pytest.raises(UnsafeArchiveError, match=r"model\.tar\.gz.*refused"):
        load_archive(crafted)
    assert set(os.listdir(tmp_path)) == before
    assert not (tmp_path / "escaped.txt").exists()


def test_an_absolute_member_is_refused(fixture_archive_path, tmp_path):
    target = tmp_path / "absolute.txt"
    crafted = _write(
        tmp_path / "model.tar.gz", _members(fixture_archive_path(CONFIG)), [_file(str(target))]
    )
    with pytest.raises(UnsafeArchiveError, match="absolute path"):
        load_archive(crafted)
    assert not target.exists()


def test_a_fifo_member_is_refused(fixture_archive_path, tmp_path):
    info = tarfile.TarInfo("pipe")
    info.type = tarfile.FIFOTYPE
    crafted = _write(
        tmp_path / "model.tar.gz", _members(fixture_archive_path(CONFIG)), [(info, None)]
    )
    with pytest.raises(UnsafeArchiveError, match="device file or FIFO"):
        load_archive(crafted)


def test_a_truncated_or_empty_archive_is_a_clear_error(fixture_archive_path, tmp_path):
    data = fixture_archive_path(CONFIG).read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.tar.gz"
    empty.write_bytes(b"")
    for path in (truncated, empty):
        with pytest.raises(ConfigurationError, match=str(path.name)):
            load_archive(path)


def _with_config(fixture_archive_path, tmp_path, change):
    members = []
    for name, data in _members(fixture_archive_path(CONFIG)):
        if name == "config.json":
            config = json.loads(data)
            change(config)
            data = json.dumps(config).encode()
        members.append((name, data))
    return _write(tmp_path / "model.tar.gz", members)


def test_an_unregistered_dotted_type_is_refused_and_never_imported(
    fixture_archive_path, tmp_path, monkeypatch
):
    monkeypatch.delenv(TRUST_VARIABLE, raising=False)
    marker = tmp_path / "ran"

    def change(config):
        config["model"]["text_field_embedder"] = {
            "type": "os.system",
            "command": f"touch {marker}",
        }

    crafted = _with_config(fixture_archive_path, tmp_path, change)
    with pytest.raises(UnsafeArchiveError, match=r"model\.text_field_embedder\.type: 'os\.system'"):
        load_archive(crafted)
    assert not marker.exists()


def test_registered_names_pass_and_trust_is_explicit(monkeypatch):
    config = {"model": {"type": "rationale_model", "encoder": {"type": "subprocess.Popen"}}}
    monkeypatch.delenv(TRUST_VARIABLE, raising=False)
    with pytest.raises(UnsafeArchiveError, match=TRUST_VARIABLE):
        check_config_types(config, "archive")
    check_config_types({"model": {"type": "rationale_model"}}, "archive")
    monkeypatch.setenv(TRUST_VARIABLE, "1")
    check_config_types(config, "archive")


class _Payload:
    def __reduce__(self):
        return (os.system, ("true",))


def test_weights_that_hold_more_than_tensors_are_refused(fixture_archive_path, tmp_path):
    members = []
    for name, data in _members(fixture_archive_path(CONFIG)):
        if name == "weights.th":
            state = torch.load(io.BytesIO(data), weights_only=True)
            state["payload"] = _Payload()
            buffer = io.BytesIO()
            torch.save(state, buffer)
            data = buffer.getvalue()
        members.append((name, data))
    crafted = _write(tmp_path / "model.tar.gz", members)
    with pytest.raises(UnsafeArchiveError, match="weights.th holds more than tensors"):
        load_archive(crafted)


def test_predict_refuses_a_crafted_archive_without_running_it(fixture_archive_path, tmp_path):
    """The whole path a user takes: `allennlp predict` on a downloaded archive."""
    marker = tmp_path / "ran"

    def change(config):
        config["model"]["text_field_embedder"] = {
            "type": "subprocess.Popen",
            "args": ["touch", str(marker)],
        }

    crafted = _with_config(fixture_archive_path, tmp_path, change)
    source = tmp_path / "input.jsonl"
    source.write_text('{"sentence": "a fine film ."}\n')
    env = {k: v for k, v in os.environ.items() if k != TRUST_VARIABLE}
    result = subprocess.run(
        [sys.executable, "-m", "allennlp", "predict", str(crafted), str(source), "--silent",
         "--output-file", str(tmp_path / "out.jsonl"), "--cuda-device", "-1"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "subprocess.Popen" in result.stderr and TRUST_VARIABLE in result.stderr
    assert not marker.exists()

"""
`scripts/local_data.sh` (issue 26, item 1): sourced, it points the experiments at ../shared/data
(relative to the project root) or `SHARED_DATA_DIR`; without that data it names what is missing,
sets nothing and fails, so that the README's `install.sh && source scripts/local_data.sh && allennlp
train ...` chain stops there. Each test runs a copy of the script in a project folder in tmp_path,
so that its ../shared/data is a folder the test controls.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from tests import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "local_data.sh"
# The variables the script sets, and the file of the data folder each names.
FILES = {
    "SST_TRAIN": "sst/train.txt",
    "SST_DEV": "sst/dev.txt",
    "SST_TEST": "sst/test.txt",
    "SST_EMBEDDINGS": "glove/glove.6B.50d.sst.txt",
    "SNLI_TRAIN": "snli/train.jsonl",
    "SNLI_DEV": "snli/dev.jsonl",
    "SNLI_TEST": "snli/test.jsonl",
    "SNLI_EMBEDDINGS": "glove/glove.6B.50d.snli_devtest.txt",
}
SET_BY_THE_SCRIPT = (*FILES, "EMBEDDING_DIM", "LOWERCASE")
# The README's chain, with `true` for install.sh and `echo` for allennlp train; then what is set.
CHAIN = (
    'true && source "$1" && echo CHAINED\n'
    'echo "status=$?"\n'
    'for name in {names}; do echo "$name=${{!name-unset}}"; done\n'
).format(names=" ".join(SET_BY_THE_SCRIPT))


def copy_script(tmp_path: Path) -> Path:
    """A copy in tmp_path/project/scripts, so that its ../shared/data is tmp_path/shared/data."""
    scripts = tmp_path / "project" / "scripts"
    scripts.mkdir(parents=True)
    return Path(shutil.copy(SCRIPT, scripts / SCRIPT.name))


def make_data(folder: Path, leave_out: Tuple[str, ...] = ()) -> None:
    for relative in FILES.values():
        if relative not in leave_out:
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            (folder / relative).write_text("")


def clean_environment(**extra: str) -> Dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SET_BY_THE_SCRIPT and name != "SHARED_DATA_DIR"
    }
    environment.update(extra)
    return environment


def source_in_chain(
    script: Path, shell_options: str = "", shared_data_dir: Optional[Path] = None
) -> subprocess.CompletedProcess:
    extra = {} if shared_data_dir is None else {"SHARED_DATA_DIR": str(shared_data_dir)}
    return subprocess.run(
        ["bash", *([shell_options] if shell_options else []), "-c", CHAIN, "bash", str(script)],
        env=clean_environment(**extra),
        cwd=script.parent.parent,
        capture_output=True,
        text=True,
        timeout=30,
    )


def variables(result: subprocess.CompletedProcess) -> Dict[str, str]:
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {name: value for name, value in pairs}


@pytest.mark.parametrize("shell_options", ["", "-u"])
def test_a_missing_data_folder_fails_names_it_and_stops_the_chain(tmp_path, shell_options):
    script = copy_script(tmp_path)
    result = source_in_chain(script, shell_options)
    assert "CHAINED" not in result.stdout
    found = variables(result)
    assert found["status"] == "1"
    assert all(found[name] == "unset" for name in SET_BY_THE_SCRIPT), found
    assert f"{tmp_path / 'shared' / 'data'} does not exist" in result.stderr
    assert "SHARED_DATA_DIR" in result.stderr
    assert "No such file or directory" not in result.stderr  # no bare `cd` error


def test_run_instead_of_sourced_it_exits_non_zero(tmp_path):
    script = copy_script(tmp_path)
    result = subprocess.run(
        ["bash", str(script)], env=clean_environment(), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert str(tmp_path / "shared" / "data") in result.stderr


def test_a_missing_file_fails_and_names_it(tmp_path):
    script = copy_script(tmp_path)
    data = tmp_path / "shared" / "data"
    make_data(data, leave_out=("snli/test.jsonl",))
    result = source_in_chain(script)
    assert "CHAINED" not in result.stdout
    assert variables(result)["status"] == "1"
    assert variables(result)["SST_TRAIN"] == "unset"
    assert f"missing in the data folder {data}" in result.stderr
    assert "snli/test.jsonl" in result.stderr
    assert "sst/train.txt" not in result.stderr


def test_the_data_folder_next_to_the_project_is_used(tmp_path):
    script = copy_script(tmp_path)
    data = tmp_path / "shared" / "data"
    make_data(data)
    result = source_in_chain(script, "-u")
    assert "CHAINED" in result.stdout, result.stderr
    found = variables(result)
    assert found["status"] == "0"
    for name, relative in FILES.items():
        assert found[name] == str(data / relative)
    assert (found["EMBEDDING_DIM"], found["LOWERCASE"]) == ("50", "true")
    assert result.stderr == ""


def test_shared_data_dir_names_another_copy(tmp_path):
    script = copy_script(tmp_path)
    elsewhere = tmp_path / "my data"
    make_data(elsewhere)
    result = source_in_chain(script, shared_data_dir=elsewhere)
    assert "CHAINED" in result.stdout, result.stderr
    assert variables(result)["SST_TRAIN"] == str(elsewhere / "sst" / "train.txt")
    missing = source_in_chain(script, shared_data_dir=tmp_path / "nowhere")
    assert variables(missing)["status"] == "1"
    assert f"{tmp_path / 'nowhere'} does not exist" in missing.stderr

import os
import subprocess

from tests import PROJECT_ROOT


def test_install_fails_loudly_naming_the_step(tmp_path):
    env = dict(os.environ, VENV=str(tmp_path / "venv"), PYTHON=str(tmp_path / "no-such-python"))
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "install.sh")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "FAILED at step: create virtual environment" in result.stderr
    assert not (tmp_path / "venv" / ".hardkuma-allennlp-installed").exists()


def test_tests_refuse_an_incomplete_install(tmp_path):
    (tmp_path / "venv").mkdir()
    env = dict(os.environ, VENV=str(tmp_path / "venv"))
    result = subprocess.run(
        ["bash", str(PROJECT_ROOT / "scripts" / "test.sh")], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "not a complete install" in result.stderr

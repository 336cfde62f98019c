"""The fixture experiment through the real `allennlp` command line, in fresh processes."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests import FIXTURES_ROOT, PROJECT_ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def run(args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run([ALLENNLP, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_train_evaluate_predict_through_the_cli(tmp_path):
    # train: the plugin is found through .allennlp_plugins in the working directory alone.
    serialization_dir = tmp_path / "run"
    run(
        ["train", "fixtures/configs/sst_hardkuma.jsonnet", "-s", str(serialization_dir)],
        cwd=PROJECT_ROOT,
    )
    archive = serialization_dir / "model.tar.gz"
    assert archive.exists()
    metrics = json.loads((serialization_dir / "metrics.json").read_text())
    assert "training_lagrangian_selection_lambda" in metrics

    # evaluate: from a directory without .allennlp_plugins, with --include-package.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(FIXTURES_ROOT / "sst" / "test.txt", elsewhere / "test.txt")
    env_output = elsewhere / "metrics.json"
    run(
        [
            "evaluate",
            str(archive),
            "test.txt",
            "--output-file",
            str(env_output),
            "--include-package",
            "hardkuma_allennlp",
        ],
        cwd=elsewhere,
    )
    evaluation = json.loads(env_output.read_text())
    assert 0.0 <= evaluation["accuracy"] <= 1.0
    assert 0.0 <= evaluation["selected"] <= 1.0

    # evaluate with another test-time decoding, chosen with -o: top-k keeps exactly the share.
    for share in (0.2, 0.5):
        decoded = tmp_path / f"top_k_{share}.json"
        override = {"model.encoder.gate.decoding": {"type": "top_k", "share": share}}
        run(
            ["evaluate", str(archive), str(FIXTURES_ROOT / "sst" / "test.txt")]
            + ["--output-file", str(decoded), "-o", json.dumps(override)],
            cwd=PROJECT_ROOT,
        )
        # Rounded per sentence: within half a token per sentence of the share.
        assert abs(json.loads(decoded.read_text())["selected"] - share) < 0.05

    # predict: raw sentences, tokenized without any model download.
    inputs = tmp_path / "input.jsonl"
    sentences = ["a gorgeous , witty , seductive movie .", "The plot is awful."]
    inputs.write_text("".join(json.dumps({"sentence": s}) + "\n" for s in sentences))
    predictions = tmp_path / "predictions.jsonl"
    run(
        ["predict", str(archive), str(inputs), "--output-file", str(predictions), "--silent"],
        cwd=PROJECT_ROOT,
    )
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 2
    assert lines[0]["tokens"] == sentences[0].split()
    assert lines[1]["tokens"] == ["the", "plot", "is", "awful", "."]  # lowercased by the reader
    for line in lines:
        assert len(line["z"]) == len(line["tokens"])
        assert set(line) >= {"label", "probs", "tokens", "z", "rationale", "highlight"}
        assert abs(sum(line["probs"]) - 1) < 1e-5


def test_allennlp_test_install_finds_both_plugins(tmp_path):
    result = run(["test-install"], cwd=PROJECT_ROOT)
    log = result.stdout + result.stderr
    assert "Plugin allennlp_models available" in log
    assert "Plugin hardkuma_allennlp available" in log


def failing_train(config, serialization_dir, overrides):
    """`allennlp train` that must fail; its stderr."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    command = [ALLENNLP, "train", config, "-s", str(serialization_dir), "-o", json.dumps(overrides)]
    result = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    return result.stderr


def test_allennlp_train_names_the_file_and_line_of_bad_data(tmp_path):
    config = "fixtures/configs/sst_hardkuma.jsonnet"
    bad = tmp_path / "train.txt"
    good_lines = (FIXTURES_ROOT / "sst" / "train.txt").read_bytes().splitlines(keepends=True)
    bad.write_bytes(good_lines[0] + b"(3 (3 caf\xe9) (2 .))\n")
    stderr = failing_train(config, tmp_path / "run", {"train_data_path": str(bad)})
    assert f"{bad}, line 2: not UTF-8 text (byte 0xe9" in stderr

    # A training file that yields no instance stops the run before anything is trained.
    neutral = tmp_path / "neutral.txt"
    neutral.write_text("(2 (2 fine) (2 .))\n")
    overrides = {"train_data_path": str(neutral), "dataset_reader.granularity": "2-class"}
    stderr = failing_train(config, tmp_path / "run2", overrides)
    assert f"{neutral}: no instance to read: all 1 sentence(s) are neutral" in stderr
    assert not (tmp_path / "run2" / "model.tar.gz").exists()

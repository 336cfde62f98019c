"""`allennlp rationales` through the real command line, in fresh processes."""

import json
import os
import subprocess
import sys
from pathlib import Path

from hardkuma_allennlp.interpret import eraser
from tests import FIXTURES_ROOT, PROJECT_ROOT

ALLENNLP = str(Path(sys.executable).parent / "allennlp")


def run(args, expect_ok=True):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [ALLENNLP, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    if expect_ok:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_the_subcommand_is_listed_in_help():
    assert "rationales" in run(["--help"]).stdout


def test_metrics_export_and_report_from_the_dataset_reader(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("sst_hardkuma")
    html, jsonl, metrics = tmp_path / "r.html", tmp_path / "r.jsonl", tmp_path / "m.json"
    result = run(
        [
            "rationales",
            str(archive),
            str(FIXTURES_ROOT / "sst" / "test.txt"),
            "--use-dataset-reader",
            "--html",
            str(html),
            "--eraser",
            str(jsonl),
            "--metrics",
            str(metrics),
            "--html-inputs",
            "3",
        ]
    )
    summary = json.loads(metrics.read_text())
    assert summary["inputs"] == 8 and "accuracy" in summary and "aopc_sufficiency" in summary
    lines = jsonl.read_text().splitlines()
    assert len(lines) == 8
    for number, line in enumerate(lines, start=1):
        eraser.validate(json.loads(line), number)
    page = html.read_text()
    assert page.count('class="input"') == 3 and "8 inputs (3 shown)" in page
    assert "rationales" in result.stderr  # the progress bar


def test_json_lines_with_decoding_override(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("sst_hardkuma")
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(
        json.dumps({"sentence": "a gorgeous , witty , seductive movie ."})
        + "\n\n"
        + json.dumps({"sentence": "the plot is a tired , predictable mess ."})
        + "\n"
    )
    metrics = tmp_path / "m.json"
    override = {"model.encoder.gate.decoding": {"type": "top_k", "share": 0.25}}
    run(
        ["rationales", str(archive), str(inputs), "--metrics", str(metrics)]
        + ["-o", json.dumps(override)]
    )
    summary = json.loads(metrics.read_text())
    # top-k 25 %: 2 of 8 tokens and 2 of 9 (round(2.25) = 2) are kept.
    assert summary["inputs"] == 2 and summary["selected"] == 4 / 17
    assert "accuracy" not in summary  # JSON lines carry no gold labels


def test_a_bad_input_line_is_named(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("sst_hardkuma")
    inputs = tmp_path / "in.jsonl"
    inputs.write_text(json.dumps({"sentence": "fine ."}) + "\n\n" + '{"sentence": 3}\n')
    result = run(["rationales", str(archive), str(inputs)], expect_ok=False)
    assert result.returncode != 0
    assert f"{inputs}: input line 3" in result.stderr
    assert "must be a string" in result.stderr


def test_eraser_export_of_a_regression_model_is_refused(fixture_archive_path, tmp_path):
    archive = fixture_archive_path("beer_hardkuma")
    data = FIXTURES_ROOT / "beer" / "annotations.json"
    result = run(
        ["rationales", str(archive), str(data), "--use-dataset-reader"]
        + ["--eraser", str(tmp_path / "x.jsonl")],
        expect_ok=False,
    )
    assert result.returncode != 0 and "needs a classifier" in result.stderr

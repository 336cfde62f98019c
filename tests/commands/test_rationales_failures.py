"""
`allennlp rationales` on bad input, bad arguments and models it cannot explain (issue 26): every
output is written to a temporary file and moved into place only on success, so an existing output
survives any failure byte for byte; an input error keeps the ERASER records of the inputs before
it in `PATH.partial`; every input error names the file and the line.

Most cases run the command in-process, through its own argument parser; one runs the real
command line to show what a user sees.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from allennlp.common.checks import ConfigurationError

from hardkuma_allennlp.commands.rationales import Rationales
from hardkuma_allennlp.interpret import eraser
from hardkuma_allennlp.predictors.input_lines import InputLineError
from tests import FIXTURES_ROOT, PROJECT_ROOT

GOOD = json.dumps({"sentence": "a gorgeous , witty , seductive movie ."}) + "\n"
OTHER = json.dumps({"sentence": "the plot is a tired , predictable mess ."}) + "\n"
OLD = {"eraser": b"old eraser\n", "metrics": b'{"old": 1}', "html": b"<p>old</p>\x00\xff"}


def parse(*argv: str) -> argparse.Namespace:
    """The arguments as `allennlp rationales` parses them."""
    parser = argparse.ArgumentParser()
    Rationales().add_subparser(parser.add_subparsers())
    return parser.parse_args(["rationales", *argv])


def rationales(*argv: str) -> Dict:
    args = parse(*argv)
    return args.func(args)


@pytest.fixture(scope="module")
def sst_archive(fixture_archive_path) -> str:
    return str(fixture_archive_path("sst_hardkuma"))


@pytest.fixture()
def outputs(tmp_path) -> Dict[str, Path]:
    """Existing output files, with contents of their own."""
    paths = {name: tmp_path / f"out.{name}" for name in OLD}
    for name, path in paths.items():
        path.write_bytes(OLD[name])
    return paths


def output_args(outputs: Dict[str, Path]) -> List[str]:
    return [f"--{name}={path}" for name, path in outputs.items()]


def assert_unchanged(outputs: Dict[str, Path]) -> None:
    for name, path in outputs.items():
        assert path.read_bytes() == OLD[name], name
    # No temporary file is left behind.
    directory = next(iter(outputs.values())).parent
    assert not [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_bad_line_3_keeps_existing_outputs_and_the_records_before_it(
    sst_archive, outputs, tmp_path
):
    data = tmp_path / "in.jsonl"
    good_with_id = json.dumps({"sentence": "fine .", "id": "first"}) + "\n"
    data.write_text(good_with_id + OTHER + '{"sentence": 3}\n' + GOOD)
    with pytest.raises(InputLineError, match=f"{data}: input line 3: 'sentence' must be a str"):
        rationales(sst_archive, str(data), *output_args(outputs), "--batch-size", "8")
    assert_unchanged(outputs)
    partial = Path(f"{outputs['eraser']}.partial")
    records = [json.loads(line) for line in partial.read_text().splitlines()]
    assert [r["annotation_id"] for r in records] == ["first", "1"]
    for number, record in enumerate(records, start=1):
        eraser.validate(record, number)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "no input lines: the input is empty"),
        (b"\n  \n", "no input lines: the input is blank"),
        (GOOD.encode() + b'{"sentence": "caf\xe9"}\n', "input line 2: not UTF-8 text .byte 0xe9"),
        (GOOD.encode() + b'{"sentence": "a \\ud800 b"}\n', "input line 2: .* lone surrogate"),
        (
            GOOD.encode() + b'{"sentence": "fine .", "n": ' + b"9" * 5000 + b"}\n",
            r"input line 2: not valid JSON \(a number it cannot hold",
        ),
    ],
)
def test_input_errors_name_the_file_and_line_and_keep_existing_outputs(
    sst_archive, outputs, tmp_path, content, message
):
    data = tmp_path / "in.jsonl"
    data.write_bytes(content)
    with pytest.raises(InputLineError, match=f"{data}: {message}"):
        rationales(sst_archive, str(data), *output_args(outputs))
    assert_unchanged(outputs)


def test_a_directory_as_input_keeps_existing_outputs(sst_archive, outputs, tmp_path):
    with pytest.raises(ConfigurationError, match="is a directory"):
        rationales(sst_archive, str(tmp_path), *output_args(outputs))
    assert_unchanged(outputs)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
        ("--html-inputs", "-1", "--html-inputs must be 0 or more"),
    ],
)
def test_bad_numbers_are_refused_and_keep_existing_outputs(
    sst_archive, outputs, tmp_path, option, value, message
):
    data = tmp_path / "in.jsonl"
    data.write_text(GOOD)
    with pytest.raises(ConfigurationError, match=message):
        rationales(sst_archive, str(data), *output_args(outputs), option, value)
    assert_unchanged(outputs)


def test_a_failure_after_the_first_records_keeps_existing_outputs(fixture_archive_path, tmp_path):
    # The Beer model is a regressor: the ERASER export is refused at its first record.
    existing = tmp_path / "e.jsonl"
    existing.write_bytes(b"kept\n")
    with pytest.raises(ConfigurationError, match="needs a classifier"):
        rationales(
            str(fixture_archive_path("beer_hardkuma")),
            str(FIXTURES_ROOT / "beer" / "annotations.json"),
            "--use-dataset-reader",
            "--eraser",
            str(existing),
        )
    assert existing.read_bytes() == b"kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.jsonl"]


def test_success_replaces_outputs_and_keeps_their_mode(sst_archive, outputs, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"sentence": "fine .", "id": 17}) + "\n" + OTHER)
    os.chmod(outputs["metrics"], 0o640)
    # The records an earlier, failed run kept: this run's whole export supersedes them.
    Path(f"{outputs['eraser']}.partial").write_text('{"annotation_id": "stale"}\n')
    rationales(sst_archive, str(data), *output_args(outputs), "--html-inputs", "0")
    assert json.loads(outputs["metrics"].read_text())["inputs"] == 2
    assert os.stat(outputs["metrics"]).st_mode & 0o777 == 0o640
    records = [json.loads(line) for line in outputs["eraser"].read_text().splitlines()]
    assert [r["annotation_id"] for r in records] == ["17", "1"]
    assert "2 inputs (0 shown)" in outputs["html"].read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.jsonl",
        *sorted(p.name for p in outputs.values()),
    ]


def test_an_output_that_is_the_input_is_refused(sst_archive, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(GOOD)
    with pytest.raises(ConfigurationError, match="is also an input"):
        rationales(sst_archive, str(data), "--eraser", str(data))
    assert data.read_text() == GOOD


def test_a_model_it_cannot_explain_gets_one_clear_message(fixture_archive_path, tmp_path):
    archive = str(fixture_archive_path("snli_decomposable_attention"))
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"premise": "a man sleeps .", "hypothesis": "he rests ."}) + "\n")
    inputs = [
        [str(pairs)],
        [str(FIXTURES_ROOT / "snli" / "snli_original.jsonl"), "--use-dataset-reader"],
    ]
    for extra in inputs:
        with pytest.raises(ConfigurationError) as error:
            rationales(archive, *extra)
        message = str(error.value)
        assert "cannot explain a model of type 'decomposable_attention'" in message
        assert "Supported: rationale_model" in message
        assert "hardkuma_decomposable_attention" in message


@pytest.mark.parametrize("name", ["notes.txt", "best.th"])
def test_a_file_that_is_not_an_archive_is_named(sst_archive, tmp_path, name):
    data = tmp_path / "in.jsonl"
    data.write_text(GOOD)
    not_an_archive = tmp_path / name
    not_an_archive.write_bytes(b"this is not a model archive\n")
    with pytest.raises(ConfigurationError, match=f"{not_an_archive} is not a model archive"):
        rationales(str(not_an_archive), str(data))


def test_the_command_line_shows_the_message_and_keeps_the_output(sst_archive, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_bytes(GOOD.encode() + b'{"sentence": "caf\xe9 ."}\n')
    existing = tmp_path / "e.jsonl"
    existing.write_bytes(b"kept\n")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "allennlp"), "rationales", sst_archive, str(data)]
        + ["--eraser", str(existing)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"InputLineError: {data}: input line 2: not UTF-8 text" in result.stderr
    assert "UnicodeDecodeError" not in result.stderr
    assert existing.read_bytes() == b"kept\n"
    assert len(Path(f"{existing}.partial").read_text().splitlines()) == 1

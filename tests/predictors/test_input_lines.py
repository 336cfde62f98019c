"""
Input errors of `allennlp predict` with JSON lines (issue 26): undecodable bytes, lone
surrogates, numbers JSON cannot hold and empty input are each an `InputLineError` naming the file
and the line; the predictions before a bad line are written whatever the batch size; an input's
`id` is copied to its prediction.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
from allennlp.commands.predict import Predict
from allennlp.commands.train import train_model_from_file

from hardkuma_allennlp.predictors.input_lines import InputLineError, json_lines, parse_json_object
from tests import FIXTURES_ROOT, PROJECT_ROOT

GOOD = b'{"sentence": "a gorgeous , witty movie ."}\n'
LATIN_1 = b'{"sentence": "caf\xe9 au lait ."}\n'
SURROGATE = b'{"sentence": "a \\ud800 b ."}\n'
BIG_NUMBER = b'{"sentence": "fine .", "n": ' + b"9" * 5000 + b"}\n"


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("input_lines")
    train_model_from_file(FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet", directory)
    return directory / "model.tar.gz"


def predict(archive: Path, data: Path, output: Path, *extra: str) -> None:
    """`allennlp predict` in-process, through its own argument parser."""
    parser = argparse.ArgumentParser()
    Predict().add_subparser(parser.add_subparsers())
    args = parser.parse_args(
        ["predict", str(archive), str(data), "--output-file", str(output), "--silent", *extra]
    )
    args.func(args)


def lines_of(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# The reader and the parser on their own.


def test_json_lines_numbers_the_file_lines_and_drops_a_byte_order_mark(tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_bytes(b"\xef\xbb\xbf" + GOOD + b"\n   \n" + GOOD)
    assert [number for number, _ in json_lines(str(data))] == [1, 4]
    assert parse_json_object(next(json_lines(str(data)))[1], "x")["sentence"].startswith("a ")


def test_json_lines_reads_gzip(tmp_path):
    data = tmp_path / "in.jsonl.gz"
    data.write_bytes(gzip.compress(GOOD + LATIN_1))
    with pytest.raises(InputLineError, match=f"{data}: input line 2: not UTF-8 text"):
        list(json_lines(str(data)))


def test_json_lines_truncated_gzip_or_gzip_name_is_an_input_line_error(tmp_path):
    # Gzip is told by the magic bytes: a plain file named .gz reads as text; a truncated gzip
    # names the file and the line where it breaks off.
    plain = tmp_path / "plain.jsonl.gz"
    plain.write_bytes(GOOD * 2)
    assert [number for number, _ in json_lines(str(plain))] == [1, 2]
    whole = gzip.compress(GOOD * 200)
    truncated = tmp_path / "in.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputLineError, match=r"in\.jsonl\.gz: input line \d+: the gzip archive"):
        list(json_lines(str(truncated)))


@pytest.mark.parametrize(
    "content, message",
    [
        (GOOD + LATIN_1, "input line 2: not UTF-8 text .byte 0xe9 at column 18."),
        (b"", "no input lines: the input is empty"),
        (b"\n\n", "no input lines: the input is blank .all its 2 lines."),
    ],
)
def test_json_lines_errors_name_the_file_and_the_line(tmp_path, content, message):
    data = tmp_path / "in.jsonl"
    data.write_bytes(content)
    with pytest.raises(InputLineError, match=f"{data}: {message}"):
        list(json_lines(str(data)))


@pytest.mark.parametrize(
    "line, message",
    [
        (SURROGATE, "the value of 'sentence' .character 3. holds a lone surrogate"),
        (b'{"a": ["x", "\\udc00"], "sentence": "b"}', "the value of 'a'.1. .character 1. holds"),
        (b'{"\\ud800": 1}', "a key .character 1. holds a lone surrogate"),
        (BIG_NUMBER, r"not valid JSON \(a number it cannot hold: Exceeds the limit"),
        (b"[" * 100000, r"not valid JSON \(nested too deeply"),
    ],
)
def test_parse_json_object_refuses_what_the_model_could_not_use(line, message):
    with pytest.raises(InputLineError, match=f"input line 7: {message}"):
        parse_json_object(line.decode("utf-8"), "input line 7")


# `allennlp predict`.


@pytest.mark.parametrize(
    "content, message, written",
    [
        (GOOD + LATIN_1 + GOOD, "input line 2: not UTF-8 text .byte 0xe9", 1),
        (GOOD + GOOD + SURROGATE, "input line 3: the value of 'sentence' .* lone surrogate", 2),
        (GOOD + BIG_NUMBER, r"input line 2: not valid JSON \(a number it cannot hold", 1),
        (b"", "no input lines: the input is empty", 0),
    ],
)
@pytest.mark.parametrize("batch_size", ["1", "8"])
def test_predict_names_the_file_and_the_line_and_keeps_the_lines_before(
    archive_path, tmp_path, content, message, written, batch_size
):
    data = tmp_path / "in.jsonl"
    data.write_bytes(content)
    output = tmp_path / "out.jsonl"
    with pytest.raises(InputLineError, match=f"^{data}: {message}"):
        predict(archive_path, data, output, "--batch-size", batch_size)
    assert len(lines_of(output)) == written


def test_predict_numbers_the_lines_as_the_file_does(archive_path, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_bytes(GOOD + b"\n\n" + b'{"sentence": 3}\n')
    with pytest.raises(InputLineError, match="input line 4: 'sentence' must be a string, got 3"):
        predict(archive_path, data, tmp_path / "out.jsonl")


def test_predict_copies_the_id_of_an_input(archive_path, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_text(
        json.dumps({"id": "review-1", "sentence": "a fine film ."})
        + "\n"
        + json.dumps({"sentence": "a dull film ."})
        + "\n"
        + json.dumps({"id": 3, "sentence": "fine ."})
        + "\n"
    )
    for batch_size in ("1", "2"):
        output = tmp_path / f"out{batch_size}.jsonl"
        predict(archive_path, data, output, "--batch-size", batch_size)
        predictions = lines_of(output)
        assert [p.get("id") for p in predictions] == ["review-1", None, 3]
        assert list(predictions[0])[0] == "id" and "tokens" in predictions[0]


def test_predict_on_the_command_line(archive_path, tmp_path):
    data = tmp_path / "in.jsonl"
    data.write_bytes(GOOD + LATIN_1)
    output = tmp_path / "out.jsonl"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "allennlp"), "predict", str(archive_path), str(data)]
        + ["--output-file", str(output), "--silent", "--batch-size", "4"],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert f"InputLineError: {data}: input line 2: not UTF-8 text (byte 0xe9 at column 18)" in (
        result.stderr
    )
    assert "UnicodeDecodeError" not in result.stderr
    assert len(lines_of(output)) == 1

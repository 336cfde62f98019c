"""
Every malformed input gets an error naming the file and the 1-based line (issue 12): undecodable
bytes, a byte-order mark, truncated archives, empty sentences, files that yield no instance; and a
seeded fuzz test of byte-level mutations of fixture lines for each reader.
"""

import codecs
import gzip
import random
import re
from typing import Callable, List

import pytest
from allennlp.data import Instance
from allennlp.data.fields import TextField

from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader, BeerFormatError
from hardkuma_allennlp.dataset_readers.lines import InputFormatError
from hardkuma_allennlp.dataset_readers.snli import HardKumaSnliReader
from hardkuma_allennlp.dataset_readers.sst import SstTreeDatasetReader
from tests import FIXTURES_ROOT

SST_LINE = (FIXTURES_ROOT / "sst" / "train.txt").read_bytes().splitlines()[0]
SNLI_LINE = (FIXTURES_ROOT / "snli" / "snli_reduced.jsonl").read_bytes().splitlines()[0]
with gzip.open(FIXTURES_ROOT / "beer" / "reviews.aspect0.train.txt.gz", "rb") as _reviews:
    BEER_LINE = _reviews.read().splitlines()[0]
ANNOTATION_LINE = (FIXTURES_ROOT / "beer" / "annotations.json").read_bytes().splitlines()[0]

READERS = {
    "sst": (SstTreeDatasetReader, SST_LINE),
    "snli": (HardKumaSnliReader, SNLI_LINE),
    "beer": (lambda: BeerAdvocateDatasetReader(aspect=0), BEER_LINE),
    "annotations": (lambda: BeerAdvocateDatasetReader(aspect=0), ANNOTATION_LINE),
}


def read(make_reader: Callable, path) -> List[Instance]:
    return list(make_reader().read(str(path)))


@pytest.mark.parametrize("kind", sorted(READERS))
def test_invalid_utf8_names_file_line_and_byte(kind, tmp_path):
    make_reader, line = READERS[kind]
    path = tmp_path / "data.txt"
    path.write_bytes(line + b"\n" + line[:10] + b"\xff\xfe" + line[10:] + b"\n")
    with pytest.raises(InputFormatError, match=rf"{path}, line 2: not UTF-8 text \(byte 0xff"):
        read(make_reader, path)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_byte_order_mark_is_accepted(kind, tmp_path):
    make_reader, line = READERS[kind]
    plain, with_bom = tmp_path / "plain.txt", tmp_path / "bom.txt"
    plain.write_bytes(line + b"\n")
    with_bom.write_bytes(codecs.BOM_UTF8 + line + b"\n")
    assert [str(i) for i in read(make_reader, with_bom)] == [
        str(i) for i in read(make_reader, plain)
    ]


@pytest.mark.parametrize("kind", sorted(READERS))
def test_a_truncated_gzip_archive_names_file_and_line(kind, tmp_path):
    make_reader, line = READERS[kind]
    whole = gzip.compress((line + b"\n") * 200)
    path = tmp_path / "data.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputFormatError, match=rf"{path}, line \d+: the gzip archive is truncated"):
        read(make_reader, path)


@pytest.mark.parametrize(
    "kind, content, why",
    [
        ("sst", b"", "it has no tree"),
        ("sst_2", b"(2 (2 fine) (2 .))\n(2 (2 ok))\n", "all 2 sentence.s. are neutral"),
        (
            "snli",
            b'{"sentence1": "a", "sentence2": "b", "gold_label": "-"}\n',
            "the file has no pair with",
        ),
        ("beer", b"\n\n", "the file has no review"),
    ],
)
def test_a_file_that_yields_no_instance_fails_with_file_and_reason(kind, content, why, tmp_path):
    path = tmp_path / "train.txt"
    path.write_bytes(content)
    make_reader = {
        "sst": SstTreeDatasetReader,
        "sst_2": lambda: SstTreeDatasetReader(granularity="2-class"),
        "snli": HardKumaSnliReader,
        "beer": lambda: BeerAdvocateDatasetReader(aspect=0),
    }[kind]
    with pytest.raises(InputFormatError, match=rf"{path}: no instance to read: {why}"):
        read(make_reader, path)


@pytest.mark.parametrize("key", ["sentence1", "sentence2"])
@pytest.mark.parametrize("text", ["", "   "])
def test_snli_rejects_an_empty_premise_or_hypothesis(key, text, tmp_path):
    import json

    pair = {"sentence1": "a dog runs", "sentence2": "an animal moves", "gold_label": "entailment"}
    pair[key] = text
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(pair) + "\n")
    with pytest.raises(ValueError, match=rf"{path}, line 1: '{key}' is empty"):
        read(HardKumaSnliReader, path)


def mutate(line: bytes, rng: random.Random) -> bytes:
    data = bytearray(line)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(data) + 1)
        operation = rng.choice(["replace", "insert", "delete", "duplicate", "truncate"])
        if operation == "replace" and position < len(data):
            data[position] = rng.randrange(256)
        elif operation == "insert":
            data[position:position] = bytes([rng.randrange(256)])
        elif operation == "delete" and position < len(data):
            del data[position]
        elif operation == "duplicate":
            data[position:position] = data[position : position + rng.randint(1, 8)]
        elif operation == "truncate":
            del data[position:]
    return bytes(data)


def fuzz_outcomes(kind: str, tmp_path, count: int, seed: int = 0):
    """Reads `count` files (a mutated line, then the valid line); counts what happened."""
    make_reader, line = READERS[kind]
    rng = random.Random(seed)
    outcomes = {"instances": 0, "error naming file and line": 0}
    for number in range(count):
        path = tmp_path / f"{kind}_{number}.txt"
        content = mutate(line, rng) + b"\n" + line + b"\n"
        path.write_bytes(content)
        try:
            instances = read(make_reader, path)
        except Exception as error:  # noqa: BLE001 - any error must name the file and the line
            # A mutation may insert a line break, so the bad line is not always the first.
            message = str(error)
            found = re.search(rf"{re.escape(str(path))}, line (\d+)", message)
            assert found, (kind, number, type(error).__name__, message)
            assert 1 <= int(found.group(1)) <= content.count(b"\n"), message
            outcomes["error naming file and line"] += 1
            continue
        assert instances, (kind, number)
        for instance in instances:
            for name, field in instance.fields.items():
                if isinstance(field, TextField):
                    assert len(field.tokens) > 0, (kind, number, name)
        outcomes["instances"] += 1
    return outcomes


@pytest.mark.parametrize("kind", sorted(READERS))
def test_fuzzed_lines_give_valid_instances_or_an_error_naming_file_and_line(kind, tmp_path):
    outcomes = fuzz_outcomes(kind, tmp_path, count=200)
    assert sum(outcomes.values()) == 200
    # Both outcomes occur: the mutations are neither all harmless nor all fatal.
    assert outcomes["instances"] > 0 and outcomes["error naming file and line"] > 0, outcomes


@pytest.mark.parametrize("score", ["0_1", "\uff11.0", "1e-1", "inf", "+0.5", "0.5.0"])
def test_beer_scores_must_be_plain_decimals(score, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text(f"0.5 {score} 0.5 0.5 0.5\tgood head , nice color\n", encoding="utf-8")
    with pytest.raises(
        BeerFormatError, match=rf"{path}, line 1: score .* is not a number \(a plain decimal"
    ):
        read(lambda: BeerAdvocateDatasetReader(aspect=0), path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"2": [[0, 99]]}, "span \\[0, 99\\] of aspect 2 is outside the token range"),
        ({"4": [[2, 1]]}, "span \\[2, 1\\] of aspect 4 is outside"),
    ],
)
def test_beer_annotations_are_checked_whole(change, message, tmp_path):
    import json

    item = {"x": ["good", "head", "."], "y": [0.5] * 5, "0": [[0, 2]], "1": [], "2": []}
    item.update({"3": [], "4": []})
    item.update(change)
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(item) + "\n")
    # Read for aspect 0: spans of the other aspects are checked too.
    with pytest.raises(BeerFormatError, match=rf"{path}, line 1: {message}"):
        read(lambda: BeerAdvocateDatasetReader(aspect=0), path)

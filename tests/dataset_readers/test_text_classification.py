"""The `hardkuma_text_classification` reader: CSV, TSV and JSON lines, gold rationales, tolerant
of unusual but valid input, and an error naming the file and the line for malformed input."""

import codecs
import gzip
import json
import re

import pytest
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader

from hardkuma_allennlp.dataset_readers.lines import InputFormatError
from hardkuma_allennlp.dataset_readers.text_classification import (
    TextClassificationDatasetReader,
    TextClassificationFormatError,
)
from tests import FIXTURES_ROOT

FIXTURES = FIXTURES_ROOT / "text_classification"


def read(path, **options):
    return list(TextClassificationDatasetReader(**options).read(str(path)))


def summary(instances):
    """Tokens, label and gold rationale of each instance, comparable across formats."""
    rows = []
    for instance in instances:
        row = [instance["metadata"]["tokens"], instance["label"].label]
        if "gold_rationale" in instance.fields:
            row.append(instance["gold_rationale"].tensor.tolist())
        rows.append(row)
    return rows


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def raises_at(path, line, message):
    return pytest.raises(
        TextClassificationFormatError, match=rf"^{re.escape(str(path))}, line {line}: {message}"
    )


# ----------------------------------------------------------------------------------------------
# Formats


def test_registered_and_built_from_params():
    reader = DatasetReader.from_params(
        Params({"type": "hardkuma_text_classification", "text_key": "review"})
    )
    assert isinstance(reader, TextClassificationDatasetReader)


def test_reads_the_csv_fixture_with_its_rationales():
    instances = read(FIXTURES / "train.csv", rationale_key="rationale")
    assert len(instances) == 41
    first = instances[0]
    assert set(first.fields) == {"tokens", "label", "gold_rationale", "metadata"}
    assert first["metadata"]["tokens"] == "with music the film awful ending".split()
    assert first["label"].label == "negative"
    assert first["gold_rationale"].tensor.tolist() == [0, 0, 0, 0, 1, 0]
    assert first["metadata"]["gold_spans"] == [[4, 5]]
    assert first["metadata"]["has_gold_rationale"] is True
    # The last line: a quoted field with a comma, two spans.
    last = instances[-1]
    assert last["metadata"]["tokens"] == ["good,", "really", "good", "film"]
    assert last["gold_rationale"].tensor.tolist() == [1, 0, 1, 0]


def test_csv_and_json_lines_give_the_same_instances():
    from_csv = read(FIXTURES / "dev.csv", rationale_key="rationale")
    from_json = read(FIXTURES / "dev.jsonl", rationale_key="rationale")
    assert len(from_csv) == 12
    assert summary(from_csv) == summary(from_json)


def test_tsv_is_read_literally(tmp_path):
    path = write(
        tmp_path,
        "data.tsv",
        'label\ttext\tspans\n1\tHe said "fine" , twice\t[[2, 3]]\n0\t"quoted\t[]\n',
    )
    instances = read(path, rationale_key="spans")
    assert summary(instances) == [
        [["He", "said", '"fine"', ",", "twice"], "1", [0.0, 0.0, 1.0, 0.0, 0.0]],
        [['"quoted'], "0", [-1.0]],
    ]


def test_without_rationale_key_there_is_no_gold_rationale():
    instance = read(FIXTURES / "dev.csv")[0]
    assert set(instance.fields) == {"tokens", "label", "metadata"}
    assert instance["metadata"]["gold_spans"] is None
    assert instance["metadata"]["has_gold_rationale"] is False


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.csv", "csv"),
        ("a.CSV", "csv"),
        ("a.tsv", "tsv"),
        ("a.tab", "tsv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
        ("a.json", "jsonl"),
        ("a.csv.gz", "csv"),
        ("https://example.org/data.zip!dir/train.tsv", "tsv"),
    ],
)
def test_format_from_the_extension(name, expected):
    assert TextClassificationDatasetReader().file_format(name) == expected


def test_format_parameter_overrides_the_extension(tmp_path):
    path = write(tmp_path, "data.txt", '{"text": "a b", "label": "x"}\n')
    with pytest.raises(TextClassificationFormatError, match=r"data.txt: cannot tell the format"):
        read(path)
    assert summary(read(path, format="jsonl")) == [[["a", "b"], "x"]]


def test_configurable_columns_and_ignored_extra_columns(tmp_path):
    path = write(tmp_path, "data.csv", "id,review,stars,extra\n7,nice beer,5,zzz\n")
    assert summary(read(path, text_key="review", label_key="stars")) == [[["nice", "beer"], "5"]]


def test_json_integer_labels_are_strings(tmp_path):
    path = write(tmp_path, "d.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": "1"}\n')
    assert [i["label"].label for i in read(path)] == ["1", "1"]


def test_rationale_as_token_flags(tmp_path):
    path = write(
        tmp_path,
        "d.jsonl",
        '{"text": "a b c d", "label": "x", "z": [0, 1, 1, 0]}\n'
        '{"text": "a b c", "label": "x", "z": "[1, 0, 1]"}\n',
    )
    instances = read(path, rationale_key="z")
    assert instances[0]["metadata"]["gold_spans"] == [[1, 3]]
    assert instances[1]["gold_rationale"].tensor.tolist() == [1, 0, 1]


def test_examples_without_a_rationale_are_marked_minus_one(tmp_path):
    path = write(
        tmp_path,
        "d.csv",
        "text,label,r\na b,x,\na b,x,[]\n",
    )
    json_path = write(
        tmp_path,
        "d.jsonl",
        '{"text": "a b", "label": "x"}\n{"text": "a b", "label": "x", "r": null}\n',
    )
    for p in (path, json_path):
        for instance in read(p, rationale_key="r"):
            assert instance["gold_rationale"].tensor.tolist() == [-1.0, -1.0]
            assert instance["metadata"]["has_gold_rationale"] is False


def test_max_length_and_lowercase_cut_the_spans(tmp_path):
    path = write(tmp_path, "d.csv", 'text,label,r\nA B C D E,x,"[[1, 2], [3, 5]]"\n')
    instance = read(path, rationale_key="r", max_length=4, lowercase=True)[0]
    assert instance["metadata"]["tokens"] == ["a", "b", "c", "d"]
    assert instance["metadata"]["gold_spans"] == [[1, 2], [3, 4]]
    assert instance["gold_rationale"].tensor.tolist() == [0, 1, 0, 1]


# ----------------------------------------------------------------------------------------------
# Unusual but valid input


def test_bom_crlf_blank_lines_and_header_spaces(tmp_path):
    plain = write(tmp_path, "plain.csv", "text,label\nvery good,pos\nbad,neg\n")
    odd = write(
        tmp_path,
        "odd.csv",
        codecs.BOM_UTF8 + b"text , label\r\n\r\nvery good,pos\r\n\r\nbad,neg\r\n\r\n",
    )
    assert summary(read(odd)) == summary(read(plain))


def test_quoted_csv_field_with_a_line_break_and_lines_after_it(tmp_path):
    path = write(tmp_path, "d.csv", 'text,label\n"two\nlines, here",a\n"bad ""quote",b\n,c\n')
    with raises_at(path, 5, "the text has no token"):
        read(path)
    instances = read(path, max_instances=2)
    assert summary(instances) == [
        [["two", "lines,", "here"], "a"],
        [["bad", '"quote'], "b"],
    ]


def test_no_break_and_other_unicode_spaces_split_tokens(tmp_path):
    path = write(
        tmp_path, "d.jsonl", '{"text": "8\\u00a01/2 stars\\u2009!\\u3000ok", "label": 1}\n'
    )
    assert read(path)[0]["metadata"]["tokens"] == ["8", "1/2", "stars", "!", "ok"]


def test_gzipped_file(tmp_path):
    path = write(tmp_path, "d.csv.gz", gzip.compress(b"text,label\na b,x\n"))
    assert summary(read(path)) == [[["a", "b"], "x"]]


# ----------------------------------------------------------------------------------------------
# Malformed input: the file and the line


@pytest.mark.parametrize(
    "name, content, line, message",
    [
        (
            "d.csv",
            "txt,label\na,b\n",
            1,
            r"no column 'text' in the header \(found \['txt', 'label'\]",
        ),
        ("d.csv", "\n\ntext,text,label\n", 3, r"the header names column\(s\) \['text'\] twice"),
        ("d.tsv", "text\tlabel\na\n", 2, r"expected 2 fields as in the header"),
        ("d.csv", "text,label\na,b,c\n", 2, r"expected 2 fields as in the header"),
        ("d.csv", 'text,label\nok,1\n"a"b,1\n', 3, r"bad CSV \(',' expected after '\"'"),
        ("d.csv", 'text,label\nok,1\n"never closed,1\nmore,2\n', 3, r"bad CSV \(unexpected end"),
        ("d.csv", "text,label\na,1\n  ,2\n", 3, r"the text has no token"),
        ("d.csv", "text,label\na,1\nb, \n", 3, r"the label is empty"),
        ("d.jsonl", '{"text": "a", "label": 1}\n{"text": "a"\n', 2, r"not valid JSON"),
        ("d.jsonl", '\n["a", 1]\n', 2, r"expected a JSON object, got list"),
        ("d.jsonl", '{"label": 1}\n', 1, r"no key 'text' in the object \(found \['label'\]\)"),
        ("d.jsonl", '{"text": "a"}\n', 1, r"no key 'label'"),
        ("d.jsonl", '{"text": 3, "label": 1}\n', 1, r"the text must be a string, found 3"),
        ("d.jsonl", '{"text": "a", "label": null}\n', 1, r"the label must be a string or an int"),
        ("d.jsonl", '{"text": "a", "label": true}\n', 1, r"the label must be a string or an int"),
        ("d.jsonl", '{"text": "a", "label": 1.5}\n', 1, r"the label must be a string or an int"),
        (
            "d.jsonl",
            '{"text": "a \\ud800", "label": 1}\n',
            1,
            r"the value of 'text' \(character 3\) holds a lone",
        ),
        ("d.jsonl", '{"text": "a", "label": 1, "n": 1' + "0" * 5000 + "}\n", 1, "not valid JSON"),
    ],
)
def test_malformed_input_names_file_and_line(tmp_path, name, content, line, message):
    path = write(tmp_path, name, content)
    with raises_at(path, line, message):
        read(path)


@pytest.mark.parametrize(
    "rationale, message",
    [
        ('"[[0, 3]]"', r"rationale span \[0, 3\] is outside the 2 tokens"),
        ('"[[1, 1]]"', r"rationale span \[1, 1\] is outside the 2 tokens or empty"),
        ('"[[-1, 1]]"', r"rationale span \[-1, 1\] is outside"),
        ('"[[0, 1, 2]]"', r"rationale span \[0, 1, 2\] is not a \[start, end\) pair"),
        ('"[[0.5, 1]]"', r"rationale span \[0.5, 1\] is not a \[start, end\) pair of ints"),
        ('"[[0, 1]"', r"the 'r' cell '\[\[0, 1\]' is not a JSON list"),
        ('"[1, 0, 1]"', r"the rationale has 3 0/1 flags for 2 tokens"),
        (
            '"[2, 0]"',
            r"the rationale \[2, 0\] is neither a list of \[start, end\) spans nor .* 0/1 flags",
        ),
        ('"{""a"": 1}"', r"the rationale must be a list"),
    ],
)
def test_a_bad_rationale_names_file_and_line(tmp_path, rationale, message):
    path = write(tmp_path, "d.csv", f"text,label,r\na b,x,[]\na b,x,{rationale}\n")
    with raises_at(path, 3, message):
        read(path, rationale_key="r")


def test_missing_rationale_column_names_the_header_line(tmp_path):
    path = write(tmp_path, "d.csv", "text,label\na,b\n")
    with raises_at(path, 1, r"no column 'rationale' in the header"):
        read(path, rationale_key="rationale")


def test_invalid_utf8_names_file_line_and_byte(tmp_path):
    path = write(tmp_path, "d.csv", b"text,label\na,b\nc\xff,d\n")
    with pytest.raises(InputFormatError, match=rf"{re.escape(str(path))}, line 3: not UTF-8"):
        read(path)


@pytest.mark.parametrize(
    "name, content, why",
    [
        ("d.csv", "", "the file has no csv record after its header"),
        ("d.csv", "text,label\n\n", "the file has no csv record after its header"),
        ("d.jsonl", "\n \n", "the file has no jsonl record"),
    ],
)
def test_a_file_without_records_is_an_error(tmp_path, name, content, why):
    path = write(tmp_path, name, content)
    with pytest.raises(TextClassificationFormatError, match=rf"{re.escape(str(path))}: .*{why}"):
        read(path)


def test_missing_file_and_directory_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "none.csv"))):
        read(tmp_path / "none.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(TextClassificationFormatError, match="dir.csv: is a directory"):
        read(tmp_path / "dir.csv")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"format": "xlsx"}, "format is 'xlsx'"),
        ({"text_key": ""}, "text_key must be a non-empty string"),
        ({"label_key": None}, "label_key must be a non-empty string"),
        ({"text_key": "a", "label_key": "a"}, "must differ"),
        ({"rationale_key": "label"}, "must differ"),
        ({"max_length": 0}, "max_length must be a positive int"),
        ({"max_length": True}, "max_length must be a positive int"),
    ],
)
def test_bad_parameters_are_configuration_errors(options, message):
    with pytest.raises(ConfigurationError, match=message):
        TextClassificationDatasetReader(**options)


# ----------------------------------------------------------------------------------------------
# text_to_instance: the predictor's path


def test_text_to_instance_for_the_predictor():
    reader = TextClassificationDatasetReader(lowercase=True)
    instance = reader.text_to_instance("A fine\u00a0film .")
    assert set(instance.fields) == {"tokens", "metadata"}
    assert instance["metadata"]["tokens"] == ["a", "fine", "film", "."]
    labelled = reader.text_to_instance("a b", label=2)
    assert labelled["label"].label == "2"
    with pytest.raises(ValueError, match="the text has no token"):
        reader.text_to_instance(" \t ")


def test_text_to_instance_with_a_rationale_key_always_has_gold_rationale():
    # Every instance of a batch must have the same fields.
    reader = TextClassificationDatasetReader(rationale_key="r")
    assert reader.text_to_instance("a b")["gold_rationale"].tensor.tolist() == [-1.0, -1.0]
    with_gold = reader.text_to_instance("a b c", "x", [[1, 2]])
    assert with_gold["gold_rationale"].tensor.tolist() == [0.0, 1.0, 0.0]


def test_a_configured_tokenizer_is_used():
    reader = DatasetReader.from_params(
        Params({"type": "hardkuma_text_classification", "tokenizer": {"type": "spacy_blank"}})
    )
    assert reader.text_to_instance("fine, thanks!")["metadata"]["tokens"] == [
        "fine",
        ",",
        "thanks",
        "!",
    ]


def test_instances_are_indexed_after_apply_token_indexers():
    from allennlp.data import Vocabulary

    reader = TextClassificationDatasetReader()
    instances = read(FIXTURES / "dev.csv")
    vocabulary = Vocabulary.from_instances(instances)
    for instance in instances:
        reader.apply_token_indexers(instance)
        instance.index_fields(vocabulary)
    assert vocabulary.get_vocab_size("labels") == 2
    assert json.loads(json.dumps(instances[0]["metadata"].metadata))["tokens"]

import json
import logging
from pathlib import Path

import pytest
from allennlp.data.tokenizers import WhitespaceTokenizer

from hardkuma_allennlp.dataset_readers.snli import HardKumaSnliReader
from hardkuma_allennlp.tokenizers.blank_spacy_tokenizer import BlankSpacyTokenizer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "snli"


def write_lines(path: Path, lines) -> str:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return str(path)


def pair(premise="A dog runs.", hypothesis="An animal moves.", label="entailment", **extra):
    return json.dumps({"sentence1": premise, "sentence2": hypothesis, "gold_label": label, **extra})


def test_reads_reduced_format_with_fields_of_the_snli_reader():
    instances = list(HardKumaSnliReader().read(str(FIXTURES / "snli_reduced.jsonl")))
    assert len(instances) == 12
    first = instances[0]
    assert set(first.fields) == {"premise", "hypothesis", "label", "metadata"}
    assert [t.text for t in first["premise"].tokens] == [
        "A",
        "man",
        "is",
        "playing",
        "a",
        "guitar",
        "on",
        "stage",
        ".",
    ]
    assert first["metadata"]["hypothesis_tokens"] == ["A", "man", "is", "performing", "music", "."]
    assert first["label"].label == "entailment"
    assert {i["label"].label for i in instances} == {"entailment", "contradiction", "neutral"}


def test_original_format_skips_pairs_without_gold_label_and_logs_the_count(caplog):
    path = str(FIXTURES / "snli_original.jsonl")
    with caplog.at_level(logging.INFO, logger="hardkuma_allennlp.dataset_readers.snli"):
        instances = list(HardKumaSnliReader().read(path))
    # 7 lines, 2 of them labelled "-".
    assert len(instances) == 5
    assert [i["metadata"]["hypothesis_tokens"][-2] for i in instances] == [
        "reading",
        "running",
        "wet",
        "desert",
        "vacation",
    ]
    assert any(
        "skipped 2 pair(s)" in r.getMessage() and path in r.getMessage() for r in caplog.records
    )


def test_default_tokenizer_needs_no_spacy_model():
    assert isinstance(HardKumaSnliReader()._tokenizer, BlankSpacyTokenizer)
    reader = HardKumaSnliReader(tokenizer=WhitespaceTokenizer())
    instance = reader.text_to_instance("a b c.", "d")
    assert [t.text for t in instance["premise"].tokens] == ["a", "b", "c."]
    assert "label" not in instance.fields


def test_bad_json_line_names_file_and_line(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [pair(), pair(), '{"sentence1": "A", oops}'])
    with pytest.raises(ValueError, match=r"bad\.jsonl, line 3: not valid JSON"):
        list(HardKumaSnliReader().read(path))


def test_missing_key_names_file_line_and_key(tmp_path):
    line = json.dumps({"sentence1": "A dog.", "gold_label": "neutral"})
    path = write_lines(tmp_path / "missing.jsonl", [pair(), "", line])
    with pytest.raises(ValueError, match=r"missing\.jsonl, line 3: missing key\(s\) 'sentence2'"):
        list(HardKumaSnliReader().read(path))


def test_unknown_label_and_non_object_are_errors(tmp_path):
    path = write_lines(tmp_path / "label.jsonl", [pair(label="maybe")])
    with pytest.raises(ValueError, match=r"label\.jsonl, line 1: unknown gold_label 'maybe'"):
        list(HardKumaSnliReader().read(path))
    path = write_lines(tmp_path / "list.jsonl", [pair(), "[1, 2]"])
    with pytest.raises(ValueError, match=r"list\.jsonl, line 2: expected a JSON object"):
        list(HardKumaSnliReader().read(path))


def test_collapse_labels_and_extra_keys(tmp_path):
    path = write_lines(
        tmp_path / "ok.jsonl",
        [pair(label="neutral", pairID="x", annotator_labels=["neutral"]), pair(label="-")],
    )
    instances = list(HardKumaSnliReader(collapse_labels=True).read(path))
    assert [i["label"].label for i in instances] == ["non-entailment"]


def test_a_lone_surrogate_in_a_sentence_names_file_line_and_key(tmp_path):
    # Read, it would crash the vocabulary's saving (it cannot be written as UTF-8).
    line = pair().replace('"sentence1": "', '"sentence1": "\\ud800 ')
    path = write_lines(tmp_path / "surrogate.jsonl", [pair(), line])
    with pytest.raises(ValueError, match=r"surrogate\.jsonl, line 2: the value of 'sentence1'"):
        list(HardKumaSnliReader().read(path))

import gzip
import json
import subprocess
import sys

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.data import DatasetReader, Vocabulary
from allennlp.data.dataset_readers.dataset_reader import WorkerInfo
from allennlp.modules.token_embedders import Embedding

from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader, BeerFormatError
from tests import FIXTURES_ROOT, PROJECT_ROOT

BEER = FIXTURES_ROOT / "beer"
ANNOTATIONS = BEER / "annotations.json"
VECTORS = BEER / "review+wiki.filtered.10.txt.gz"

# The fixture's marker words (scripts/make_beer_fixtures.py): positive / negative per aspect.
MARKERS = [
    ({"golden", "clear"}, {"murky", "cloudy"}),
    ({"fragrant", "hoppy"}, {"stale", "musty"}),
    ({"smooth", "creamy"}, {"watery", "thin"}),
    ({"delicious", "rich"}, {"bland", "sour"}),
    ({"excellent", "great"}, {"poor", "awful"}),
]
GOOD_LINE = "0.6 0.2 1.0 0.8 0.4\tthe look is golden , nice"


def review_lines(path):
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle if line.strip()]


def annotation_items():
    return [json.loads(line) for line in ANNOTATIONS.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("aspect", [0, 1, 2])
@pytest.mark.parametrize("split,size", [("train", 48), ("heldout", 16)])
def test_reads_review_files(aspect, split, size):
    path = BEER / f"reviews.aspect{aspect}.{split}.txt.gz"
    instances = list(BeerAdvocateDatasetReader(aspect=aspect).read(path))
    lines = review_lines(path)
    assert len(instances) == len(lines) == size
    for instance, line in zip(instances, lines):
        scores, text = line.split("\t")
        assert instance["label"].tensor.shape == (1,)
        assert instance["label"].tensor.item() == pytest.approx(float(scores.split()[aspect]))
        tokens = [t.text for t in instance["tokens"].tokens]
        assert tokens == text.split(" ") == instance["metadata"]["tokens"]
        assert "gold_rationale" not in instance.fields
        assert instance["metadata"]["gold_spans"] is None
        assert instance["metadata"]["aspect"] == aspect


def test_all_aspects_and_aspect_names():
    path = BEER / "reviews.aspect1.heldout.txt.gz"
    for aspect in [None, "all"]:
        instances = list(BeerAdvocateDatasetReader(aspect=aspect).read(path))
        first_scores = [float(v) for v in review_lines(path)[0].split("\t")[0].split()]
        assert instances[0]["label"].tensor.tolist() == pytest.approx(first_scores)
        assert instances[0]["metadata"]["aspect"] is None
    for name, index in [("look", 0), ("appearance", 0), ("smell", 1), ("palate", 2), ("3", 3)]:
        assert BeerAdvocateDatasetReader(aspect=name)._aspect == index
    for bad in [5, -1, "colour", True]:
        with pytest.raises(ConfigurationError):
            BeerAdvocateDatasetReader(aspect=bad)
    with pytest.raises(ConfigurationError):
        BeerAdvocateDatasetReader(aspect=0, max_length=0)


def test_fixture_scores_are_decided_by_marker_words():
    for line in review_lines(BEER / "reviews.aspect0.train.txt.gz"):
        scores, text = line.split("\t")
        tokens = text.split(" ")
        for aspect, (positive, negative) in enumerate(MARKERS):
            num_positive = sum(t in positive for t in tokens)
            assert num_positive + sum(t in negative for t in tokens) == 2
            assert float(scores.split()[aspect]) == {0: 0.2, 1: 0.6, 2: 1.0}[num_positive]


@pytest.mark.parametrize("aspect", [0, 1, 2, 3, 4])
def test_reads_annotations_with_gold_rationale(aspect):
    items = annotation_items()
    instances = list(BeerAdvocateDatasetReader(aspect=aspect).read(ANNOTATIONS))
    assert len(instances) == len(items) == 24
    without_gold = 0
    for instance, item in zip(instances, items):
        tokens = [t.text for t in instance["tokens"].tokens]
        assert tokens == item["x"]
        assert instance["label"].tensor.tolist() == pytest.approx([item["y"][aspect]])
        gold = instance["gold_rationale"].tensor
        assert gold.shape == (len(item["x"]),)
        spans = item[str(aspect)]
        assert instance["metadata"]["gold_spans"] == spans
        if spans:
            expected = torch.zeros(len(item["x"]))
            for start, end in spans:
                expected[start:end] = 1.0
            assert torch.equal(gold, expected)
            assert instance["metadata"]["has_gold_rationale"]
        else:
            # No gold span for this aspect: still read, marked -1 everywhere.
            without_gold += 1
            assert torch.equal(gold, torch.full_like(gold, -1.0))
            assert not instance["metadata"]["has_gold_rationale"]
    assert without_gold > 0


def test_annotations_for_all_aspects_keep_spans_in_metadata_only():
    items = annotation_items()
    instances = list(BeerAdvocateDatasetReader(aspect="all").read(ANNOTATIONS))
    assert "gold_rationale" not in instances[0].fields
    assert instances[0]["label"].tensor.tolist() == pytest.approx(items[0]["y"])
    assert instances[0]["metadata"]["gold_spans"] == [items[0][str(a)] for a in range(5)]


def test_max_length_truncates_tokens_and_gold_spans(tmp_path):
    item = {"x": "a b c d e f".split(), "y": [0.1, 0.2, 0.3, 0.4, 0.5], "raw": "ignored"}
    item.update({"0": [[1, 3], [4, 6]], "1": [[3, 5]], "2": [[4, 6]], "3": [], "4": [[0, 6]]})
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(item) + "\n")
    instance = next(iter(BeerAdvocateDatasetReader(aspect=0, max_length=4).read(path)))
    assert instance["metadata"]["tokens"] == ["a", "b", "c", "d"]
    assert instance["gold_rationale"].tensor.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert instance["metadata"]["gold_spans"] == [[1, 3]]
    clipped = next(iter(BeerAdvocateDatasetReader(aspect=1, max_length=4).read(path)))
    assert clipped["gold_rationale"].tensor.tolist() == [0.0, 0.0, 0.0, 1.0]
    # Every gold span of aspect 2 lies past the cut: the review counts as having none.
    cut = next(iter(BeerAdvocateDatasetReader(aspect=2, max_length=4).read(path)))
    assert cut["gold_rationale"].tensor.tolist() == [-1.0] * 4
    reviews = list(
        BeerAdvocateDatasetReader(aspect=0, max_length=5).read(
            BEER / "reviews.aspect0.heldout.txt.gz"
        )
    )
    assert all(len(instance["tokens"]) == 5 for instance in reviews)


def test_plain_and_gzip_files_are_detected_by_content(tmp_path):
    plain = tmp_path / "reviews.txt"
    plain.write_text(GOOD_LINE + "\n\n" + GOOD_LINE.upper() + "\n")
    gzipped_annotations = tmp_path / "gold.data"  # neither name nor extension tells
    with gzip.open(gzipped_annotations, "wt") as handle:
        handle.write(ANNOTATIONS.read_text())
    reader = BeerAdvocateDatasetReader(aspect=2)
    instances = list(reader.read(plain))
    assert len(instances) == 2  # the blank line is skipped
    assert instances[1]["metadata"]["tokens"] == ["the", "look", "is", "golden", ",", "nice"]
    assert instances[0]["label"].tensor.tolist() == [1.0]
    annotated = list(reader.read(gzipped_annotations))
    assert len(annotated) == 24 and "gold_rationale" in annotated[0].fields


BAD_REVIEWS = [
    ("0.6 0.2 1.0 0.8 1.4\tthe beer", "outside \\[0, 1\\]"),
    ("0.6 0.2 1.0 0.8 -0.1\tthe beer", "outside \\[0, 1\\]"),
    ("0.6 0.2 1.0 0.8 0.4 the beer", "no TAB"),
    ("0.6 0.2 1.0 0.8\tthe beer", "expected 5 scores"),
    ("0.6 0.2 1.0 0.8 0.4 0.1\tthe beer", "expected 5 scores"),
    ("0.6 0.2 good 0.8 0.4\tthe beer", "not a number"),
]


@pytest.mark.parametrize("bad_line,message", BAD_REVIEWS)
@pytest.mark.parametrize("compress", [False, True])
def test_malformed_review_lines_name_file_and_line(tmp_path, bad_line, message, compress):
    path = tmp_path / ("reviews.txt.gz" if compress else "reviews.txt")
    text = "\n".join([GOOD_LINE, "", GOOD_LINE, bad_line]) + "\n"
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    with pytest.raises(BeerFormatError, match=message) as error:
        list(BeerAdvocateDatasetReader(aspect=0).read(path))
    assert f"{path}, line 4:" in str(error.value)


def annotation(**changes):
    item = {"x": ["a", "b", "c"], "y": [0.1, 0.2, 0.3, 0.4, 0.5], "rid": 3}
    item.update({str(a): [[0, 1]] for a in range(5)})
    item.update(changes)
    return json.dumps(item)


BAD_ANNOTATIONS = [
    ('{"x": ["a"], "y": [0.1, ', "not valid JSON"),
    (annotation(**{"0": [[1, 4]]}), "outside the token range"),
    (annotation(**{"0": [[-1, 2]]}), "outside the token range"),
    (annotation(**{"0": [[2, 1]]}), "start > end"),
    (annotation(**{"0": [[0, 1, 2]]}), "not a \\[start, end\\) pair"),
    (annotation(**{"0": "0-1"}), "must be a list"),
    (annotation(y=[0.1, 0.2, 0.3, 0.4]), "'y' must be a list of 5"),
    (annotation(y=[0.1, 0.2, 0.3, 0.4, 2.0]), "outside \\[0, 1\\]"),
    (annotation(x="a b c"), "'x' must be a list"),
    (annotation(x=[]), "'x' is empty"),
    ("[1, 2]", "expected a JSON object"),
]


@pytest.mark.parametrize("bad_line,message", BAD_ANNOTATIONS)
def test_malformed_annotations_name_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "annotations.json"
    path.write_text("\n".join([annotation(), annotation(), bad_line]) + "\n")
    with pytest.raises(BeerFormatError, match=message) as error:
        list(BeerAdvocateDatasetReader(aspect=0).read(path))
    assert f"{path}, line 3:" in str(error.value)


def test_missing_aspect_key_is_an_error(tmp_path):
    item = json.loads(annotation())
    del item["4"]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(item) + "\n")
    with pytest.raises(BeerFormatError, match="line 1: missing key '4'"):
        list(BeerAdvocateDatasetReader(aspect=0).read(path))


def test_text_to_instance_for_the_predictor():
    reader = BeerAdvocateDatasetReader(aspect=1)
    instance = reader.text_to_instance("  The Smell   is FRAGRANT\tand hoppy ")
    assert instance["metadata"]["tokens"] == ["the", "smell", "is", "fragrant", "and", "hoppy"]
    assert "label" not in instance.fields and "gold_rationale" not in instance.fields
    scored = reader.text_to_instance("the smell", scores=[0.1, 0.7, 0.3, 0.4, 0.5])
    assert scored["label"].tensor.tolist() == pytest.approx([0.7])
    single = reader.text_to_instance("the smell", scores=0.9, spans=[[1, 2]])
    assert single["label"].tensor.tolist() == pytest.approx([0.9])
    assert single["gold_rationale"].tensor.tolist() == [0.0, 1.0]
    from_dict = reader.text_to_instance("the smell is bad", spans={"1": [[0, 2]], "0": []})
    assert from_dict["gold_rationale"].tensor.tolist() == [1.0, 1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="outside the token range"):
        reader.text_to_instance("the smell", spans=[[0, 3]])
    with pytest.raises(ValueError, match="no tokens"):
        reader.text_to_instance("   ")
    all_aspects = BeerAdvocateDatasetReader(aspect=None)
    assert all_aspects.text_to_instance("x", scores=[0.1] * 5)["label"].tensor.shape == (5,)
    with pytest.raises(ValueError, match="expected 5 scores"):
        all_aspects.text_to_instance("x", scores=[0.1])


def test_from_params_and_worker_sharding():
    reader = DatasetReader.from_params(
        Params({"type": "beer_advocate", "aspect": 2, "max_length": 256})
    )
    assert isinstance(reader, BeerAdvocateDatasetReader)
    path = BEER / "reviews.aspect2.heldout.txt.gz"
    everything = [i["metadata"]["tokens"] for i in reader.read(path)]
    shards = []
    for worker in range(2):
        reader._set_worker_info(WorkerInfo(num_workers=2, id=worker))
        shards.append([i["metadata"]["tokens"] for i in reader.read(path)])
    assert shards[0] == everything[0::2] and shards[1] == everything[1::2]


def test_gzip_word_vectors_load_into_allennlp_embedding():
    instances = list(BeerAdvocateDatasetReader(aspect=0).read(ANNOTATIONS))
    vocab = Vocabulary.from_instances(instances)
    embedding = Embedding(
        embedding_dim=10, vocab=vocab, pretrained_file=str(VECTORS), trainable=False
    )
    with gzip.open(VECTORS, "rt") as handle:
        first_word, *values = handle.readline().split(" ")
    row = embedding.weight[vocab.get_token_index(first_word)]
    assert row.tolist() == pytest.approx([float(v) for v in values], abs=1e-6)


def test_committed_fixtures_match_the_script(tmp_path):
    subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "make_beer_fixtures.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    committed = sorted(p.name for p in BEER.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (BEER / name).read_bytes(), name


# Whitespace inside tokens of `annotations.json`: the published file has '\xa0' (line 89),
# '\xa0just' (line 201) and 'suggest\x85' (line 680); U+2028 and U+3000 are whitespace to Python
# too. Each token stays one token (the spans index into `x`), read in its vocabulary form.
WHITESPACE_TOKENS = [
    ("\xa0", "@@UNKNOWN@@"),
    ("\xa0just", "just"),
    ("suggest\x85", "suggest"),
    ("line\u2028break", "line_break"),
    ("\u3000wide", "wide"),
    ("", "@@UNKNOWN@@"),
    ("nice head", "nice_head"),
]


@pytest.mark.parametrize("ensure_ascii", [True, False])
@pytest.mark.parametrize("token,form", WHITESPACE_TOKENS)
def test_annotation_tokens_with_whitespace_read_and_keep_spans_aligned(
    tmp_path, token, form, ensure_ascii
):
    item = {"x": ["the", "head", token, "is", "white", "."], "y": [0.8, 0.5, 0.5, 0.5, 0.5]}
    # The gold span starts after the odd token: it must still cover "is white".
    item.update({"0": [[3, 5]], "1": [[0, 3]], "2": [], "3": [], "4": []})
    path = tmp_path / "annotations.json"
    # Raw characters (U+0085 and U+2028 are line breaks to str.splitlines) and escaped ones.
    path.write_text(
        json.dumps(annotation_items()[0])
        + "\n"
        + json.dumps(item, ensure_ascii=ensure_ascii)
        + "\n",
        encoding="utf-8",
    )
    instances = list(BeerAdvocateDatasetReader(aspect=0).read(path))
    assert len(instances) == 2
    instance = instances[1]
    tokens = [t.text for t in instance["tokens"].tokens]
    assert tokens == ["the", "head", form, "is", "white", "."]
    assert instance["metadata"]["tokens"] == tokens
    assert instance["gold_rationale"].tensor.tolist() == [0, 0, 0, 1, 1, 0]
    assert all(t and len(t.split()) == 1 for t in tokens)


def test_review_files_split_on_the_same_whitespace(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text(
        "0.6 0.2 1.0 0.8 0.4\tthe\xa0head ,\u3000suggest\x85 a\u2028b\n", encoding="utf-8"
    )
    (instance,) = BeerAdvocateDatasetReader(aspect=0).read(path)
    assert [t.text for t in instance["tokens"].tokens] == ["the", "head", ",", "suggest", "a", "b"]


def test_annotation_tokens_that_are_not_strings_are_still_an_error(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(annotation(x=["a", 3, "c"]) + "\n")
    with pytest.raises(BeerFormatError, match=rf"{path}, line 1: 'x' must be a list of token"):
        list(BeerAdvocateDatasetReader(aspect=0).read(path))


def test_a_lone_surrogate_in_an_annotation_token_names_file_and_line(tmp_path):
    item = {"x": ["a", "\ud800", "c"], "y": [0.1, 0.2, 0.3, 0.4, 0.5]}
    item.update({str(aspect): [] for aspect in range(5)})
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(item) + "\n")  # json writes the surrogate as an escape
    with pytest.raises(ValueError, match=r"annotations\.json, line 1: .*'x'.*lone surrogate"):
        list(BeerAdvocateDatasetReader(aspect=0).read(path))

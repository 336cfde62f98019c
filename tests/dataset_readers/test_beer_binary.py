"""The beer_advocate reader's binary protocol (FR, MGR, DR, MCD) and its token metrics."""

import gzip
import json
from collections import Counter

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.data import Batch, Vocabulary

from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader, BeerFormatError
from hardkuma_allennlp.training.metrics.rationale_f1 import RationaleF1
from tests import FIXTURES_ROOT

BEER = FIXTURES_ROOT / "beer"


def binary_reader(**kwargs) -> BeerAdvocateDatasetReader:
    return BeerAdvocateDatasetReader(aspect=0, binarize=True, **kwargs)


def write_reviews(path, looks, gzipped=False):
    lines = [f"{look} 0.5 0.5 0.5 0.5\treview number {i}" for i, look in enumerate(looks)]
    text = "\n".join(lines) + "\n"
    if gzipped:
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def review_numbers(instances):
    return [int(instance["metadata"]["tokens"][-1]) for instance in instances]


def test_scores_at_the_thresholds_are_labelled_and_those_between_dropped(tmp_path):
    looks = [0.0, 0.4, 0.41, 0.5, 0.59, 0.6, 1.0, 0.2]
    path = write_reviews(tmp_path / "reviews.txt", looks)
    instances = list(binary_reader().read(path))
    assert review_numbers(instances) == [0, 1, 5, 6, 7]
    assert [instance["label"].label for instance in instances] == [0, 0, 1, 1, 0]
    # Fixed indices: nothing is counted into the vocabulary, whichever class is more frequent.
    assert all(instance["label"]._skip_indexing for instance in instances)

    wider = list(binary_reader(negative_threshold=0.3, positive_threshold=0.9).read(path))
    assert review_numbers(wider) == [0, 6, 7]
    assert [instance["label"].label for instance in wider] == [0, 1, 0]


def test_the_labels_tensor_and_the_config_vocabulary_name_them(tmp_path):
    path = write_reviews(tmp_path / "reviews.txt", [0.9, 0.1, 0.8])
    instances = list(binary_reader().read(path))
    vocab = Vocabulary.from_instances(instances, tokens_to_add={"labels": ["negative", "positive"]})
    batch = Batch(instances)
    batch.index_instances(vocab)
    assert batch.as_tensor_dict()["label"].tolist() == [1, 0, 1]
    assert vocab.get_index_to_token_vocabulary("labels") == {0: "negative", 1: "positive"}


def test_balance_keeps_a_seeded_sample_of_the_larger_class(tmp_path):
    looks = [0.9] * 30 + [0.1] * 8 + [0.5] * 5
    path = write_reviews(tmp_path / "reviews.txt.gz", looks, gzipped=True)
    reader = binary_reader(balance=True, balance_seed=3)
    first = list(reader.read(path))
    assert Counter(instance["label"].label for instance in first) == {0: 8, 1: 8}
    negatives = [n for n in review_numbers(first) if looks[n] == 0.1]
    assert negatives == list(range(30, 38))  # the smaller class is kept whole
    # The same reviews at every read (every epoch) and for the same seed.
    assert review_numbers(list(reader.read(path))) == review_numbers(first)
    assert review_numbers(list(binary_reader(balance=True, balance_seed=3).read(path))) == (
        review_numbers(first)
    )
    others = {
        tuple(review_numbers(list(binary_reader(balance=True, balance_seed=s).read(path))))
        for s in range(5)
    }
    assert len(others) > 1  # the seed chooses


def annotation(tokens, look, look_spans, other_spans=None):
    item = {"x": tokens, "y": [look, 0.5, 0.5, 0.5, 0.5], "0": look_spans}
    for aspect in range(1, 5):
        item[str(aspect)] = other_spans or []
    return json.dumps(item)


def test_annotated_reviews_without_gold_spans_or_label_are_dropped(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(
        "\n".join(
            [
                annotation(["a", "b", "c"], 0.9, [[0, 1]]),
                annotation(["d", "e"], 0.9, [], other_spans=[[0, 1]]),  # no look span
                annotation(["f", "g"], 0.5, [[0, 2]]),  # between the thresholds
                annotation(["h", "i"], 0.2, [[1, 2]]),
            ]
        )
        + "\n"
    )
    instances = list(binary_reader().read(path))
    assert [instance["metadata"]["tokens"] for instance in instances] == [
        ["a", "b", "c"],
        ["h", "i"],
    ]
    assert [instance["label"].label for instance in instances] == [1, 0]
    # The regression protocol keeps them all (a review without spans counts for the MSE).
    assert len(list(BeerAdvocateDatasetReader(aspect=0).read(path))) == 4


def test_malformed_spans_are_still_errors_with_binary_labels(tmp_path):
    path = tmp_path / "annotations.json"
    path.write_text(annotation(["a", "b"], 0.9, [[1, 5]]) + "\n")
    with pytest.raises(BeerFormatError, match=r"annotations.json, line 1: span \[1, 5\]"):
        list(binary_reader().read(path))


def test_a_file_without_any_binary_label_is_an_error(tmp_path):
    path = write_reviews(tmp_path / "reviews.txt", [0.5, 0.45])
    with pytest.raises(BeerFormatError, match="no review with a binary label"):
        list(binary_reader().read(path))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"aspect": "all", "binarize": True}, "single aspect"),
        ({"aspect": 0, "balance": True}, "set binarize too"),
        ({"aspect": 0, "binarize": True, "negative_threshold": 0.6}, "negative_threshold <"),
        ({"aspect": 0, "binarize": True, "positive_threshold": 1.2}, "<= 1"),
    ],
)
def test_inconsistent_options_are_configuration_errors(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        BeerAdvocateDatasetReader(**kwargs)


def test_text_to_instance_labels_or_refuses_a_score_between(tmp_path):
    reader = binary_reader()
    assert reader.text_to_instance("a fine look", 0.8)["label"].label == 1
    assert "label" not in reader.text_to_instance("a fine look").fields
    with pytest.raises(BeerFormatError, match="between the thresholds"):
        reader.text_to_instance("a fine look", 0.5)


def test_the_fixtures_read_balanced():
    reader = binary_reader(balance=True)
    instances = list(reader.read(BEER / "reviews.aspect0.train.txt.gz"))
    assert Counter(instance["label"].label for instance in instances) == {0: 12, 1: 12}


def test_token_metrics_follow_the_documented_definitions(tmp_path):
    """A hand-computed example of docs/usage/beer_classification.md."""
    path = tmp_path / "annotations.json"
    path.write_text(
        "\n".join(
            [
                # Review 1: 6 tokens, gold 1-3; selected 0, 1, 2.
                annotation(["t"] * 6, 0.9, [[1, 3]]),
                # Review 2: 8 tokens cut to 5 by max_length; gold 3-7 is cut to 3-5; selected 4.
                annotation(["t"] * 8, 0.1, [[3, 7]]),
                # Review 3: no look span: dropped, whatever it would select.
                annotation(["t"] * 4, 0.9, [], other_spans=[[0, 4]]),
                # Review 4: gold 0-2, nothing selected: counts for recall and the share.
                annotation(["t"] * 3, 0.8, [[0, 2]]),
            ]
        )
        + "\n"
    )
    instances = list(binary_reader(max_length=5).read(path))
    assert len(instances) == 3
    selections = [[1, 1, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0]]
    width = max(len(row) for row in selections)
    z = torch.tensor([row + [0] * (width - len(row)) for row in selections], dtype=torch.float)
    mask = torch.tensor([[i < len(row) for i in range(width)] for row in selections])
    gold = torch.zeros(3, width)
    for row, instance in enumerate(instances):
        tensor = instance["gold_rationale"].tensor
        gold[row, : len(tensor)] = tensor
    metric = RationaleF1()
    metric(z, gold, mask)
    result = metric.get_metric()
    # True positives 2 (review 1) + 1 (review 2); selected 3 + 1; gold 2 + 2 + 2;
    # tokens 6 + 5 + 3.
    assert result["precision"] == pytest.approx(3 / 4)
    assert result["recall"] == pytest.approx(3 / 6)
    assert result["f1"] == pytest.approx(2 * (3 / 4) * (3 / 6) / (3 / 4 + 3 / 6))
    assert result["selected"] == pytest.approx(4 / 14)
    assert result["num_reviews"] == 3


def test_balance_needs_both_classes(tmp_path):
    path = write_reviews(tmp_path / "reviews.txt", [0.9, 0.8, 0.5])
    with pytest.raises(BeerFormatError, match="reviews.txt: balance needs .* no negative review"):
        list(binary_reader(balance=True).read(path))


def test_a_classifier_without_label_names_says_where_they_go(tmp_path):
    from allennlp.common import Params
    from allennlp.models import Model

    path = write_reviews(tmp_path / "reviews.txt", [0.9, 0.1])
    vocab = Vocabulary.from_instances(binary_reader().read(path))
    params = Params(
        {
            "type": "rationale_model",
            "text_field_embedder": {
                "token_embedders": {"tokens": {"type": "embedding", "embedding_dim": 4}}
            },
            "encoder": {"type": "boe", "embedding_dim": 4},
        }
    )
    with pytest.raises(ConfigurationError, match="tokens_to_add"):
        Model.from_params(vocab=vocab, params=params)


def test_annotated_reviews_without_a_gold_span_in_the_tokens_read_are_dropped(tmp_path):
    path = tmp_path / "annotations.json"
    lines = [annotation(["a", "b", "c", "d"], 0.9, [[3, 4]]), annotation(["e", "f"], 0.1, [[0, 1]])]
    path.write_text("\n".join(lines) + "\n")
    assert len(list(binary_reader().read(path))) == 2
    # Cut at 3 tokens, the first review's span is gone: the review is dropped, not counted.
    instances = list(binary_reader(max_length=3).read(path))
    assert [instance["metadata"]["tokens"] for instance in instances] == [["e", "f"]]


def test_spans_are_checked_on_lines_that_are_not_read(tmp_path):
    path = tmp_path / "annotations.json"
    lines = [annotation(["a", "b"], 0.9, [[0, 1]]), annotation(["c", "d"], 0.5, [[1, 9]])]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(BeerFormatError, match=r"annotations.json, line 2: span \[1, 9\]"):
        list(binary_reader().read(path))

import pytest
import torch
from allennlp.common import Params
from allennlp.data import Batch, Vocabulary
from allennlp.training.metrics import Metric

from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader
from hardkuma_allennlp.training.metrics import RationaleF1
from tests import FIXTURES_ROOT

# Four reviews, hand-computed below.
Z = torch.tensor(
    [
        [1.0, 0.5, 0.0, 0.0, 1.0],  # selects 0, 1, 4 (0.5 counts as selected)
        [0.0, 0.0, 0.0, 0.0, 1.0],  # selects nothing valid (position 4 is padding)
        [1.0, 1.0, 0.0, 0.0, 0.0],  # review without gold span: excluded
        [1.0, 1.0, 1.0, 0.0, 0.0],  # selects 0, 1, 2
    ]
)
GOLD = torch.tensor(
    [
        [1.0, 1.0, 1.0, 0.0, 0.0],  # gold 0, 1, 2: 2 of 3 selected are gold; recall 2/3
        [1.0, 0.0, 0.0, 0.0, 1.0],  # gold 0 (4 is padding): nothing selected; recall 0
        [-1.0, -1.0, -1.0, 0.0, 0.0],  # the reader's "no gold span" mark, then padding
        [0.0, 1.0, 0.0, 0.0, 0.0],  # gold 1: precision 1/3, recall 1
    ]
)
MASK = torch.tensor(
    [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 1, 1, 1, 0]], dtype=torch.bool
)
# Micro: 3 true positives, 6 selected, 5 gold, 13 valid tokens in the 3 reviews that count.
EXPECTED = {
    "precision": 3 / 6,
    "precision_macro": (2 / 3 + 1 / 3) / 2,  # the review that selects nothing is skipped
    "recall": 3 / 5,
    "recall_macro": (2 / 3 + 0 + 1) / 3,
    "f1": 2 * 0.5 * 0.6 / 1.1,
    "selected": 6 / 13,
    "num_reviews": 3.0,
}


def assert_metrics(actual, expected):
    assert set(actual) == set(expected)
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value), key


def test_hand_computed_example():
    metric = RationaleF1()
    metric(Z, GOLD, MASK)
    assert_metrics(metric.get_metric(), EXPECTED)


def test_accumulates_over_batches_and_resets():
    metric = RationaleF1()
    metric(Z[:2], GOLD[:2], MASK[:2])
    metric(Z[2:], GOLD[2:], MASK[2:])
    assert_metrics(metric.get_metric(reset=True), EXPECTED)
    assert metric.get_metric()["num_reviews"] == 0.0
    assert metric.get_metric()["precision"] == 0.0


def test_rows_without_gold_tokens_do_not_count():
    metric = RationaleF1()
    # An all-zero gold row and an all -1 row: nothing takes part.
    metric(torch.ones(2, 3), torch.tensor([[0.0, 0, 0], [-1.0, -1, -1]]), None)
    assert metric.get_metric()["num_reviews"] == 0.0
    assert metric.get_metric()["selected"] == 0.0
    # Without a mask every position is valid.
    metric(torch.tensor([[1.0, 0.0, 1.0]]), torch.tensor([[1.0, 0.0, 0.0]]), None)
    result = metric.get_metric()
    assert result["precision"] == pytest.approx(0.5)
    assert result["recall"] == pytest.approx(1.0)
    assert result["selected"] == pytest.approx(2 / 3)


def test_detaches_and_checks_shapes():
    metric = RationaleF1()
    z = Z.clone().requires_grad_()
    metric(z, GOLD, MASK)
    with pytest.raises(ValueError, match="shape"):
        metric(Z, GOLD[:, :3], MASK)
    with pytest.raises(ValueError, match="mask"):
        metric(Z, GOLD, MASK[:, :3])


def test_registered():
    assert isinstance(Metric.from_params(Params({"type": "rationale_f1"})), RationaleF1)


def test_reader_gold_rationale_feeds_the_metric():
    reader = BeerAdvocateDatasetReader(aspect=1)
    instances = list(reader.read(FIXTURES_ROOT / "beer" / "annotations.json"))
    vocab = Vocabulary.from_instances(instances)
    batch = Batch(instances)
    batch.index_instances(vocab)
    tensors = batch.as_tensor_dict()
    gold = tensors["gold_rationale"]
    mask = tensors["tokens"]["tokens"]["tokens"] != 0
    with_gold = sum(instance["metadata"]["has_gold_rationale"] for instance in instances)
    assert 0 < with_gold < len(instances)

    metric = RationaleF1()
    metric((gold > 0).float(), gold, mask)  # selecting exactly the gold tokens
    perfect = metric.get_metric(reset=True)
    assert perfect["num_reviews"] == with_gold
    assert perfect["precision"] == perfect["recall"] == perfect["f1"] == 1.0
    assert perfect["precision_macro"] == perfect["recall_macro"] == 1.0

    metric(mask.float(), gold, mask)  # selecting every token
    everything = metric.get_metric()
    assert everything["selected"] == 1.0 and everything["recall"] == 1.0
    assert everything["precision"] == pytest.approx(perfect["selected"])

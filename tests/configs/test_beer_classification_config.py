"""beer_hardkuma_classification.jsonnet: the binary protocol of the 2022-25 papers on Beer."""

import json

import pytest
from allennlp.common import Params

from tests import CONFIG_ROOT
from tests.configs.test_training_configs import SHRINK, point_at_fixtures

CONFIG = CONFIG_ROOT / "beer_hardkuma_classification.jsonnet"


@pytest.mark.parametrize("aspect,target", [("0", 0.185), ("1", 0.156), ("2", 0.124)])
def test_targets_are_the_human_rates_and_the_rest_is_beer_hardkuma(monkeypatch, aspect, target):
    point_at_fixtures(monkeypatch, CONFIG)
    monkeypatch.setenv("BEER_ASPECT", aspect)
    ours = Params.from_file(str(CONFIG)).as_dict()
    regression = Params.from_file(str(CONFIG_ROOT / "beer_hardkuma.jsonnet")).as_dict()
    [constraint] = ours["trainer"]["callbacks"]
    [regression_constraint] = regression["trainer"]["callbacks"]
    assert constraint == {**regression_constraint, "selection": target}
    assert ours["model"]["encoder"] == regression["model"]["encoder"]
    assert ours["model"]["task"] == "classification"
    for reader in ("dataset_reader", "validation_dataset_reader"):
        assert ours[reader]["binarize"] and ours[reader]["max_length"] == 256
    assert ours["dataset_reader"]["balance"] and not ours["validation_dataset_reader"].get(
        "balance"
    )


def test_trains_and_reports_accuracy_and_token_scores(monkeypatch, tmp_path):
    point_at_fixtures(monkeypatch, CONFIG)
    from allennlp.commands.train import TrainModel

    params = Params.from_file(str(CONFIG), json.dumps({**SHRINK, "trainer.num_epochs": 2}))
    train_loop = TrainModel.from_params(
        params=params, serialization_dir=str(tmp_path), local_rank=0
    )
    train_loop.finish(train_loop.run())
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    vocab = train_loop.model.vocab
    assert vocab.get_index_to_token_vocabulary("labels") == {0: "negative", 1: "positive"}
    assert 0.0 <= metrics["validation_accuracy"] <= 1.0
    # evaluate_on_test: annotations.json, with a binary label and a look span (20 of 24 reviews).
    for name in ("accuracy", "rationale_precision", "rationale_recall", "rationale_f1"):
        assert 0.0 <= metrics[f"test_{name}"] <= 1.0
    assert metrics["test_rationale_num_reviews"] == 20

"""`benchmarks.beer_classification` on the fixtures: the binary protocol's evaluation of a
classification and a regression run on the same annotated reviews, and its tables."""

import json

import pytest
from allennlp.commands.train import train_model_from_file

from benchmarks import beer_classification, beer_real
from tests import CONFIG_ROOT, FIXTURES_ROOT
from tests.configs.test_training_configs import point_at_fixtures


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        config = CONFIG_ROOT / "beer_hardkuma_classification.jsonnet"
        point_at_fixtures(monkeypatch, config)
        root = tmp_path_factory.mktemp("beer_classification")
        overrides = {"trainer.num_epochs": 2, "trainer.cuda_device": -1}
        train_model_from_file(config, root / "classification", json.dumps(overrides))
        regression = {**overrides, "test_data_path": "fixtures/beer/annotations.json"}
        regression["evaluate_on_test"] = True
        train_model_from_file(
            FIXTURES_ROOT / "configs" / "beer_hardkuma.jsonnet",
            root / "regression",
            json.dumps(regression),
        )
        yield root


def test_the_classification_run_is_measured_as_evaluate_measures_it(runs, tmp_path):
    serialization = runs / "classification"
    kept = beer_real.keep_ours(serialization, 0, "hardkuma_a0", 1.0, kept=tmp_path)
    assert "dev_accuracy" in json.loads((kept / "curve.json").read_text())["curve"][0]
    result = beer_classification.keep_binary_protocol(serialization, kept, 0)
    metrics = json.loads((serialization / "metrics.json").read_text())
    # best.th is the model that evaluate_on_test measured.
    for key in ("accuracy", "precision", "recall", "f1", "selected"):
        test_key = "test_accuracy" if key == "accuracy" else f"test_rationale_{key}"
        assert result[key] == pytest.approx(metrics[test_key], abs=1e-6)
    # The fixture's annotations: 24 reviews, 4 without a look span and none between the
    # thresholds; a balanced training file of 12 + 12 reviews.
    assert result["reviews"] == 20 and result["labels"] == {"negative": 8, "positive": 12}
    assert result["read"] == {"train": 24, "dev": 16}


def test_the_regression_run_is_measured_on_the_same_reviews(runs, tmp_path):
    classification = beer_classification.binary_protocol_instances(runs / "classification", 0)
    regression = beer_classification.binary_protocol_instances(runs / "regression", 0)
    assert [i["metadata"]["tokens"] for i in regression] == [
        i["metadata"]["tokens"] for i in classification
    ]
    assert max(len(i["metadata"]["tokens"]) for i in regression) <= 256
    result = beer_classification.keep_binary_protocol(runs / "regression", tmp_path, 0)
    assert "accuracy" not in result and 0.0 <= result["f1"] <= 1.0


def test_tables_and_readme_row_come_from_the_kept_files(tmp_path, monkeypatch):
    monkeypatch.setattr(beer_classification, "RESULTS", tmp_path)
    assert beer_classification.headline_row() is None
    point = {"epoch": 1, "dev_accuracy": 0.8, "dev_selected": 0.2}
    protocol = {
        "accuracy": 0.9, "precision": 0.75, "recall": 0.8, "f1": 0.7742, "selected": 0.19,
        "reviews": 193, "labels": {"negative": 2, "positive": 191},
        "read": {"train": 3818, "dev": 877},
    }  # fmt: skip
    kept = tmp_path / "hardkuma_a0"
    kept.mkdir()
    curve = {"epochs": 3, "best_epoch": 1, "seconds": 60.0, "curve": [point]}
    (kept / "curve.json").write_text(json.dumps(curve))
    (kept / "binary_protocol.json").write_text(json.dumps(protocol))
    row = (
        "| look (18.5 %) | classification | default | 3 | 1 | 80.0 |  | 193 (2 / 191) | 90.0 | 75.0"
    )
    assert row in beer_classification.summary()
    assert "3,818 training and 877 dev reviews" in beer_classification.summary()
    assert (
        "F1 77.4 % (precision 75.0 %, recall 80.0 %) at 19.0 % selected, accuracy 90.0 % "
        "(always positive: 99.0 %" in (beer_classification.headline_row())
    )
    assert "| HardKuma, this project (above) | 77.4 | — | — |" in beer_classification.peers()

"""`benchmarks.beer_real` on the fixtures: the per-epoch evaluation on annotated reviews, where
the selection falls, and the tables made from kept curves (no real data needed)."""

import json

import pytest
from allennlp.commands.train import train_model_from_file

from benchmarks import beer_real
from tests import FIXTURES_ROOT


def test_every_epoch_is_evaluated_on_the_annotated_reviews(tmp_path):
    serialization = tmp_path / "run"
    train_model_from_file(
        FIXTURES_ROOT / "configs" / "beer_hardkuma.jsonnet",
        serialization,
        json.dumps(
            {
                "test_data_path": "fixtures/beer/annotations.json",
                "evaluate_on_test": True,
            }
        ),
    )
    kept = beer_real.keep_ours(serialization, 0, "fixture", 1.0, kept=tmp_path / "kept")
    record = json.loads((kept / "curve.json").read_text())
    assert record["epochs"] == 2 and [p["epoch"] for p in record["curve"]] == [1, 2]
    metrics = json.loads((serialization / "metrics.json").read_text())
    last = record["curve"][-1]
    # The last epoch's checkpoint, evaluated here, is the model `evaluate_on_test` measured when
    # the last epoch is the best one; either way the numbers are rates.
    for point in record["curve"]:
        for key in ("precision", "recall", "f1", "selected"):
            assert 0.0 <= point[key] <= 1.0
        assert sum(point["gold_by_tenth"]) == pytest.approx(1.0, abs=1e-3)
        assert len(point["selected_by_tenth"]) == 10
    if metrics["best_epoch"] == 1:
        assert last["precision"] == pytest.approx(metrics["test_rationale_precision"], abs=1e-6)
        assert last["selected"] == pytest.approx(metrics["test_rationale_selected"], abs=1e-6)
    assert (kept / "config.json").exists()


def test_tables_come_from_the_kept_curves(tmp_path, monkeypatch):
    monkeypatch.setattr(beer_real, "RESULTS", tmp_path)
    point = {
        "epoch": 1, "dev_mse": 0.05, "dev_selected": 0.1, "precision": 0.9, "recall": 0.5,
        "f1": 0.64, "selected": 0.12, "selected_by_tenth": [0.5] + [0.05] * 10,
        "gold_by_tenth": [0.4] + [0.06] * 10,
    }  # fmt: skip
    ours = {"side": "ours", "aspect": 0, "epochs": 1, "best_epoch": 1, "seconds": 120.0}
    (tmp_path / "ours_a0").mkdir()
    (tmp_path / "ours_a0" / "curve.json").write_text(json.dumps({**ours, "curve": [point]}))
    assert "not run" in beer_real.headline_row()
    assert "precision 90.0 % at 12.0 % selected, dev MSE 0.0500" in beer_real.headline_row()
    assert "| look (13 %) | ours | 1 | 1 | 0.0500 | 10.0 | 90.0 | 50.0 | 64.0 | 12.0 | 2.0 |" in (
        beer_real.summary()
    )


def test_missing_data_names_the_files(tmp_path):
    with pytest.raises(SystemExit, match="reviews.aspect0.train.txt.gz"):
        beer_real.data_files(tmp_path, 0)

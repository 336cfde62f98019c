"""The rationale model on BeerAdvocate-format fixtures: regression, dependent gates, evaluation
against annotated rationales and highlighted predictions."""

import json

import pytest
from allennlp.commands.evaluate import evaluate_from_archive
from allennlp.common.testing import ModelTestCase
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from tests import FIXTURES_ROOT

CONFIG = FIXTURES_ROOT / "configs" / "beer_hardkuma.jsonnet"


class TestBeerRationaleModel(ModelTestCase):
    def setup_method(self):
        super().setup_method()
        self.set_up_model(CONFIG, FIXTURES_ROOT / "beer" / "annotations.json")

    def test_train_save_load_and_batch_consistency(self):
        self.ensure_model_can_train_save_and_load(CONFIG)
        self.ensure_batch_predictions_are_consistent()

    def test_evaluate_on_annotations_reports_rationale_quality_and_predictor_highlights(self):
        from allennlp.commands.train import train_model_from_file

        train_model_from_file(CONFIG, self.TEST_DIR / "run")
        archive_file = self.TEST_DIR / "run" / "model.tar.gz"
        output_file = self.TEST_DIR / "metrics.json"
        evaluate_from_archive(
            archive_file=str(archive_file),
            input_file=str(FIXTURES_ROOT / "beer" / "annotations.json"),
            metrics_output_file=str(output_file),
            cuda_device=-1,
        )
        metrics = json.loads(output_file.read_text())
        for key in (
            "rationale_precision",
            "rationale_precision_macro",
            "rationale_recall",
            "rationale_f1",
            "selected",
            "mse",
        ):
            assert key in metrics, sorted(metrics)
        assert 0.0 <= metrics["rationale_precision"] <= 1.0
        assert metrics["rationale_num_reviews"] > 0
        assert 0.0 <= metrics["mse"] <= 1.0

        predictor = Predictor.from_archive(load_archive(archive_file))
        output = predictor.predict_json({"review": "Pours a hazy golden color . Smells of grass ."})
        assert output["tokens"] == "pours a hazy golden color . smells of grass .".split()
        assert len(output["score"]) == 1 and 0.0 <= output["score"][0] <= 1.0
        assert len(output["z"]) == len(output["tokens"])
        assert output["highlight"].count("[") == len(output["rationale"])
        batched = predictor.predict_batch_json(
            [{"review": "a dark beer ."}, {"review": "Pours a hazy golden color ."}]
        )
        assert batched[1]["z"] == pytest.approx(
            predictor.predict_json({"review": "Pours a hazy golden color ."})["z"], abs=1e-5
        )

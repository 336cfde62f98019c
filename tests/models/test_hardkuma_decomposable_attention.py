import json
import os
from pathlib import Path

import pytest
import torch
from allennlp.common import Params
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch
from allennlp.models import Model, load_archive
from allennlp.predictors import Predictor

import hardkuma_allennlp.dataset_readers.snli  # noqa: F401  (registers hardkuma_snli)
import hardkuma_allennlp.training.lagrangian  # noqa: F401  (registers the lagrangian callback)
from hardkuma_allennlp.models.hardkuma_decomposable_attention import HardKumaDecomposableAttention
from hardkuma_allennlp.modules.hardkuma_matrix_attention import HardKumaMatrixAttention
from hardkuma_allennlp.predictors.attention_predictor import HardKumaAttentionPredictor

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "fixtures" / "configs"
DATA = ROOT / "fixtures" / "snli"


class SnliModelTestCase(ModelTestCase):
    """Runs in the project root, to which the fixture configs' file names are relative."""

    def setup_method(self):
        super().setup_method()
        self._previous_cwd = os.getcwd()
        os.chdir(ROOT)

    def teardown_method(self):
        os.chdir(self._previous_cwd)
        super().teardown_method()


class TestHardKumaDecomposableAttention(SnliModelTestCase):
    def setup_method(self):
        super().setup_method()
        self.set_up_model(
            CONFIGS / "snli_hardkuma_attention.jsonnet", DATA / "snli_reduced.jsonl", seed=7
        )

    def test_can_train_save_and_load_with_the_lagrangian_callback(self):
        model, _ = self.ensure_model_can_train_save_and_load(
            CONFIGS / "snli_hardkuma_attention.jsonnet", seed=7
        )
        assert isinstance(model, HardKumaDecomposableAttention)
        metrics = json.loads((self.TEST_DIR / "save_and_load_test" / "metrics.json").read_text())
        assert 0.0 <= metrics["validation_nonzero_attention"] <= 1.0
        # The callback found the attention's expected rate and trained against the 10% target.
        assert metrics["training_lagrangian_selection_target"] == pytest.approx(0.1)
        assert 0.0 < metrics["training_lagrangian_selection_rate"] <= 1.0
        # The archive's default predictor is ours and predicts without downloading anything.
        predictor = Predictor.from_archive(
            load_archive(self.TEST_DIR / "save_and_load_test" / "model.tar.gz")
        )
        assert isinstance(predictor, HardKumaAttentionPredictor)
        output = predictor.predict("A dog runs in the snow.", "An animal is outside.")
        assert len(output["attention"]) == len(output["premise_tokens"]) == 7
        assert all(len(row) == 5 for row in output["attention"])

    def test_batch_predictions_are_consistent(self):
        self.ensure_batch_predictions_are_consistent()

    def test_output_attention_and_nonzero_metric(self):
        self.model.eval()
        self.model.get_metrics(reset=True)
        batch = Batch(self.instances)
        output = self.model(**batch.as_tensor_dict())
        attention = output["attention"]
        premise_lengths = [len(i["premise"].tokens) for i in self.instances]
        hypothesis_lengths = [len(i["hypothesis"].tokens) for i in self.instances]
        assert attention.shape == (
            len(self.instances),
            max(premise_lengths),
            max(hypothesis_lengths),
        )
        assert torch.equal(output["h2p_attention"], attention.transpose(1, 2))
        valid = nonzero = 0
        for k, (p, h) in enumerate(zip(premise_lengths, hypothesis_lengths)):
            assert (attention[k, p:, :] == 0).all() and (attention[k, :, h:] == 0).all()
            valid += p * h
            nonzero += int((attention[k, :p, :h] != 0).sum())
        metrics = self.model.get_metrics(reset=True)
        assert metrics["nonzero_attention"] == pytest.approx(nonzero / valid)
        assert set(metrics) == {"accuracy", "nonzero_attention"}
        assert output["label_probs"].sum(-1).allclose(torch.ones(len(self.instances)))

    def test_zero_attention_aligns_nothing(self):
        # With every cell exactly 0, the aligned vectors are zero: the prediction is that of a
        # model which compares each token with a zero vector.
        self.model.eval()
        tensors = Batch(self.instances[:2]).as_tensor_dict()
        attention_module = self.model._matrix_attention
        original = attention_module.forward

        def all_zero(*args, **kwargs):
            return torch.zeros_like(original(*args, **kwargs))

        attention_module.forward = all_zero
        try:
            zero_output = self.model(**tensors)
        finally:
            attention_module.forward = original
        assert (zero_output["attention"] == 0).all()
        assert not torch.allclose(
            zero_output["label_logits"], self.model(**tensors)["label_logits"]
        )

    def test_softmax_matrix_attention_is_a_configuration_error(self):
        params = Params.from_file(CONFIGS / "snli_hardkuma_attention.jsonnet")["model"]
        params["matrix_attention"] = {"type": "dot_product"}
        # The constructor takes a HardKuma attention: "hardkuma" is the only choice of type.
        with pytest.raises(ConfigurationError, match=r"dot_product not in .*\['hardkuma'\]"):
            Model.from_params(vocab=self.vocab, params=params)

    def test_the_attention_type_may_be_left_out(self):
        params = Params.from_file(CONFIGS / "snli_hardkuma_attention.jsonnet")["model"]
        params["matrix_attention"].pop("type")
        model = Model.from_params(vocab=self.vocab, params=params)
        assert isinstance(model._matrix_attention, HardKumaMatrixAttention)


class TestBaselineDecomposableAttention(SnliModelTestCase):
    """The baseline is allennlp-models' model, unchanged, fed by our reader and embeddings file."""

    def setup_method(self):
        super().setup_method()
        self.set_up_model(
            CONFIGS / "snli_decomposable_attention.jsonnet", DATA / "snli_reduced.jsonl", seed=7
        )

    def test_can_train_save_and_load(self):
        self.ensure_model_can_train_save_and_load(
            CONFIGS / "snli_decomposable_attention.jsonnet", seed=7
        )

    def test_attention_predictor_draws_the_baseline_softmax_attention(self):
        predictor = HardKumaAttentionPredictor(self.model, self.model_reader())
        output = predictor.predict("Two dogs run.", "Animals move quickly outside.")
        rows = torch.tensor(output["attention"])
        assert rows.shape == (4, 5)
        assert rows.sum(-1).allclose(torch.ones(4))

    def model_reader(self):
        from allennlp.data import DatasetReader

        params = Params.from_file(CONFIGS / "snli_decomposable_attention.jsonnet")
        return DatasetReader.from_params(params["dataset_reader"])

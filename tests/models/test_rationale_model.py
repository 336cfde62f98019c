import json

import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.common.testing import ModelTestCase
from allennlp.data import Batch
from allennlp.models import load_archive

from hardkuma_allennlp.modules.gates.gate import Gate, GateOutput
from tests import FIXTURES_ROOT

CONFIGS = FIXTURES_ROOT / "configs"


class TestRationaleModel(ModelTestCase):
    def setup_method(self):
        super().setup_method()
        self.set_up_model(CONFIGS / "sst_hardkuma.jsonnet", FIXTURES_ROOT / "sst" / "train.txt")

    @pytest.mark.parametrize("config", ["sst_hardkuma", "sst_hardkuma_dependent", "sst_bernoulli"])
    def test_train_save_load_and_batch_consistency(self, config):
        self.set_up_model(CONFIGS / f"{config}.jsonnet", FIXTURES_ROOT / "sst" / "train.txt")
        self.ensure_model_can_train_save_and_load(CONFIGS / f"{config}.jsonnet")
        self.ensure_batch_predictions_are_consistent()

    def test_output_and_metrics(self):
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        self.model.eval()
        output = self.model(**batch.as_tensor_dict())
        mask = output["mask"]
        assert output["z"].shape == mask.shape
        assert ((output["z"] >= 0) & (output["z"] <= 1)).all()
        assert (output["z"][~mask] == 0).all()
        metrics = self.model.get_metrics(reset=True)
        shares = metrics["zero"] + metrics["continuous"] + metrics["one"]
        assert shares == pytest.approx(1.0)
        assert metrics["selected"] == pytest.approx(1.0 - metrics["zero"])
        valid = output["z"][mask]
        assert metrics["selected"] == pytest.approx(float((valid != 0).float().mean()))

        readable = self.model.make_output_human_readable(output)
        for tokens, z, rationale, highlight, label in zip(
            readable["tokens"],
            readable["z"],
            readable["rationale"],
            readable["highlight"],
            readable["label"],
        ):
            assert len(z) == len(tokens)
            assert rationale == [t for t, g in zip(tokens, z) if g != 0]
            assert highlight.count("[") == len(rationale)
            assert label in self.vocab.get_token_to_index_vocabulary("labels")

    @pytest.mark.parametrize("config", ["sst_hardkuma", "sst_full_text"])
    def test_outputs_are_what_the_encoder_selected(self, config):
        self.set_up_model(CONFIGS / f"{config}.jsonnet", FIXTURES_ROOT / "sst" / "train.txt")
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        self.model.eval()
        output = self.model(**tensors)
        mask = output["mask"]
        embedded = self.model._text_field_embedder(tensors["tokens"])
        encoder = self.model._encoder
        if config == "sst_full_text":  # no gate: every token selected, no scores
            assert not hasattr(encoder, "encode_rationale") and "gate_scores" not in output
            assert torch.equal(output["z"], mask.float())
            return
        encoding = encoder.encode_rationale(embedded, mask)
        assert torch.equal(output["z"], encoding.z) and torch.equal(
            output["gate_scores"], encoding.scores
        )
        assert not output["z"].requires_grad and not output["gate_scores"].requires_grad
        assert torch.allclose(output["logits"], self.model._output_layer(encoding.vector))

    def test_evaluation_is_deterministic(self):
        batch = Batch(self.instances)
        batch.index_instances(self.vocab)
        tensors = batch.as_tensor_dict()
        self.model.eval()
        first = self.model(**tensors)
        second = self.model(**tensors)
        assert torch.equal(first["z"], second["z"])
        assert torch.equal(first["logits"], second["logits"])

    def test_zero_gated_token_has_no_influence(self):
        """With the gates fixed, changing the embedding of a token with z = 0 changes nothing."""
        encoder = self.model._encoder
        self.model.eval()
        embedded = torch.randn(3, 7, encoder.get_input_dim())
        mask = torch.ones(3, 7, dtype=torch.bool)
        mask[2, 5:] = False
        z = torch.rand(3, 7)
        z[:, [1, 4]] = 0.0

        class FixedGate(Gate):
            def forward(self, tokens, mask):
                return GateOutput(z * mask, z * mask)

        gate = encoder.gate
        encoder.gate = FixedGate()
        try:
            original = encoder(embedded, mask)
            perturbed = embedded.clone()
            perturbed[:, [1, 4]] += 100 * torch.randn(3, 2, embedded.size(-1))
            perturbed[2, 5:] = 7.0  # padding too
            assert torch.allclose(encoder(perturbed, mask), original, atol=1e-6)
            # A selected token does change the output (the test can fail).
            perturbed[:, 0] += 1.0
            assert not torch.allclose(encoder(perturbed, mask), original, atol=1e-4)
        finally:
            encoder.gate = gate


def test_latent_rationale_inside_basic_classifier_with_lagrangian(tmp_path):
    """The encoder trains inside AllenNLP's own basic_classifier by config alone."""
    from allennlp.commands.train import train_model_from_file

    model = train_model_from_file(
        CONFIGS / "sst_basic_classifier_hardkuma.jsonnet", tmp_path / "run", return_model=True
    )
    assert type(model).__name__ == "BasicClassifier"
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["training_lagrangian_selection_target"] == 0.3
    assert metrics["training_lagrangian_selection_lambda"] != 0.0
    assert 0.0 <= metrics["validation_lagrangian_selection_rate"] <= 1.0
    archive = load_archive(tmp_path / "run" / "model.tar.gz")
    assert "get_metrics" not in vars(archive.model)


def test_bernoulli_gate_inside_basic_classifier_fails_early_with_advice(tmp_path):
    """basic_classifier never adds the gate's REINFORCE loss: the gate would never learn."""
    from allennlp.commands.train import train_model_from_file

    overrides = {
        "model.seq2vec_encoder.gate": {
            "type": "bernoulli",
            "encoder": {"type": "pass_through", "input_dim": 10},
            "sparsity": 0.01,
            "coherence": 0.01,
        },
        "trainer.callbacks": [],
    }
    with pytest.raises(ConfigurationError, match="REINFORCE loss was not added.*rationale_model"):
        train_model_from_file(
            CONFIGS / "sst_basic_classifier_hardkuma.jsonnet",
            tmp_path / "run",
            overrides=json.dumps(overrides),
        )


def test_embedding_dropout_can_be_left_to_the_encoder():
    # The paper authors' layout: no shared dropout on the embeddings, the `latent_rationale`
    # encoder drawing its own masks for the gate and the classifier; `dropout` still acts before
    # the output layer.
    from allennlp.common import Params
    from allennlp.data import Vocabulary
    from allennlp.data.dataset_readers import DatasetReader
    from allennlp.models import Model

    params = Params.from_file(
        str(CONFIGS / "sst_hardkuma.jsonnet"),
        json.dumps({"model.embedding_dropout": 0.0, "model.dropout": 0.5}),
    )
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(reader.read(str(FIXTURES_ROOT / "sst" / "train.txt")))[:8]
    vocab = Vocabulary.from_instances(instances)
    model = Model.from_params(vocab=vocab, params=params.pop("model"))
    assert model._embedding_dropout.p == 0.0 and model._dropout.p == 0.5
    seen = []
    encode_rationale = model._encoder.encode_rationale
    model._encoder.encode_rationale = lambda tokens, mask: encode_rationale(
        seen.append(tokens) or tokens, mask
    )
    batch = Batch(instances)
    batch.index_instances(vocab)
    tensors = batch.as_tensor_dict()
    model.train()
    model(**tensors)
    embedded = model._text_field_embedder(tensors["tokens"])
    assert torch.equal(seen[0], embedded)  # no dropout on the embeddings the encoder reads

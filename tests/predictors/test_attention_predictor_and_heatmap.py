import json
from pathlib import Path

import numpy
import pytest
import torch
from allennlp.common import Params
from allennlp.data import DatasetReader, Vocabulary
from allennlp.models import Model

import hardkuma_allennlp.dataset_readers.snli  # noqa: F401  (registers hardkuma_snli)
import hardkuma_allennlp.models.hardkuma_decomposable_attention  # noqa: F401
from hardkuma_allennlp.interpret.attention_heatmap import main as heatmap_main
from hardkuma_allennlp.interpret.attention_heatmap import plot_attention_heatmap
from hardkuma_allennlp.predictors.attention_predictor import HardKumaAttentionPredictor

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def predictor():
    params = Params.from_file(ROOT / "fixtures" / "configs" / "snli_hardkuma_attention.jsonnet")
    reader = DatasetReader.from_params(params.pop("dataset_reader"))
    instances = list(reader.read(str(ROOT / "fixtures" / "snli" / "snli_reduced.jsonl")))
    vocab = Vocabulary.from_instances(instances)
    model_params = params.pop("model")
    # No pretrained file: the predictor test needs no word vectors.
    model_params["text_field_embedder"]["token_embedders"]["tokens"].pop("pretrained_file")
    torch.manual_seed(0)
    model = Model.from_params(vocab=vocab, params=model_params)
    return HardKumaAttentionPredictor(model, reader)


def test_prediction_has_label_probabilities_and_a_token_by_token_matrix(predictor):
    output = predictor.predict_json(
        {"premise": "Two dogs run through the snow.", "hypothesis": "Animals are outside."}
    )
    assert output["premise_tokens"] == ["Two", "dogs", "run", "through", "the", "snow", "."]
    assert output["hypothesis_tokens"] == ["Animals", "are", "outside", "."]
    matrix = numpy.array(output["attention"])
    assert matrix.shape == (7, 4)
    assert ((matrix >= 0) & (matrix <= 1)).all()
    assert output["nonzero_attention"] == pytest.approx((matrix != 0).mean())
    probabilities = output["probabilities"]
    assert set(probabilities) == {"entailment", "contradiction", "neutral"}
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert output["label"] == max(probabilities, key=probabilities.get)
    json.dumps(output)  # plain JSON


def test_batch_predictions_are_cut_to_each_pair(predictor):
    inputs = [
        {"premise": "A man is playing a guitar on stage.", "hypothesis": "A man plays."},
        {"premise": "A kid eats.", "hypothesis": "The child is eating an apple outside."},
    ]
    batch = predictor.predict_batch_json(inputs)
    for single_input, output in zip(inputs, batch):
        single = predictor.predict_json(single_input)
        assert numpy.array(output["attention"]).shape == (
            len(output["premise_tokens"]),
            len(output["hypothesis_tokens"]),
        )
        numpy.testing.assert_allclose(output["attention"], single["attention"], atol=1e-6)


def test_missing_input_key_is_named(predictor):
    with pytest.raises(ValueError, match="missing hypothesis"):
        predictor.predict_json({"premise": "A dog."})


def test_heatmap_png_is_written(tmp_path):
    path = plot_attention_heatmap(
        [[0.0, 1.0, 0.3], [0.0, 0.0, 0.0]],
        ["A", "dog"],
        ["An", "animal", "."],
        str(tmp_path / "sub" / "pair.png"),
        title="entailment",
    )
    data = Path(path).read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 1000


def test_heatmap_shape_mismatch_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*2 premise and 3 hypothesis"):
        plot_attention_heatmap(
            [[0, 1], [1, 0]], ["a", "b"], ["c", "d", "e"], str(tmp_path / "x.png")
        )


def test_heatmap_command_line_draws_predictor_output(tmp_path, predictor, capsys):
    predictions = tmp_path / "predictions.jsonl"
    outputs = predictor.predict_batch_json(
        [{"premise": "A boy jumps.", "hypothesis": "A boy is wet."}] * 3
    )
    predictions.write_text("".join(json.dumps(o) + "\n" for o in outputs))
    heatmap_main([str(predictions), str(tmp_path / "maps"), "--limit", "2"])
    written = sorted(p.name for p in (tmp_path / "maps").iterdir())
    assert written == ["pair_0000.png", "pair_0001.png"]
    assert (tmp_path / "maps" / "pair_0001.png").read_bytes().startswith(PNG_MAGIC)
    predictions.write_text('{"attention": [[1]]}\n')
    with pytest.raises(ValueError, match=r"predictions\.jsonl, line 1"):
        heatmap_main([str(predictions), str(tmp_path / "maps2")])

"""`training_config/text_classification_hardkuma.jsonnet` trains on a user's own CSV (the
fixture), and `allennlp predict` then works offline on JSON lines and with the dataset reader."""

import json
import sys

import pytest
from allennlp.commands import main
from allennlp.commands.train import train_model_from_file

from hardkuma_allennlp.environment import DEFAULTS
from tests import CONFIG_ROOT, FIXTURES_ROOT

CONFIG = CONFIG_ROOT / "text_classification_hardkuma.jsonnet"
DATA = FIXTURES_ROOT / "text_classification"
TINY = {
    "model.encoder.gate.encoder.hidden_size": 8,
    "model.encoder.encoder.encoder.hidden_size": 8,
    "data_loader.batch_size": 8,
    "trainer.num_epochs": 2,
    "trainer.cuda_device": -1,
    "dataset_reader.rationale_key": "rationale",
}


def point_at_fixtures(monkeypatch, embeddings=""):
    monkeypatch.setenv("TEXT_TRAIN", str(DATA / "train.csv"))
    monkeypatch.setenv("TEXT_DEV", str(DATA / "dev.jsonl"))
    monkeypatch.setenv("TEXT_EMBEDDINGS", embeddings)
    monkeypatch.setenv("EMBEDDING_DIM", "10")
    monkeypatch.setenv("LOWERCASE", "true")
    monkeypatch.setenv("CUDA_DEVICE", "-1")
    monkeypatch.setenv("USE_AMP", "false")


def allennlp(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["allennlp", *map(str, args)])
    main(prog="allennlp")


def read_json_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    point_at_fixtures(monkeypatch)
    directory = tmp_path_factory.mktemp("text_classification")
    try:
        train_model_from_file(CONFIG, directory, overrides=json.dumps(TINY))
    finally:
        monkeypatch.undo()
    return directory


def test_trains_on_a_csv_with_gold_rationales(trained):
    assert (trained / "model.tar.gz").exists()
    metrics = json.loads((trained / "metrics.json").read_text())
    assert metrics["epoch"] == 1
    assert 0.0 <= metrics["validation_accuracy"] <= 1.0
    assert metrics["validation_rationale_num_reviews"] == 12
    assert 0.0 <= metrics["validation_rationale_f1"] <= 1.0
    assert "training_lagrangian_selection_lambda" in metrics
    labels = (trained / "vocabulary" / "labels.txt").read_text().split()
    assert sorted(labels) == ["negative", "positive"]
    # The atomic checkpointer: no temporary file left.
    assert not list(trained.glob(".*.tmp"))


def test_predict_json_lines_offline(trained, tmp_path, monkeypatch):
    output = tmp_path / "predictions.jsonl"
    allennlp(
        monkeypatch,
        "predict",
        trained / "model.tar.gz",
        DATA / "predict.jsonl",
        "--output-file",
        output,
        "--silent",
        "--cuda-device",
        -1,
    )
    predictions = read_json_lines(output)
    inputs = read_json_lines(DATA / "predict.jsonl")
    assert len(predictions) == len(inputs) == 4
    assert inputs[3] == {"id": "mine-4", "text": "music excellent a this film this"}
    for prediction, given in zip(predictions, inputs):
        text = given["sentence"] if "sentence" in given else given["text"]
        assert prediction["tokens"] == text.lower().split()
        assert prediction.get("id") == given.get("id")
        assert prediction["label"] in {"positive", "negative"}
        assert len(prediction["z"]) == len(prediction["tokens"])
        assert prediction["rationale"] == [
            t for t, g in zip(prediction["tokens"], prediction["z"]) if g != 0
        ]


def test_predict_with_the_dataset_reader_on_a_csv(trained, tmp_path, monkeypatch):
    output = tmp_path / "predictions.jsonl"
    allennlp(
        monkeypatch,
        "predict",
        trained / "model.tar.gz",
        DATA / "dev.csv",
        "--use-dataset-reader",
        "--output-file",
        output,
        "--silent",
    )
    predictions = read_json_lines(output)
    assert len(predictions) == 12
    assert predictions[0]["tokens"] == "actors story and plot lovely".split()


def test_pretrained_embeddings_from_the_environment(tmp_path, monkeypatch):
    point_at_fixtures(monkeypatch, embeddings=str(FIXTURES_ROOT / "glove" / "tiny_glove.txt"))
    train_model_from_file(CONFIG, tmp_path, overrides=json.dumps({**TINY, "trainer.num_epochs": 1}))
    assert (tmp_path / "model.tar.gz").exists()


def test_a_bad_line_in_the_users_data_names_file_and_line(tmp_path, monkeypatch):
    point_at_fixtures(monkeypatch)
    bad = tmp_path / "train.csv"
    lines = (DATA / "train.csv").read_text().splitlines()
    lines[5] = "only a text, no label"
    bad.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("TEXT_TRAIN", str(bad))
    with pytest.raises(ValueError, match=rf"{bad}, line 6: expected 3 fields"):
        train_model_from_file(CONFIG, tmp_path / "run", overrides=json.dumps(TINY))


@pytest.mark.parametrize("path", ["model.encoder.gate.encoder", "model.encoder.encoder.encoder"])
def test_a_value_of_the_wrong_type_names_its_path(tmp_path, monkeypatch, path):
    # Both encoders have a `hidden_size`: the message says which one is wrong.
    point_at_fixtures(monkeypatch)
    overrides = json.dumps({**TINY, f"{path}.hidden_size": "eight"})
    with pytest.raises(TypeError) as error:
        train_model_from_file(CONFIG, tmp_path, overrides=overrides)
    assert str(error.value) == (
        f"{path}.hidden_size: Expected hidden_size to be a int. (got 'eight')"
    )


def test_without_its_data_the_config_names_the_variable(tmp_path, monkeypatch):
    # The defaults of TEXT_TRAIN and TEXT_DEV (hardkuma_allennlp.environment) name no file.
    point_at_fixtures(monkeypatch)
    monkeypatch.setenv("TEXT_TRAIN", DEFAULTS["TEXT_TRAIN"])
    with pytest.raises(FileNotFoundError, match="TEXT_TRAIN_IS_NOT_SET"):
        train_model_from_file(CONFIG, tmp_path, overrides=json.dumps(TINY))

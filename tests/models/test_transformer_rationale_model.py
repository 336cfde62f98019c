"""
A `rationale_model` with HardKuma gates over AllenNLP's `pretrained_transformer_mismatched`
embedder (the tiny random BERT of fixtures/tiny_bert), offline: train -> archive -> predict and
`rationales`, with word-level gates and rationales (words, never word pieces).
"""

import argparse
import json

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from hardkuma_allennlp.commands.rationales import Rationales
from hardkuma_allennlp.interpret import eraser
from tests import FIXTURES_ROOT
from tests.offline import no_network, refuse_network  # noqa: F401  (the fixture, used below)

CONFIG = FIXTURES_ROOT / "configs" / "sst_hardkuma_tiny_bert.jsonnet"
SENTENCE = "A wonderful writer/director , Fellini ."
# What the predictor's tokenizer (spacy_blank) makes of SENTENCE: 8 words, 11 word pieces
# (wond ##erful, dire ##ctor, fell ##ini).
WORDS = ["A", "wonderful", "writer", "/", "director", ",", "Fellini", "."]

pytestmark = pytest.mark.usefixtures("no_network")


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny_bert_hardkuma")
    with pytest.MonkeyPatch.context() as patch:
        refuse_network(patch)
        train_model_from_file(CONFIG, directory)
    return directory / "model.tar.gz"


@pytest.fixture(scope="module")
def predictor(archive_path):
    return Predictor.from_archive(load_archive(archive_path))


def test_archive_holds_a_trained_hardkuma_model_over_the_transformer(archive_path):
    model = load_archive(archive_path).model
    assert type(model).__name__ == "RationaleModel"
    assert type(model._encoder.gate).__name__ == "HardKumaGate"
    embedder = model._text_field_embedder._token_embedders["tokens"]
    assert type(embedder).__name__ == "PretrainedTransformerMismatchedEmbedder"
    metrics = json.loads((archive_path.parent / "metrics.json").read_text())
    assert metrics["training_lagrangian_selection_target"] == 0.3
    assert 0.0 <= metrics["validation_selected"] <= 1.0


def test_prediction_gives_one_gate_per_word(predictor):
    output = predictor.predict_json({"sentence": SENTENCE})
    assert output["tokens"] == WORDS
    assert len(output["z"]) == len(output["gate_scores"]) == len(WORDS)
    assert all(0.0 <= g <= 1.0 for g in output["z"])
    assert output["rationale"] == [w for w, g in zip(WORDS, output["z"]) if g != 0]
    assert output["highlight"].split() == [
        f"[{w}]" if g != 0 else w for w, g in zip(WORDS, output["z"])
    ]
    assert not any("##" in token for token in output["tokens"] + output["rationale"])
    assert output["label"] in {"0", "1", "2", "3", "4"}


def test_batched_prediction_equals_one_at_a_time(predictor):
    # Padding is at the word level (the indexer's word mask), so a short sentence padded next to
    # a long one gets the same gates and prediction as alone.
    inputs = [{"sentence": SENTENCE}, {"sentence": "Dull ."}, {"sentence": "The plot is awful ."}]
    batched = predictor.predict_batch_json(inputs)
    for one, alone in zip(batched, (predictor.predict_json(i) for i in inputs)):
        assert one["tokens"] == alone["tokens"] and one["label"] == alone["label"]
        assert one["z"] == pytest.approx(alone["z"], abs=1e-5)
        assert one["probs"] == pytest.approx(alone["probs"], abs=1e-5)


def test_tree_instances_keep_the_treebank_words(predictor):
    instances = list(predictor._dataset_reader.read(str(FIXTURES_ROOT / "sst" / "train.txt")))
    outputs = predictor.predict_batch_instance(instances)
    for instance, output in zip(instances, outputs):
        assert output["tokens"] == instance["metadata"]["tokens"]
        assert len(output["z"]) == len(output["word_labels"]) == len(output["tokens"])
    assert any("writer/director" in output["tokens"] for output in outputs)  # one word, 3 pieces


def test_rationales_report_and_eraser_export_are_per_word(archive_path, tmp_path):
    html, jsonl, metrics = tmp_path / "r.html", tmp_path / "r.jsonl", tmp_path / "m.json"
    parser = argparse.ArgumentParser()
    Rationales().add_subparser(parser.add_subparsers())
    test_file = FIXTURES_ROOT / "sst" / "test.txt"
    args = parser.parse_args(
        ["rationales", str(archive_path), str(test_file), "--use-dataset-reader"]
        + ["--html", str(html), "--eraser", str(jsonl), "--metrics", str(metrics)]
    )
    args.func(args)
    summary = json.loads(metrics.read_text())
    assert summary["inputs"] == 8 and "comprehensiveness" in summary
    reader = load_archive(archive_path).validation_dataset_reader
    instances = list(reader.read(str(test_file)))
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(records) == len(instances)
    for number, (record, instance) in enumerate(zip(records, instances), start=1):
        eraser.validate(record, number)
        words = instance["metadata"]["tokens"]
        assert len(record["rationales"][0]["soft_rationale_predictions"]) == len(words)
    page = html.read_text()
    assert "seductive" in page and "documentary" in page  # words of 2 pieces, shown whole
    assert "##" not in page

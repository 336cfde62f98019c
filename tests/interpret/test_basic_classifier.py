"""
`allennlp predict` and `allennlp rationales` on AllenNLP's own `basic_classifier` with a
`latent_rationale` encoder (issue 26, item 4): JSON input is tokenized by the model's dataset
reader, so no spaCy model is loaded (the autouse `_no_spacy_model_loads` of tests/conftest.py
fails any test that loads one), and `rationales` evaluates the gates in both input modes, as for
the `rationale_model`.
"""

import argparse
import json

import pytest
import torch
from allennlp.commands.predict import Predict
from allennlp.models import BasicClassifier
from allennlp.nn.util import get_text_field_mask

from hardkuma_allennlp.commands.rationales import Rationales
from hardkuma_allennlp.interpret.rationale_evaluator import RationaleEvaluator
from tests import FIXTURES_ROOT

CONFIG = "sst_basic_classifier_hardkuma"


def rationales(*argv: str):
    parser = argparse.ArgumentParser()
    Rationales().add_subparser(parser.add_subparsers())
    args = parser.parse_args(["rationales", *argv])
    return args.func(args)["summary"]


def test_predict_with_json_input(fixture_archive_path, tmp_path):
    # AllenNLP's `text_classifier` predictor builds a spaCy tokenizer (en_core_web_sm) when the
    # model's dataset reader has no tokenizer of its own.
    archive = fixture_archive_path(CONFIG)
    data = tmp_path / "in.jsonl"
    data.write_text(json.dumps({"sentence": "a gorgeous , witty , seductive movie ."}) + "\n")
    output = tmp_path / "out.jsonl"
    parser = argparse.ArgumentParser()
    Predict().add_subparser(parser.add_subparsers())
    args = parser.parse_args(
        ["predict", str(archive), str(data), "--output-file", str(output), "--silent"]
    )
    args.func(args)
    (prediction,) = [json.loads(line) for line in output.read_text().splitlines()]
    # The reader's 8 tokens ("seductive" and "." apart); a label of the vocabulary.
    assert len(prediction["token_ids"]) == 8
    assert prediction["label"] in archive_labels(fixture_archive_path)


def archive_labels(fixture_archive_path):
    from allennlp.models.archival import load_archive

    vocab = load_archive(fixture_archive_path(CONFIG)).model.vocab
    return set(vocab.get_token_to_index_vocabulary("labels"))


@pytest.mark.parametrize("json_input", [True, False], ids=["json", "dataset_reader"])
def test_rationales_evaluates_the_gates(fixture_archive_path, tmp_path, json_input):
    archive = str(fixture_archive_path(CONFIG))
    if json_input:
        data = tmp_path / "in.jsonl"
        data.write_text(
            json.dumps({"sentence": "a gorgeous , witty , seductive movie .", "id": "a"})
            + "\n"
            + json.dumps({"sentence": "the plot is a tired , predictable mess ."})
            + "\n"
        )
        extra = [str(data)]
    else:
        extra = [str(FIXTURES_ROOT / "sst" / "dev.txt"), "--use-dataset-reader"]
    eraser_file = tmp_path / "eraser.jsonl"
    summary = rationales(archive, *extra, "--eraser", str(eraser_file))
    # Measured at the model's own rationale, as for a rationale_model (not a full-text model).
    assert {"selected", "comprehensiveness", "sufficiency"} <= set(summary)
    records = [json.loads(line) for line in eraser_file.read_text().splitlines()]
    assert len(records) == summary["inputs"]
    selected = total = 0
    for record in records:
        (rationale,) = record["rationales"]
        total += len(rationale["soft_rationale_predictions"])
        selected += sum(
            s["end_token"] - s["start_token"] for s in rationale["hard_rationale_predictions"]
        )
    assert selected / total == pytest.approx(summary["selected"])
    if json_input:
        assert records[0]["annotation_id"] == "a"


def test_the_gates_are_those_of_the_models_own_encoder(fixture_archive):
    archive = fixture_archive(CONFIG)
    model = archive.model
    assert isinstance(model, BasicClassifier)
    reader = archive.validation_dataset_reader
    instances = list(reader.read(FIXTURES_ROOT / "sst" / "dev.txt"))[:4]
    for instance in instances:
        reader.apply_token_indexers(instance)
    records = list(RationaleEvaluator(model, batch_size=4).evaluate(instances))
    for instance, record in zip(instances, records):
        tensors = instance.as_tensor_dict()["tokens"]
        batch = {name: {k: v.unsqueeze(0) for k, v in t.items()} for name, t in tensors.items()}
        with torch.no_grad():
            embedded = model._text_field_embedder(batch)
            encoding = model._seq2vec_encoder.encode_rationale(embedded, get_text_field_mask(batch))
        assert record["gates"]["tokens"] == pytest.approx(encoding.z[0].tolist())
        assert record["scores"]["tokens"] == pytest.approx(encoding.scores[0].tolist())
        assert record["rationale"]["tokens"] == (encoding.z[0] != 0).tolist()

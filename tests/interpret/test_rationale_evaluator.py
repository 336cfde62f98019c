"""
ERASER measures of models trained on the fixtures, against a brute-force computation: every
reduced input is rebuilt as text and predicted on its own, one at a time, with the predictor.
"""

import copy

import numpy
import pytest
import torch
from allennlp.common.checks import ConfigurationError
from allennlp.models import Model
from allennlp.predictors import Predictor

from hardkuma_allennlp.interpret import faithfulness
from hardkuma_allennlp.interpret.rationale_evaluator import UNKNOWN, RationaleEvaluator, summarize
from tests import FIXTURES_ROOT


@pytest.fixture(scope="module")
def hardkuma(fixture_archive):
    return fixture_archive("sst_hardkuma")


@pytest.fixture(scope="module")
def full_text(fixture_archive):
    return fixture_archive("sst_full_text")


@pytest.fixture(scope="module")
def beer(fixture_archive):
    return fixture_archive("beer_hardkuma")


@pytest.fixture(scope="module")
def snli(fixture_archive):
    return fixture_archive("snli_hardkuma_attention")


def records_of(archive, path, batch_size=3):
    reader = archive.dataset_reader
    instances = list(reader.read(path))
    for instance in instances:
        reader.apply_token_indexers(instance)
    evaluator = RationaleEvaluator(archive.model, batch_size=batch_size)
    return instances, list(evaluator.evaluate(instances))


def predicted_value(predictor, tokens, index, regression):
    """The model's output for the class `index` (or the score) on `tokens` alone."""
    # Beer reviews are split on whitespace; SST takes the token list as it is.
    text = " ".join(tokens or [UNKNOWN]) if regression else (tokens or [UNKNOWN])
    instance = predictor._dataset_reader.text_to_instance(text)
    output = predictor.predict_instance(instance)
    if regression:
        return output["score"][0]
    return output["probs"][index]


def test_sst_hardkuma_measures_match_brute_force(hardkuma):
    predictor = Predictor.from_archive(hardkuma)
    instances, records = records_of(hardkuma, FIXTURES_ROOT / "sst" / "test.txt")
    assert len(records) == len(instances) == 8
    for record in records:
        tokens = record["tokens"]["tokens"]
        kept = record["rationale"]["tokens"]
        index = record["predicted_index"]
        # The prediction and the rationale are those of the predictor on the whole sentence.
        alone = predictor.predict_instance(predictor._dataset_reader.text_to_instance(tokens))
        assert alone["label"] == record["prediction"]
        assert [z != 0 for z in alone["z"]] == kept
        assert record["gates"]["tokens"] == pytest.approx(alone["z"], abs=1e-6)
        full = alone["probs"][index]
        assert record["full"] == pytest.approx(full, abs=1e-5)
        without = predicted_value(predictor, [t for t, k in zip(tokens, kept) if not k], index, 0)
        only = predicted_value(predictor, [t for t, k in zip(tokens, kept) if k], index, 0)
        assert record["comprehensiveness"] == pytest.approx(full - without, abs=1e-5)
        assert record["sufficiency"] == pytest.approx(full - only, abs=1e-5)
        # AOPC: rank by P(z != 0) by hand (a stable sort), remove / keep the top k per bin.
        scores = record["scores"]["tokens"]
        order = sorted(range(len(tokens)), key=lambda i: (-scores[i], i))
        comprehensiveness, sufficiency = [], []
        for share in faithfulness.AOPC_BINS:
            k = min(len(tokens), max(1, round(share * len(tokens))))
            top = set(order[:k])
            rest = [t for i, t in enumerate(tokens) if i not in top]
            chosen = [t for i, t in enumerate(tokens) if i in top]
            comprehensiveness.append(full - predicted_value(predictor, rest, index, 0))
            sufficiency.append(full - predicted_value(predictor, chosen, index, 0))
        assert record["aopc_comprehensiveness"] == pytest.approx(
            numpy.mean(comprehensiveness), abs=1e-5
        )
        assert record["aopc_sufficiency"] == pytest.approx(numpy.mean(sufficiency), abs=1e-5)
    summary = summarize(records)
    assert summary["comprehensiveness"] == pytest.approx(
        numpy.mean([r["comprehensiveness"] for r in records])
    )
    gold = [r["gold_label"] for r in records]
    assert summary["accuracy"] == pytest.approx(
        numpy.mean([str(r["prediction"]) == str(g) for r, g in zip(records, gold)])
    )


def test_batching_does_not_change_the_records(hardkuma):
    _, one = records_of(hardkuma, FIXTURES_ROOT / "sst" / "test.txt", batch_size=1)
    _, many = records_of(hardkuma, FIXTURES_ROOT / "sst" / "test.txt", batch_size=8)
    for a, b in zip(one, many):
        assert a["rationale"] == b["rationale"]
        assert a["aopc_comprehensiveness"] == pytest.approx(b["aopc_comprehensiveness"], abs=1e-5)
        assert a["comprehensiveness"] == pytest.approx(b["comprehensiveness"], abs=1e-5)


def test_full_text_model_ranks_by_gradient_times_input(full_text):
    instances, records = records_of(full_text, FIXTURES_ROOT / "sst" / "test.txt")
    model = full_text.model
    for instance, record in zip(instances, records):
        assert record["rationale"] is None and "comprehensiveness" not in record
        # Brute force: the gradient of the predicted class's log-probability with respect to the
        # embeddings, by autograd on a leaf copy of the embeddings.
        tokens = record["tokens"]["tokens"]
        indices = torch.tensor(
            [[model.vocab.get_token_index(t, "tokens") for t in tokens]], dtype=torch.long
        )
        embedding = model._text_field_embedder.token_embedder_tokens.weight[indices].detach()
        embedding.requires_grad_(True)
        mask = torch.ones(1, len(tokens), dtype=torch.bool)
        logits = model._output_layer(model._encoder(embedding, mask))
        log_probs = torch.log_softmax(logits, dim=-1)[0]
        log_probs[record["predicted_index"]].backward()
        expected = (embedding.grad * embedding).sum(-1)[0].tolist()
        assert record["scores"]["tokens"] == pytest.approx(expected, abs=1e-5)
    assert "comprehensiveness" not in summarize(records)


def test_beer_regression_and_gold_agreement_match_brute_force(beer):
    instances, records = records_of(beer, FIXTURES_ROOT / "beer" / "annotations.json")
    predictor = Predictor.from_archive(beer)
    with_gold = [r for r in records if "gold_rationale" in r]
    assert with_gold, "the fixture annotations have gold spans"
    for record in records[:6]:
        tokens = record["tokens"]["tokens"]
        kept = record["rationale"]["tokens"]
        full = record["full"]
        assert record["score"] == pytest.approx(full)
        without = predicted_value(predictor, [t for t, k in zip(tokens, kept) if not k], 0, True)
        assert record["comprehensiveness"] == pytest.approx(abs(full - without), abs=1e-5)
    summary = summarize(records)
    tp = sum(
        p and g
        for r in with_gold
        for p, g in zip(r["rationale"]["tokens"], r["gold_rationale"]["tokens"])
    )
    selected = sum(sum(r["rationale"]["tokens"]) for r in with_gold)
    gold = sum(sum(r["gold_rationale"]["tokens"]) for r in with_gold)
    assert summary["token_precision"] == pytest.approx(tp / selected if selected else 0.0)
    assert summary["token_recall"] == pytest.approx(tp / gold)
    assert summary["gold_inputs"] == len(with_gold)
    assert "mse" in summary and "accuracy" not in summary


def test_snli_attention_rationale_is_the_tokens_with_nonzero_cells(snli):
    instances, records = records_of(snli, FIXTURES_ROOT / "snli" / "snli_original.jsonl")
    predictor = Predictor.from_archive(snli)
    for record in records[:5]:
        premise, hypothesis = record["tokens"]["premise"], record["tokens"]["hypothesis"]
        output = predictor.predict(" ".join(premise), " ".join(hypothesis))
        matrix = numpy.asarray(output["attention"])
        assert numpy.asarray(record["attention"]) == pytest.approx(matrix, abs=1e-6)
        assert record["rationale"]["premise"] == (matrix != 0).any(1).tolist()
        assert record["rationale"]["hypothesis"] == (matrix != 0).any(0).tolist()
        assert record["prediction"] == output["label"]
        # Comprehensiveness by hand: both sentences without their rationale tokens.
        index = record["predicted_index"]
        kept_p, kept_h = record["rationale"]["premise"], record["rationale"]["hypothesis"]
        rest_p = [t for t, k in zip(premise, kept_p) if not k] or [UNKNOWN]
        rest_h = [t for t, k in zip(hypothesis, kept_h) if not k] or [UNKNOWN]
        reduced = predictor.predict(" ".join(rest_p), " ".join(rest_h))
        expected = record["full"] - reduced["label_probs"][index]
        assert record["comprehensiveness"] == pytest.approx(expected, abs=1e-5)


def test_gradient_times_input_with_frozen_word_vectors(full_text):
    # The SST and Beer configs freeze their word vectors: the embedder's output then has no
    # graph, and gradient x input must still be the same.
    _, trainable = records_of(full_text, FIXTURES_ROOT / "sst" / "test.txt")
    weight = full_text.model._text_field_embedder.token_embedder_tokens.weight
    weight.requires_grad_(False)
    try:
        _, frozen = records_of(full_text, FIXTURES_ROOT / "sst" / "test.txt")
    finally:
        weight.requires_grad_(True)
    for a, b in zip(trainable, frozen):
        assert a["scores"]["tokens"] == pytest.approx(b["scores"]["tokens"], abs=1e-6)
        assert any(score != 0 for score in b["scores"]["tokens"])


def test_a_model_with_two_gated_encoders_is_refused(hardkuma):
    class TwoGates(Model):
        def __init__(self, encoder) -> None:
            super().__init__(hardkuma.model.vocab)
            self.first, self.second = encoder, copy.deepcopy(encoder)

    with pytest.raises(ConfigurationError, match="TwoGates has 2 latent_rationale encoders"):
        RationaleEvaluator(TwoGates(hardkuma.model._encoder))

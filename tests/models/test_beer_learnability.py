"""After a short CPU training on synthetic reviews, the rationale lies in the annotated span."""

import random

from allennlp.commands.train import train_model
from allennlp.common import Params
from allennlp.data import Batch, DatasetReader

from scripts import make_beer_fixtures
from tests import FIXTURES_ROOT, word_gate_model


def write_reviews(path, count, rng):
    lines = []
    for _ in range(count):
        tokens, scores, _ = make_beer_fixtures.make_review(rng)
        lines.append(f"{make_beer_fixtures.format_scores(scores)}\t{' '.join(tokens)}")
    path.write_text("\n".join(lines) + "\n")


def test_rationales_find_the_annotated_look_span(tmp_path):
    rng = random.Random(5)
    write_reviews(tmp_path / "train.txt", 600, rng)
    params = Params(
        {
            "dataset_reader": {"type": "beer_advocate", "aspect": 0},
            "train_data_path": str(tmp_path / "train.txt"),
            "random_seed": 2,
            "numpy_seed": 2,
            "pytorch_seed": 2,
            "model": word_gate_model(task="regression", num_targets=1),
            "data_loader": {"batch_size": 20, "shuffle": True},
            "trainer": {
                "optimizer": {"type": "adam", "lr": 0.01},
                "num_epochs": 8,
                "callbacks": [
                    {
                        "type": "lagrangian",
                        "selection": 0.06,
                        "rule": {"type": "dual_ascent", "lr": 0.005, "damping": 5.0},
                    }
                ],
            },
        }
    )
    model = train_model(params, tmp_path / "run")

    reader = DatasetReader.from_params(Params({"type": "beer_advocate", "aspect": 0}))
    instances = list(reader.read(str(FIXTURES_ROOT / "beer" / "annotations.json")))
    batch = Batch(instances)
    batch.index_instances(model.vocab)
    model.eval()
    model.get_metrics(reset=True)
    model(**batch.as_tensor_dict())
    metrics = model.get_metrics(reset=True)
    gold = batch.as_tensor_dict()["gold_rationale"]
    annotated_share = float((gold > 0).sum() / (gold >= 0).sum())
    assert metrics["rationale_num_reviews"] >= 15
    assert metrics["selected"] < 0.15, metrics
    assert metrics["rationale_precision"] > max(0.6, 5 * annotated_share), (
        metrics,
        annotated_share,
    )
    assert metrics["mse"] < 0.05, metrics

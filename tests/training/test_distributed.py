"""Two CPU workers (gloo): the multipliers stay identical and the logged rates are the mean."""

import json

import pytest
from allennlp.commands.train import train_model_from_file

from tests import FIXTURES_ROOT


@pytest.mark.distributed
def test_two_workers_hold_identical_multipliers_and_log_the_worker_mean(tmp_path):
    overrides = {
        "distributed": {"cuda_devices": [-1, -1]},
        "trainer.num_epochs": 2,
        "trainer.callbacks": [
            {"type": "lagrangian", "selection": 0.3, "rule": {"type": "dual_ascent", "lr": 0.1}},
            {"type": "lagrangian_probe"},
        ],
    }
    train_model_from_file(
        FIXTURES_ROOT / "configs" / "sst_hardkuma.jsonnet",
        tmp_path,
        overrides=json.dumps(overrides),
        include_package=["tests.training.distributed_probe"],
    )
    ranks = [
        [json.loads(line) for line in (tmp_path / f"probe_rank{r}.jsonl").read_text().splitlines()]
        for r in (0, 1)
    ]
    assert len(ranks[0]) == len(ranks[1]) >= 4  # 2 epochs of at least 2 batches per worker
    for first, second in zip(*ranks):
        assert (first["epoch"], first["batch"]) == (second["epoch"], second["batch"])
        assert first["multipliers"] == second["multipliers"]
        # The two workers see different data, so their own rates differ ...
        # ... and the logged rate is the mean over both workers' forward passes.
        total = first["rate_sum"] + second["rate_sum"]
        count = first["rate_count"] + second["rate_count"]
        assert first["logged_rate"] == pytest.approx(total / count)
        assert second["logged_rate"] == pytest.approx(total / count)
    assert any(a["rate_sum"] != b["rate_sum"] for a, b in zip(*ranks))
    assert ranks[0][-1]["multipliers"]["selection"] != 0.0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert (
        metrics["training_lagrangian_selection_lambda"] == ranks[0][-1]["multipliers"]["selection"]
    )

"""
A scaled-down, real-length probe of the Beer constraint (issue 10: the gates must not settle in
the all-zero regime): `training_config/beer_hardkuma.jsonnet` with its optimizer and constraint
unchanged, on synthetic reviews of real length (100-300 tokens; 320 training and 64 dev reviews
from `scripts/make_synthetic_beer.py --seed 2 --correlated`, the data of issue 10), with smaller
hidden sizes (16, state 8), so that a run of 10 epochs takes about two minutes on one CPU core.
Its batches of 9 reviews make 36 steps an epoch, as many as a real run of aspect 0 takes (9,000
reviews in batches of 256): the multipliers move by dual ascent after every step, so the
constraint's dynamics per epoch depend on the steps an epoch, not on the reviews. It prints, per
epoch, the decoded dev selection, the expected training rate, the multiplier and the dev MSE, and
exits non-zero when `collapse_problems` finds a problem: an epoch after the first `SETTLE_FROM`
decodes less than 1 % of the tokens (the all-zero regime), or the last three epochs do not all
decode within `target +- 0.05`.

With the config's constraint (dual ascent on a target annealed over the first 5 epochs) the gates
decode everything at first, close while the target narrows, and a negative multiplier pulls the
rate back up where it falls below the target. `tests/benchmarks/test_beer_collapse.py` checks
that no epoch after the anneal is in the all-zero regime and that the last epochs settle near the
target. The probe passes with the rule's default damping of 10 too: it does not reproduce the
failure of that damping on real reviews at AllenNLP's default seeds (docs/results/beer_real.md),
which only the real files show.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnostics.beer_collapse \
        [-o '{"trainer.callbacks.0.transition": null}']
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

from allennlp.commands.train import train_model
from allennlp.common import Params

import hardkuma_allennlp  # noqa: F401
from benchmarks.results_store import ROOT

EPOCHS = 10
SETTLE_FROM = 5
TARGET = 0.13  # aspect 0
# A decoded selection below this is the all-zero regime; the last epochs must be this close to
# the target.
COLLAPSED = 0.01
BAND = 0.05


def make_data(data: Path) -> None:
    """320 training and 64 dev reviews of real length (`scripts/make_synthetic_beer.py`)."""
    sizes = ["--train", "320", "--heldout", "64", "--annotated", "8", "--dim", "16"]
    script = ROOT / "scripts" / "make_synthetic_beer.py"
    command = [sys.executable, str(script), "--output", str(data), "--seed", "2", "--correlated"]
    subprocess.run(command + sizes, check=True, capture_output=True)


def params_for(data: Path, extra: dict) -> Params:
    os.environ.update(
        BEER_DATA_DIR=str(data),
        BEER_EMBEDDINGS=str(data / "review+wiki.filtered.16.txt.gz"),
        BEER_EMBEDDING_DIM="16",
        BEER_ASPECT="0",
        CUDA_DEVICE="-1",
        USE_AMP="false",
    )
    overrides = {
        "random_seed": 1,
        "numpy_seed": 1,
        "pytorch_seed": 1,
        "model.encoder.gate.encoder.hidden_size": 16,
        "model.encoder.gate.hidden_size": 8,
        "model.encoder.encoder.encoder.hidden_size": 16,
        "data_loader.batch_size": 9,
        "trainer.num_epochs": EPOCHS,
        "trainer.patience": None,
        "evaluate_on_test": False,
        **extra,
    }
    config = ROOT / "training_config" / "beer_hardkuma.jsonnet"
    return Params.from_file(str(config), json.dumps(overrides))


def collapse_problems(
    selections: List[float], target: float, anneal_epochs: int, settle_epochs: int = 3
) -> List[str]:
    """
    What is wrong with a run whose decoded dev selection per epoch is `selections`: an epoch
    after the annealing in the all-zero regime (below `COLLAPSED`), or a selection that does not
    settle near the target (one of the last `settle_epochs` epochs off by more than `BAND`).
    An empty list means the run did not collapse.
    """
    problems = []
    after = selections[anneal_epochs:]
    collapsed = [anneal_epochs + i + 1 for i, s in enumerate(after) if s < COLLAPSED]
    if collapsed:
        problems.append(f"epochs {collapsed} decode less than {COLLAPSED:.0%} of the tokens")
    last = selections[-settle_epochs:]
    if any(abs(s - target) > BAND for s in last):
        problems.append(
            f"the last {settle_epochs} epochs decode {[round(s, 3) for s in last]}, "
            f"not within {target} +- {BAND}"
        )
    return problems


def probe(overrides: Optional[dict] = None) -> List[Dict[str, float]]:
    """Trains the scaled-down config; the dev selection, training rate, multiplier and dev MSE of
    every epoch."""
    logging.disable(logging.INFO)
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "data"
        make_data(data)
        params = params_for(data, overrides or {})
        epochs = params["trainer"]["num_epochs"]
        train_model(params, Path(directory) / "run")
        for epoch in range(epochs):
            path = Path(directory) / "run" / f"metrics_epoch_{epoch}.json"
            metrics = json.loads(path.read_text())
            rows.append(
                {
                    "selected": metrics["validation_selected"],
                    "rate": metrics["training_lagrangian_selection_rate"],
                    "multiplier": metrics["training_lagrangian_selection_lambda"],
                    "mse": metrics["validation_mse"],
                }
            )
    return rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-o", "--overrides", default="{}", help="extra config overrides (JSON)")
    args = parser.parse_args(argv)
    rows = probe(json.loads(args.overrides))
    print("| epoch | dev selected (decoded) | training rate (expected) | lambda | dev MSE |")
    print("|---|---|---|---|---|")
    for epoch, row in enumerate(rows, start=1):
        print(
            f"| {epoch} | {row['selected']:.3f} | {row['rate']:.3f} | {row['multiplier']:.3f} "
            f"| {row['mse']:.4f} |"
        )
    problems = collapse_problems([row["selected"] for row in rows], TARGET, SETTLE_FROM)
    print(f"target {TARGET}: " + ("; ".join(problems) if problems else "no collapse"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

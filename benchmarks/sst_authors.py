"""
The paper authors' own SST code, trained on our data and kept like our runs (issue 9): what their
HardKuma model reaches, epoch by epoch, next to ours.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.sst_authors [--epochs 25] [--selection 0.3] [--runs 1]
    .venv/bin/python -m benchmarks.sst_authors --summarize-only

Each run is `latent_rationale.sst.train --model latent --selection S` (their defaults are the
paper's settings: Adam 2e-4, batch 25, hidden 150, dev evaluation after every epoch, the best
checkpoint after epoch 3 on their dev objective) from `../shared/anchors/interpretable_predictions`
(or `$ANCHORS_DIR`), one thread, on `$SST_TRAIN`'s directory and `$SST_EMBEDDINGS` (50d,
lowercased). Their code sets no random seed, so runs are numbered, not seeded. Kept in
`results/sst_authors/<run>/`: `results.json` (theirs: config, best iteration, dev and test
metrics of the best checkpoint), `epochs.json` (the dev metrics printed after each epoch) and
`train_output.txt`. The table (the `sst-authors` section of `docs/results/sst_authors.md`;
epochs counted from 1) comes from those files.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Dict, List

from benchmarks.results_store import ANCHORS, RESULTS, ROOT, authors_sst_command, write_section

KEPT = RESULTS / "sst_authors"
DEV_LINE = re.compile(r"^# epoch (\d+) iter (\d+): dev (.*)$")


def parse_epochs(log: str) -> List[Dict[str, float]]:
    """The dev metrics their script prints after each epoch ("# epoch E iter I: dev k v k v")."""
    epochs = []
    for line in log.splitlines():
        match = DEV_LINE.match(line.strip())
        if match:
            fields = match.group(3).split()
            metrics = {k: float(v) for k, v in zip(fields[::2], fields[1::2])}
            epochs.append({"epoch": int(match.group(1)), "iter": int(match.group(2)), **metrics})
    return epochs


def train(name: str, epochs: int, selection: float) -> None:
    kept = KEPT / name
    if (kept / "results.json").exists():
        print(f"{name}: kept")
        return
    with tempfile.TemporaryDirectory() as directory:
        command = authors_sst_command(selection, epochs, directory)
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        result = subprocess.run(
            command, cwd=ANCHORS, env=env, capture_output=True, text=True, check=False
        )
        kept.mkdir(parents=True, exist_ok=True)
        (kept / "train_output.txt").write_text(result.stdout[-200_000:] + result.stderr[-20_000:])
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed:\n{result.stderr[-3000:]}")
        (kept / "epochs.json").write_text(json.dumps(parse_epochs(result.stdout), indent=2))
        shutil.copy(Path(directory) / "results.json", kept / "results.json")
    print(f"{name}: done")


def table() -> str:
    rows = [
        "| run | selection target | best epoch | dev acc. / sel. (%) | test acc. / sel. (%) "
        "| dev acc. / sel. (%) after each epoch |",
        "|---|---|---|---|---|---|",
    ]
    for directory in sorted(KEPT.glob("*")):
        if not (directory / "results.json").exists():
            continue
        result = json.loads((directory / "results.json").read_text())
        epochs = json.loads((directory / "epochs.json").read_text())
        # Their selected share is the share of tokens whose z is not 0: 1 - p0. Their iteration
        # counter at the end of epoch e (from 1) is e times the first epoch's.
        per_epoch = ", ".join(f"{100 * e['acc']:.1f} / {100 * (1 - e['p0']):.0f}" for e in epochs)
        best_epoch = result["best_iter"] // max(1, epochs[0]["iter"]) if epochs else "-"
        rows.append(
            f"| {directory.name} | {result.get('selection', '-')} | {best_epoch} "
            f"| {100 * result['dev_acc']:.1f} / {100 * (1 - result['dev_p0']):.1f} "
            f"| {100 * result['test_acc']:.1f} / {100 * (1 - result['test_p0']):.1f} "
            f"| {per_epoch} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--selection", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=1, help="how many numbered runs to have")
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args()
    if not args.summarize_only:
        for run in range(1, args.runs + 1):
            train(f"latent_t{args.selection}_e{args.epochs}_run{run}", args.epochs, args.selection)
    print(write_docs())


def write_docs(root: Path = ROOT) -> str:
    text = table()
    write_section("sst_authors", "sst-authors", text, root)
    return text


if __name__ == "__main__":
    main()

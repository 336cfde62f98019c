"""
SST HardKuma training speed against the paper authors' code (issue 9): whole training processes,
as a user runs them, on the same data and machine, one thread each.

    source scripts/local_data.sh
    .venv/bin/python benchmarks/sst_speed.py [--epochs 3] [--repeats 2]

Each repeat runs, one after the other and each in a fresh process, (1) `allennlp train
training_config/sst_hardkuma.jsonnet` for `--epochs` epochs (dev evaluation after every epoch,
test at the end: the config unchanged but for the number of epochs) and (2) the authors'
`latent_rationale.sst.train --model latent --selection 0.3` for as many epochs (dev evaluation
after every epoch, test at the end; their defaults are the paper's settings), from
`../shared/anchors/interpretable_predictions` (or `$ANCHORS_DIR`). The order alternates between
repeats. It reports the wall-clock seconds of each process and the ratio of the medians
(authors / ours: above 1 means ours is faster), writes `docs/sst_speed.md` and replaces the
README's `sst-speed` section.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_store import (  # noqa: E402
    ALLENNLP,
    ANCHORS,
    ROOT,
    authors_sst_command,
    replace_section,
)


def timed(command, cwd) -> float:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return seconds


def ours(epochs: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        overrides = json.dumps({"trainer.num_epochs": epochs})
        config = str(ROOT / "training_config" / "sst_hardkuma.jsonnet")
        return timed([ALLENNLP, "train", config, "-s", directory + "/run", "-o", overrides], ROOT)


def theirs(epochs: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        return timed(authors_sst_command(0.3, epochs, directory), ANCHORS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if "SST_TRAIN" not in os.environ:
        parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
    times = {"ours": [], "theirs": []}
    for repeat in range(args.repeats):
        order = [("ours", ours), ("theirs", theirs)]
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            times[name].append(run(args.epochs))
            print(f"{name}: {times[name][-1]:.1f} s", flush=True)
    ratio = statistics.median(times["theirs"]) / statistics.median(times["ours"])
    text = "\n".join(
        [
            f"| SST HardKuma, {args.epochs} epochs, whole process | seconds (each repeat) |",
            "|---|---|",
            f"| ours (`sst_hardkuma.jsonnet`) | {', '.join(f'{t:.0f}' for t in times['ours'])} |",
            f"| the authors' code | {', '.join(f'{t:.0f}' for t in times['theirs'])} |",
            "",
            f"**Speed-up: {ratio:.2f}x** (ratio of the medians, authors / ours), "
            f"{platform.machine()} CPU, one thread per process, "
            f"{args.repeats} alternating repeats, `benchmarks/sst_speed.py --epochs {args.epochs} "
            f"--repeats {args.repeats}`.",
        ]
    )
    (ROOT / "docs" / "sst_speed.md").write_text(text + "\n")
    replace_section(ROOT / "README.md", "sst-speed", text)
    print(text)


if __name__ == "__main__":
    main()

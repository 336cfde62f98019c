"""
SST HardKuma training speed against the paper authors' code (issue 9): whole training processes,
as a user runs them, on the same data and machine, one thread each.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.sst_speed [--epochs 4] [--repeats 2]
    .venv/bin/python -m benchmarks.sst_speed --summarize-only   # the table from the kept record

Each repeat runs, one after the other and each in a fresh process, (1) `allennlp train
training_config/sst_hardkuma.jsonnet` for `--epochs` epochs (dev evaluation after every epoch,
test at the end: the config unchanged but for the number of epochs) and (2) the authors'
`latent_rationale.sst.train --model latent --selection 0.3` for as many epochs (dev evaluation
after every epoch, test at the end; their defaults are the paper's settings), from
`../shared/anchors/interpretable_predictions` (or `$ANCHORS_DIR`). The order alternates between
repeats.

Two measures, both as ratios of medians (authors / ours: above 1 means ours is faster):

- **epoch**: the time between the ends of consecutive epochs (each side's end-of-epoch line,
  after its dev evaluation, timestamped here as it arrives), epochs 2 to `--epochs`; the first
  epoch is skipped because its start is not marked the same way on both sides. This is the
  training speed the issue asks about.
- **whole process**: start to exit, so it also counts what an epoch does not: imports (AllenNLP
  imports transformers and torchvision, several seconds the authors' script does not pay), data
  reading, the test evaluation and the model archive.

The measurement is kept in `results/sst_speed/speed.json`; the table (the `sst-speed` section of
`docs/results/sst_authors.md`) is rendered from it.
"""

import argparse
import collections
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from benchmarks.results_store import (
    ALLENNLP,
    ANCHORS,
    RESULTS,
    ROOT,
    authors_sst_command,
    write_section,
    write_text,
)

RECORD = RESULTS / "sst_speed" / "speed.json"

# The line each side prints once an epoch (with its dev evaluation) is done.
OURS_EPOCH_END = re.compile(r"gradient_descent_trainer - Epoch duration")
THEIRS_EPOCH_END = re.compile(r"^# epoch \d+ iter \d+: dev")


def timed(command: List[str], cwd: Path, epoch_end: re.Pattern) -> Tuple[float, List[float]]:
    """Runs `command` to its end; returns its wall-clock seconds and the seconds between the ends
    of consecutive epochs (from the arrival times of the lines that match `epoch_end`)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    ends, tail = [], collections.deque(maxlen=40)
    for line in process.stdout:  # universal newlines: progress bars' "\r" also end a line
        if epoch_end.search(line):
            ends.append(time.perf_counter())
        tail.append(line)
    seconds = time.perf_counter() - start
    if process.wait() != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{''.join(tail)}")
    return seconds, [later - earlier for earlier, later in zip(ends, ends[1:])]


def ours(epochs: int) -> Tuple[float, List[float]]:
    with tempfile.TemporaryDirectory() as directory:
        overrides = json.dumps({"trainer.num_epochs": epochs})
        config = str(ROOT / "training_config" / "sst_hardkuma.jsonnet")
        command = [ALLENNLP, "train", config, "-s", directory + "/run", "-o", overrides]
        return timed(command, ROOT, OURS_EPOCH_END)


def theirs(epochs: int) -> Tuple[float, List[float]]:
    with tempfile.TemporaryDirectory() as directory:
        return timed(authors_sst_command(0.3, epochs, directory), ANCHORS, THEIRS_EPOCH_END)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--summarize-only", action="store_true", help="render the kept record")
    args = parser.parse_args()
    if args.summarize_only:
        print(write_docs())
        return
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first epoch is not timed)")
    if "SST_TRAIN" not in os.environ:
        parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
    processes = {"ours": [], "theirs": []}
    epochs = {"ours": [], "theirs": []}
    for repeat in range(args.repeats):
        order = [("ours", ours), ("theirs", theirs)]
        for name, run in order if repeat % 2 == 0 else order[::-1]:
            seconds, epoch_seconds = run(args.epochs)
            if len(epoch_seconds) != args.epochs - 1:
                raise RuntimeError(f"{name}: found {len(epoch_seconds) + 1} epoch ends")
            processes[name].append(seconds)
            epochs[name].extend(epoch_seconds)
            print(f"{name}: {seconds:.1f} s, epochs {epoch_seconds}", flush=True)
    record = {
        "command": f"benchmarks.sst_speed --epochs {args.epochs} --repeats {args.repeats}",
        "machine": f"{platform.machine()} CPU, one thread per process",
        "epochs": args.epochs,
        "repeats": args.repeats,
        "epoch_seconds": epochs,
        "process_seconds": processes,
    }
    write_text(RECORD, json.dumps(record, indent=2) + "\n")
    print(write_docs())


def render(record: Dict) -> str:
    """The table of a kept measurement (`results/sst_speed/speed.json`)."""
    epochs, processes = record["epoch_seconds"], record["process_seconds"]

    def ratio(times):
        return statistics.median(times["theirs"]) / statistics.median(times["ours"])

    def listed(times):
        return ", ".join(f"{t:.1f}" for t in times)

    return "\n".join(
        [
            f"| SST HardKuma | seconds per epoch (epochs 2-{record['epochs']} of each repeat) "
            f"| whole process, {record['epochs']} epochs (each repeat) |",
            "|---|---|---|",
            f"| ours (`sst_hardkuma.jsonnet`) | {listed(epochs['ours'])} "
            f"| {listed(processes['ours'])} |",
            f"| the authors' code | {listed(epochs['theirs'])} | {listed(processes['theirs'])} |",
            f"| **speed-up** (authors / ours, medians) | **{ratio(epochs):.2f}x** "
            f"| {ratio(processes):.2f}x |",
            "",
            f"{record['machine']}, {record['repeats']} alternating repeats, "
            f"`python -m {record['command']}`.",
        ]
    )


def write_docs(root: Path = ROOT) -> str:
    if RECORD.exists():
        text = render(json.loads(RECORD.read_text()))
    else:
        text = (
            "Not measured with the current code: `results/sst_speed/speed.json` is missing "
            "(`python -m benchmarks.sst_speed` measures it, about 10 minutes)."
        )
    write_section("sst_authors", "sst-speed", text, root)
    return text


if __name__ == "__main__":
    main()

"""
HardKuma over a pretrained transformer on SST (issue 27), side by side: the full-text fine-tuned
transformer (`sst_transformer.jsonnet`), HardKuma rationales over the frozen transformer at a 0.3
target (`sst_hardkuma_transformer.jsonnet`) and our GloVe HardKuma model (`sst_hardkuma.jsonnet`,
kept results). For each: test accuracy, the share of words selected, ERASER comprehensiveness and
sufficiency at the model's own rationale (and AOPC), the same two for a random rationale of the
same size, and the CPU time it took.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.sst_transformer                  # train what is missing
    .venv/bin/python -m benchmarks.sst_transformer --summarize-only # the table from results/

The transformer runs are the configs as shipped (their own epochs and seeds, no overrides),
trained one at a time with one thread (`allennlp train`, serialization directories and logs under
`runs/sst_transformer/`). Kept per run under `results/sst_transformer/<run>/`: `metrics.json`
and `config.json` of the training, `faithfulness.json` (`allennlp rationales` on the test set),
`random_rationale.json` (the baseline below) and `cpu_time.json` (user + system seconds of the
training process and of the evaluations). A run with kept results is not run again. The table of
`docs/results/sst_transformer.md` (its `sst-transformer` section) is made from the kept files
alone (`write_docs`, also run by `python -m benchmarks.render`).

The GloVe HardKuma row reuses the kept results of `benchmarks/sst_sweep.py`
(`results/sst/hardkuma_t0.3_s1`) and `benchmarks/sst_faithfulness.py`
(`results/sst_faithfulness/hardkuma_t0.3_s1`); it is not retrained. Its random baseline needs its
archive (`runs/sst/hardkuma_t0.3_s1/model.tar.gz`), which `runs/` does not keep: with
`--glove-random` the archive is trained first where it is missing (the sweep's command, about 9
minutes), and the baseline is kept in `results/sst_transformer/glove_hardkuma_t0.3_s1/`.

Random rationale of the same size: for each test sentence, as many words as the model's own
rationale keeps (for the full-text model, which has none, 30 % of the words, rounded, at least
one), drawn uniformly at random (seeded); comprehensiveness and sufficiency as ERASER's, with the
model's prediction on the whole sentence. A selector that stopped tracking the label would score
about as the random rationale does.
"""

import argparse
import json
import os
import random
import resource
import time
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.results_store import (
    RESULTS,
    ROOT,
    ensure_archive,
    rationales,
    train,
    write_section,
    write_text,
)
from benchmarks.sst_sweep import hardkuma_spec

BENCHMARK = "sst_transformer"
TARGET = 0.3
# (run, label, config): the configs as shipped.
RUNS = [
    (
        "hardkuma_transformer_t0.3",
        "HardKuma over all-MiniLM-L6-v2 (frozen), target 0.3",
        "sst_hardkuma_transformer.jsonnet",
    ),
    ("transformer_full", "all-MiniLM-L6-v2, full text, fine-tuned", "sst_transformer.jsonnet"),
]
# The README's headline row: the gated model against the full-text one (labels of `RUNS`).
HEADLINE = (RUNS[0][1], RUNS[1][1])
GLOVE = hardkuma_spec(TARGET, 1, 25)  # the sweep's run, as benchmarks/sst_faithfulness.py
GLOVE_LABEL = "HardKuma over GloVe 6B 50d, target 0.3 (kept results)"
GLOVE_RANDOM = f"glove_{GLOVE['name']}"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_json(path: Path, data: Dict) -> None:
    write_text(path, json.dumps(data, indent=2) + "\n")


def random_rationale_baseline(archive: Path, data: str, seed: int = 1) -> Dict:
    """Comprehensiveness and sufficiency of a random rationale of the model's own rationale's
    size (30 % of the words for a model without gates) on every instance of `data`."""
    import torch
    from allennlp.models.archival import load_archive

    from hardkuma_allennlp.interpret import faithfulness
    from hardkuma_allennlp.interpret.rationale_evaluator import RationaleEvaluator

    torch.set_num_threads(1)
    loaded = load_archive(str(archive), cuda_device=-1)
    reader = loaded.validation_dataset_reader
    evaluator = RationaleEvaluator(loaded.model, batch_size=32)
    generator = random.Random(seed)
    comprehensiveness: List[float] = []
    sufficiency: List[float] = []
    selected = words = 0
    instances = list(reader.read(data))
    for instance in instances:
        reader.apply_token_indexers(instance)
    for start in range(0, len(instances), evaluator.batch_size):
        batch = instances[start : start + evaluator.batch_size]
        output = evaluator._forward(batch)
        probabilities = evaluator._outcome(output)
        reduced = []
        for row, instance in enumerate(batch):
            length = len(instance["tokens"].tokens)
            if "gate_scores" in output:  # a gated model (the full-text model's z is all 1)
                count = int((output["z"][row, :length] != 0).sum())
            else:
                count = faithfulness.top_k_count(TARGET, length)
            chosen = set(generator.sample(range(length), count))
            keep = [i in chosen for i in range(length)]
            reduced.append(evaluator.reduce(instance, {"tokens": [not k for k in keep]}))
            reduced.append(evaluator.reduce(instance, {"tokens": keep}))
            selected, words = selected + count, words + length
        reduced_probabilities = evaluator._outcome(evaluator._forward(reduced))
        for row in range(len(batch)):
            predicted = int(probabilities[row].argmax())
            full = float(probabilities[row, predicted])
            without = float(reduced_probabilities[2 * row, predicted])
            only = float(reduced_probabilities[2 * row + 1, predicted])
            comprehensiveness.append(faithfulness.change(full, without, False))
            sufficiency.append(faithfulness.change(full, only, False))
    return {
        "inputs": len(instances),
        "seed": seed,
        "selected": selected / words,
        "comprehensiveness": faithfulness.mean(comprehensiveness),
        "sufficiency": faithfulness.mean(sufficiency),
    }


def evaluate_run(directory: Path, kept: Path, html: Optional[Path] = None) -> Dict[str, float]:
    """`allennlp rationales` and the random baseline of a trained run; their CPU seconds."""
    archive = directory / "model.tar.gz"
    before = children_cpu_seconds()
    rationales(archive, os.environ["SST_TEST"], kept / "faithfulness.json", html, html_inputs=60)
    rationales_cpu = children_cpu_seconds() - before
    before = own_cpu_seconds()
    write_json(
        kept / "random_rationale.json", random_rationale_baseline(archive, os.environ["SST_TEST"])
    )
    return {"rationales_cpu_s": rationales_cpu, "random_baseline_cpu_s": own_cpu_seconds() - before}


def run_transformers(runs: Path) -> None:
    for name, _, config in RUNS:
        timing: Dict[str, float] = {}

        def after(directory: Path, kept: Path) -> None:
            timing["train_cpu_s"] = children_cpu_seconds() - timing.pop("start_cpu")
            timing["train_wall_s"] = time.perf_counter() - timing.pop("start_wall")
            timing.update(evaluate_run(directory, kept, runs / f"{name}.html"))
            write_json(kept / "cpu_time.json", timing)

        timing.update(start_cpu=children_cpu_seconds(), start_wall=time.perf_counter())
        status = train(BENCHMARK, name, ROOT / "training_config" / config, {}, runs, after=after)
        print(f"{name}: {status}", flush=True)


def glove_random(runs: Path) -> None:
    kept = RESULTS / BENCHMARK / GLOVE_RANDOM / "random_rationale.json"
    if kept.exists():
        return
    config = ROOT / "training_config" / GLOVE["config"]
    archive = ensure_archive(config, runs.parent / "sst" / GLOVE["name"], GLOVE["overrides"])
    before = own_cpu_seconds()
    baseline = random_rationale_baseline(archive, os.environ["SST_TEST"])
    baseline["cpu_s"] = own_cpu_seconds() - before
    write_json(kept, baseline)


def read(path: Path) -> Optional[Dict]:
    return json.loads(path.read_text()) if path.exists() else None


def minutes(seconds: Optional[float]) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def rows() -> List[Dict]:
    """One dict per model, from the kept files alone."""
    table = []
    for name, label, _ in RUNS:
        directory = RESULTS / BENCHMARK / name
        metrics, config = read(directory / "metrics.json"), read(directory / "config.json")
        cpu = read(directory / "cpu_time.json") or {}
        table.append(
            {
                "label": label,
                "metrics": metrics,
                "faithfulness": read(directory / "faithfulness.json"),
                "random": read(directory / "random_rationale.json"),
                "epochs": config["trainer"]["num_epochs"] if config else None,
                "train_cpu_s": cpu.get("train_cpu_s"),
                "eval_cpu_s": (
                    cpu["rationales_cpu_s"] + cpu["random_baseline_cpu_s"] if cpu else None
                ),
            }
        )
    metrics = read(RESULTS / "sst" / GLOVE["name"] / "metrics.json")
    config = read(RESULTS / "sst" / GLOVE["name"] / "config.json")
    duration = None
    if metrics is not None:
        hours, mins, secs = metrics["training_duration"].split(":")
        duration = 3600 * int(hours) + 60 * int(mins) + float(secs)
    table.append(
        {
            "label": GLOVE_LABEL,
            "metrics": metrics,
            "faithfulness": read(RESULTS / "sst_faithfulness" / GLOVE["name"] / "metrics.json"),
            "random": read(RESULTS / BENCHMARK / GLOVE_RANDOM / "random_rationale.json"),
            "epochs": config["trainer"]["num_epochs"] if config else None,
            # Only the training's wall time was kept (one thread, so about its CPU time).
            "train_cpu_s": duration,
            "train_wall_only": True,
            "eval_cpu_s": None,
        }
    )
    return table


def number(data: Optional[Dict], key: str, scale: float = 1.0, digits: int = 3) -> str:
    if data is None or key not in data:
        return "-"
    return f"{scale * data[key]:.{digits}f}"


def markdown() -> str:
    lines = [
        "| model | epochs | test acc. (%) | selected (%) | comprehensiveness | sufficiency "
        "| random rationale, same size: comprehensiveness / sufficiency "
        "| AOPC comprehensiveness / sufficiency | training CPU (min) | evaluation CPU (min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows():
        metrics, faith, rand = row["metrics"], row["faithfulness"], row["random"]
        if metrics is None:
            lines.append(f"| {row['label']} | not run | - | - | - | - | - | - | - | - |")
            continue
        gated = faith is not None and "selected" in faith
        selected = number(faith, "selected", 100, 1) if gated else "100 (no gates)"
        if rand is None:
            random_cell = "not measured (no archive)"
        else:
            random_cell = f"{number(rand, 'comprehensiveness')} / {number(rand, 'sufficiency')}"
            if not gated:
                random_cell += f" (at {100 * rand['selected']:.0f} %)"
        train_cpu = minutes(row["train_cpu_s"]) + (" (wall)" if row.get("train_wall_only") else "")
        lines.append(
            f"| {row['label']} | {row['epochs']} | {number(metrics, 'test_accuracy', 100, 1)} "
            f"| {selected} | {number(faith, 'comprehensiveness')} | {number(faith, 'sufficiency')} "
            f"| {random_cell} "
            f"| {number(faith, 'aopc_comprehensiveness')} / {number(faith, 'aopc_sufficiency')} "
            f"| {train_cpu} | {minutes(row['eval_cpu_s'])} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(root: Path = ROOT) -> str:
    """The `sst-transformer` section of `docs/results/sst_transformer.md` under `root`."""
    table = markdown()
    write_section(BENCHMARK, "sst-transformer", table, root)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / BENCHMARK)
    parser.add_argument(
        "--glove-random",
        action="store_true",
        help="also measure the GloVe model's random baseline (trains its archive where missing)",
    )
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args()
    if not args.summarize_only:
        if "SST_TEST" not in os.environ:
            parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
        args.runs.mkdir(parents=True, exist_ok=True)
        run_transformers(args.runs)
        if args.glove_random:
            glove_random(args.runs)
    print(write_docs())


if __name__ == "__main__":
    main()

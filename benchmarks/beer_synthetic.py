"""
The BeerAdvocate experiment (Bastings et al., 2019, table 1) on SYNTHETIC reviews: rationale
precision and selection on the annotated set, and MSE, for HardKuma (dependent gates), the
Bernoulli (REINFORCE) baseline and the full-text RCNN, per aspect (0 look, 1 smell, 2 palate; the
paper's targets 13 / 7 / 7 %). The real BeerAdvocate data has no public source; the reviews come
from `scripts/make_synthetic_beer.py` (hand-written templates, no real review text), so these
numbers say how the models behave on a task of the same shape, not how they do on real reviews.

    .venv/bin/python -m benchmarks.beer_synthetic --epochs 6        # train what is missing
    .venv/bin/python -m benchmarks.beer_synthetic --summarize-only  # the table from results/
    .venv/bin/python -m benchmarks.beer_synthetic --models hardkuma --aspects 2 --epochs 50 \
        --extend   # continue a kept shorter run from its checkpoint in runs/ (same machine)
    .venv/bin/python -m benchmarks.beer_synthetic --models hardkuma --aspects 1 --epochs 20 \
        --variant NAME '{"model.encoder.gate.shape": {"min_shape": 1e-6}}'  # config overrides

The configs run as shipped: a run overrides only the number of epochs and the seeds (and
`--variant` runs, kept apart in `results/beer_synthetic_variants`, whatever they name; their
table is printed, not written to the docs).

Besides `metrics.json` and `config.json`, each run keeps `curve.json`: the dev MSE and decoded
selection of every epoch, from which `benchmarks.beer_learning_curve` draws our side of the
learning curves, and, where it was measured, `last_epoch_test.json`: the annotated reviews
under the last epoch's weights (`allennlp evaluate ... --weights-file model_state_e<last>_b0.th`).

The data is generated (seed 1, 9,000 + 1,000 reviews per aspect, 1,000 annotated reviews, 50-d
vectors) into `runs/beer_synthetic/data` unless `--data` names a directory that has it. Each
aspect's files are decorrelated subsets, as Lei et al.'s are; `--correlated` runs plain samples
instead into `runs/beer_synthetic_correlated` and keeps its results in
`results/beer_synthetic_correlated` (its HardKuma rows: the `beer-synthetic-correlated` section of
the page). Each run is `allennlp train` of a config in `training_config/` (one thread); its
`metrics.json` and `config.json` are kept in `results/beer_synthetic/<run>/` and runs with kept
results are not run again, so a sweep continues in a later session. The tables (the `beer-synthetic`
and `beer-last-epoch` sections of `docs/results/beer_synthetic.md`; epochs counted from 1) are made
from those files alone. Test metrics are on `annotations.json`: `test_rationale_precision` (share of
selected tokens inside the gold spans of the aspect), `test_selected` (share of tokens selected) and
`test_mse`.
"""

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

from benchmarks.results_store import RESULTS, ROOT, evaluate, load_results, train, write_section

BENCHMARK = "beer_synthetic"
# `--correlated`: plain samples per aspect instead of Lei et al.'s decorrelated subsets; its
# runs are kept apart.
CORRELATED = "beer_synthetic_correlated"
TARGETS = {0: 0.13, 1: 0.07, 2: 0.07}
ASPECTS = {0: "look", 1: "smell", 2: "palate"}
MODELS = {
    "hardkuma": ("HardKuma (dependent)", "beer_hardkuma.jsonnet"),
    "bernoulli": ("Bernoulli (REINFORCE)", "beer_bernoulli.jsonnet"),
    "rcnn": ("RCNN, full text", "beer_rcnn.jsonnet"),
}


def variants(benchmark: str) -> str:
    """Where the `--variant` runs of a benchmark are kept, apart from the protocol's table."""
    return benchmark + "_variants"


def ensure_data(directory: Path, correlated: bool) -> None:
    if (directory / "annotations.json").exists():
        return
    script = ROOT / "scripts" / "make_synthetic_beer.py"
    command = [sys.executable, str(script), "--output", str(directory), "--seed", "1"]
    subprocess.run(command + (["--correlated"] if correlated else []), check=True)


def run_name(model: str, aspect: int, seed: int, variant=None) -> str:
    return f"{model}_{variant[0]}_a{aspect}_s{seed}" if variant else f"{model}_a{aspect}_s{seed}"


def run(model: str, aspect: int, seed: int, args) -> str:
    overrides: Dict = {
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
        "trainer.num_epochs": args.epochs,
    }
    if args.variant:
        overrides.update(json.loads(args.variant[1]))
    env = {
        "BEER_DATA_DIR": str(args.data),
        "BEER_EMBEDDINGS": str(args.data / "review+wiki.filtered.50.txt.gz"),
        "BEER_EMBEDDING_DIM": "50",
        "BEER_ASPECT": str(aspect),
        "PYTHONHASHSEED": str(seed),
    }
    config = ROOT / "training_config" / MODELS[model][1]
    name = run_name(model, aspect, seed, args.variant)
    benchmark = variants(args.benchmark) if args.variant else args.benchmark

    def after(serialization_dir: Path, kept: Path) -> None:
        keep_curve(serialization_dir, kept)
        if args.variant:
            (kept / "variant.json").write_text(args.variant[1])

    return train(
        benchmark, name, config, overrides, args.runs, after=after, env=env, extend=args.extend
    )


def keep_curve(serialization_dir: Path, kept: Path) -> None:
    """The per-epoch metrics of a finished run, as `curve.json` next to its `metrics.json`."""
    curve = []
    epoch = 0
    while (serialization_dir / f"metrics_epoch_{epoch}.json").exists():
        metrics = json.loads((serialization_dir / f"metrics_epoch_{epoch}.json").read_text())
        curve.append(
            {
                "epoch": epoch + 1,
                "dev_mse": metrics["validation_mse"],
                "dev_selected": metrics["validation_selected"],
                "train_mse": metrics["training_mse"],
                "selection_multiplier": metrics.get("training_lagrangian_selection_lambda"),
            }
        )
        epoch += 1
    (kept / "curve.json").write_text(json.dumps({"curve": curve}, indent=2) + "\n")


def calibrate(name: str, aspect: int, args) -> None:
    """For a HardKuma run: the `threshold` decoder's threshold that makes the decoded selection
    on the held-out reviews (dev) hit the target, found by bisection (the dependent gates are
    decoded one by one, each conditioned on the decoded prefix, so a quantile of one decoding's
    scores would not give the share of another); then the annotated set under it. Kept in
    `calibrated_threshold.json` next to the run's metrics."""
    kept = RESULTS / args.benchmark / name
    archive = args.runs / name / "model.tar.gz"
    output = kept / "calibrated_threshold.json"
    if not (kept / "metrics.json").exists() or output.exists() or not archive.exists():
        return
    target = TARGETS[aspect]
    dev = str(args.data / f"reviews.aspect{aspect}.heldout.txt.gz")

    def decoding(threshold: float) -> Dict:
        return {"model.encoder.gate.decoding": {"type": "threshold", "threshold": threshold}}

    low, high, steps = 0.0, 1.0, []
    for _ in range(args.calibration_steps):
        middle = (low + high) / 2
        selected = evaluate(archive, dev, decoding(middle))["selected"]
        steps.append({"threshold": middle, "dev_selected": selected})
        # The decoded selection falls as the threshold rises.
        low, high = (middle, high) if selected > target else (low, middle)
    best = min(steps, key=lambda step: abs(step["dev_selected"] - target))
    test = evaluate(archive, str(args.data / "annotations.json"), decoding(best["threshold"]))
    result = {"threshold": best["threshold"], "dev_selected": best["dev_selected"], "test": test}
    output.write_text(json.dumps(dict(result, bisection=steps), indent=2))


def percent(metrics: Dict, key: str) -> str:
    return f"{100 * metrics[key]:.1f}" if key in metrics else "-"


def calibrated_cell(benchmark: str, name: str) -> str:
    path = RESULTS / benchmark / name / "calibrated_threshold.json"
    if not path.exists():
        return "-"
    result = json.loads(path.read_text())
    test = result["test"]
    return (
        f"{percent(test, 'rationale_precision')} / {percent(test, 'selected')} "
        f"(threshold {result['threshold']:.3f})"
    )


def markdown(benchmark: str, names: List[str]) -> str:
    kept = load_results(benchmark)
    lines = [
        "| aspect (target) | model | run | epochs | precision (%) | selected (%) | test MSE "
        "| dev MSE | calibrated threshold: precision / selected (%) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        model, aspect, _ = name.split("_")
        aspect_number = int(aspect[1:])
        head = (
            f"| {ASPECTS[aspect_number]} ({100 * TARGETS[aspect_number]:.0f} %) | "
            f"{MODELS[model][0]} | {name} |"
        )
        result = kept.get(name)
        if result is None:
            lines.append(head + " not run | - | - | - | - | - |")
            continue
        if "failed" in result:
            lines.append(head + " **failed** | - | - | - | - | - |")
            continue
        m = result["metrics"]
        epochs = f"{m['epoch'] + 1} (best {m['best_epoch'] + 1})"
        lines.append(
            head + f" {epochs} | {percent(m, 'test_rationale_precision')} | "
            f"{percent(m, 'test_selected')} | {m['test_mse']:.4f} | "
            f"{m['best_validation_mse']:.4f} | {calibrated_cell(benchmark, name)} |"
        )
    return "\n".join(lines) + "\n" + seed_summary(names, kept)


def seed_summary(names: List[str], kept: Dict) -> str:
    """Per aspect and model with two or more finished seeds: the mean and range of precision and
    selection over the seeds, and how many seeds meet issue 10's goal (precision >= 90 %, selection
    within 2 points of the target)."""
    groups: Dict = {}
    for name in names:
        result = kept.get(name)
        if result is not None and "failed" not in result:
            model, aspect, _ = name.split("_")
            groups.setdefault((int(aspect[1:]), model), []).append(result["metrics"])
    lines = []
    for (aspect, model), runs in groups.items():
        if len(runs) < 2:
            continue
        precision = [100 * m["test_rationale_precision"] for m in runs]
        selected = [100 * m["test_selected"] for m in runs]
        target = 100 * TARGETS[aspect]
        met = sum(p >= 90 and abs(s - target) <= 2 for p, s in zip(precision, selected))
        lines.append(
            f"| {ASPECTS[aspect]} ({target:.0f} %) | {MODELS[model][0]} | {len(runs)} | "
            f"{sum(precision) / len(runs):.1f} ({min(precision):.1f}-{max(precision):.1f}) | "
            f"{sum(selected) / len(runs):.1f} ({min(selected):.1f}-{max(selected):.1f}) | "
            f"{sum(m['test_mse'] for m in runs) / len(runs):.4f} | {met} of {len(runs)} |"
        )
    if not lines:
        return ""
    head = [
        "",
        "Over seeds (mean, and range in brackets):",
        "",
        "| aspect (target) | model | seeds | precision (%) | selected (%) | test MSE "
        "| seeds meeting the goal |",
        "|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + lines) + "\n"


def variants_table(benchmark: str) -> str:
    """The `--variant` runs: what each changes against the config of its time, and its results."""
    lines = [
        "| run | changes against the config | epochs | precision (%) | selected (%) | test MSE |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in sorted(load_results(variants(benchmark)).items()):
        changes = f"`{(RESULTS / variants(benchmark) / name / 'variant.json').read_text()}`"
        if "failed" in result:
            lines.append(f"| {name} | {changes} | failed ||||")
            continue
        m = result["metrics"]
        lines.append(
            f"| {name} | {changes} | {m['epoch'] + 1} (best {m['best_epoch'] + 1}) | "
            f"{percent(m, 'test_rationale_precision')} | {percent(m, 'test_selected')} | "
            f"{m['test_mse']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def last_epoch_table(benchmark: str = BENCHMARK) -> str:
    """The annotated reviews under the last epoch's weights (`last_epoch_test.json`), next to the
    best epoch's, for the runs where it was measured."""
    lines = [
        "| aspect (target) | run | best epoch: precision / selected (%) "
        "| last epoch: precision / selected (%) | last epoch: test MSE |",
        "|---|---|---|---|---|",
    ]
    for name, result in load_results(benchmark).items():
        if "last_epoch_test" not in result:
            continue
        m, last = result["metrics"], result["last_epoch_test"]
        aspect = int(name.split("_")[1][1:])
        lines.append(
            f"| {ASPECTS[aspect]} ({100 * TARGETS[aspect]:.0f} %) | {name} "
            f"| {percent(m, 'test_rationale_precision')} / {percent(m, 'test_selected')} "
            f"(epoch {m['best_epoch'] + 1}) "
            f"| {percent(last, 'rationale_precision')} / {percent(last, 'selected')} "
            f"(epoch {m['epoch'] + 1}) | {last['mse']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def protocol_names(benchmark: str, seeds: List[int]) -> List[str]:
    """The whole protocol (seed 1), whatever an invocation ran: what is missing shows as "not
    run"; and every other kept run (further seeds), next to its aspect and model."""
    kept = set(load_results(benchmark))
    return [
        run_name(m, a, s)
        for a in ASPECTS
        for m in MODELS
        for s in sorted({1, *seeds, *(int(n.rsplit("_s", 1)[1]) for n in kept)})
        if s == 1 or run_name(m, a, s) in kept
    ]


def write_docs(root: Path = ROOT) -> str:
    table = markdown(BENCHMARK, protocol_names(BENCHMARK, [1]))
    write_section("beer_synthetic", "beer-synthetic", table, root)
    write_section("beer_synthetic", "beer-last-epoch", last_epoch_table(), root)
    correlated = [name for name in protocol_names(CORRELATED, [1]) if name.startswith("hardkuma")]
    write_section(
        "beer_synthetic", "beer-synthetic-correlated", markdown(CORRELATED, correlated), root
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--aspects", type=int, nargs="+", choices=[0, 1, 2], default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument(
        "--correlated",
        action="store_true",
        help="the data before 2026-11-30 (plain samples per aspect, `make_synthetic_beer.py "
        f"--correlated`); runs in runs/{CORRELATED}, results in results/{CORRELATED}",
    )
    parser.add_argument("--runs", type=Path, help="default: runs/<benchmark>")
    parser.add_argument("--data", type=Path, help="default: runs/<benchmark>/data")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--calibration-steps", type=int, default=7, help="bisection steps of the threshold"
    )
    parser.add_argument(
        "--extend",
        action="store_true",
        help="continue kept runs trained for fewer than --epochs from their checkpoints in --runs",
    )
    parser.add_argument(
        "--variant",
        nargs=2,
        metavar=("NAME", "JSON"),
        help="train with these config overrides, kept in results/<benchmark>_variants",
    )
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args()
    args.benchmark = CORRELATED if args.correlated else BENCHMARK
    args.runs = args.runs or ROOT / "runs" / args.benchmark
    args.data = args.data or args.runs / "data"
    plan = [(m, a, s) for s in args.seeds for m in args.models for a in args.aspects]
    if not args.summarize_only:
        ensure_data(args.data, args.correlated)
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda spec: run(*spec, args), plan))
        for model, aspect, seed in plan:
            if model == "hardkuma" and not args.variant:
                calibrate(run_name(model, aspect, seed), aspect, args)
    if args.variant:
        print(variants_table(args.benchmark))
        return
    if args.correlated:
        print(markdown(args.benchmark, protocol_names(args.benchmark, args.seeds)))
    print(write_docs())
    from benchmarks.render import write_readme

    write_readme()


if __name__ == "__main__":
    main()

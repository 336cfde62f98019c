"""
SST results of the paper's figure 4 on our data: test accuracy against the share of selected
text, for HardKuma at several selection targets, the Bernoulli (REINFORCE) baseline and the
full-text BiLSTM baseline; plus the training speed of HardKuma relative to the baseline.

    source scripts/local_data.sh          # data and vectors from ../shared/data
    .venv/bin/python benchmarks/sst_sweep.py --epochs 10 --jobs 2

Each run is `allennlp train` in its own serialization directory under `--output`
(`runs/sst` by default), with one thread (`OMP_NUM_THREADS=1`), `--jobs` runs at a time. Runs
whose `metrics.json` exists are not run again; a run that stopped half-way continues with
`--recover`. Model selection is on dev accuracy (the configs' `validation_metric`), and the
reported numbers are the best model's test metrics (`evaluate_on_test`). The script writes
`results.md` (a markdown table), `results.json`, `sst_accuracy_vs_selected.png` and, with
`--speed`, `speed.md` into the output directory.

The default plan is the minimum protocol: full-text baseline (3 seeds), HardKuma at target 0.3
(3 seeds), Bernoulli at sparsity weights chosen to select about as much text (3 seeds at the
first weight, one seed at the others), HardKuma at targets 0.1, 0.2, 0.5, 0.7 (1 seed each).
Change `--seeds`, `--targets`, `--sparsities`, `--epochs` for the full protocol.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parent.parent
ALLENNLP = str(Path(sys.executable).parent / "allennlp")


LEARNING_RATE: Optional[float] = None  # --lr: the same learning rate for every model


def run_spec(name: str, config: str, seed: int, epochs: int, extra: Optional[Dict] = None) -> Dict:
    overrides = {
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
        "trainer.num_epochs": epochs,
    }
    if LEARNING_RATE is not None:
        overrides["trainer.optimizer.lr"] = LEARNING_RATE
    overrides.update(extra or {})
    return {"name": name, "config": config, "seed": seed, "overrides": overrides}


def plan(args) -> List[Dict]:
    """The runs, ordered so that each kind of model gets its first seed early."""
    first, rest = [], []
    for i, sparsity in enumerate(args.sparsities):
        gate = {
            "model.encoder.gate.sparsity": sparsity,
            "model.encoder.gate.coherence": 2 * sparsity,
        }
        for seed in args.seeds if i == 0 else args.seeds[:1]:
            spec = run_spec(
                f"bernoulli_l{sparsity}_s{seed}", "sst_bernoulli.jsonnet", seed, args.epochs, gate
            )
            (first if seed == args.seeds[0] else rest).append(spec)
    for seed in args.seeds:
        callbacks = {"trainer.callbacks.0.selection": args.main_target}
        name = f"hardkuma_t{args.main_target}_s{seed}"
        first.append(run_spec(name, "sst_hardkuma.jsonnet", seed, args.epochs, callbacks))
        first.append(run_spec(f"bilstm_s{seed}", "sst_bilstm.jsonnet", seed, args.epochs))
    for target in args.targets:
        if target == args.main_target:
            continue
        callbacks = {"trainer.callbacks.0.selection": target}
        name = f"hardkuma_t{target}_s{args.seeds[0]}"
        first.append(run_spec(name, "sst_hardkuma.jsonnet", args.seeds[0], args.epochs, callbacks))
    return first + rest


def train(spec: Dict, output: Path) -> Dict:
    directory = output / spec["name"]
    metrics_file = directory / "metrics.json"
    if not metrics_file.exists():
        command = [
            ALLENNLP,
            "train",
            str(ROOT / "training_config" / spec["config"]),
            "-s",
            str(directory),
        ]
        command += ["-o", json.dumps(spec["overrides"])]
        if (directory / "config.json").exists():
            command.append("--recover")
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        print(f"[{time.strftime('%H:%M:%S')}] start {spec['name']}", flush=True)
        with open(output / f"{spec['name']}.log", "a") as log:
            process = subprocess.run(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        status = "done" if process.returncode == 0 else f"FAILED ({process.returncode})"
        print(f"[{time.strftime('%H:%M:%S')}] {status} {spec['name']}", flush=True)
        if process.returncode != 0:
            return {**spec, "failed": True}
    metrics = json.loads(metrics_file.read_text())
    return {**spec, "metrics": metrics}


def family(name: str) -> str:
    return name.split("_")[0]


def summarize(results: List[Dict], output: Path) -> None:
    rows = [r for r in results if "metrics" in r]
    groups: Dict[str, List[Dict]] = {}
    for r in rows:
        groups.setdefault(r["name"].rsplit("_s", 1)[0], []).append(r)

    def mean_std(values: List[float]) -> str:
        if len(values) == 1:
            return f"{100 * values[0]:.2f}"
        return f"{100 * statistics.mean(values):.2f} ± {100 * statistics.stdev(values):.2f}"

    lines = [
        "| model | setting | seeds | test acc. (%) | test selected (%) | dev acc. (%) "
        "| dev selected (%) | best epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = []
    for group, members in sorted(groups.items()):
        m = [r["metrics"] for r in members]
        test_acc = [x["test_accuracy"] for x in m]
        test_sel = [x["test_selected"] for x in m]
        dev_acc = [x["best_validation_accuracy"] for x in m]
        dev_sel = [x["best_validation_selected"] for x in m]
        setting = group.split("_", 1)[1] if "_" in group else "full text"
        lines.append(
            f"| {family(group)} | {setting} | {len(members)} | {mean_std(test_acc)} | "
            f"{mean_std(test_sel)} | {mean_std(dev_acc)} | {mean_std(dev_sel)} | "
            f"{', '.join(str(x['best_epoch']) for x in m)} |"
        )
        summary.append(
            {
                "group": group,
                "seeds": [r["seed"] for r in members],
                "test_accuracy": test_acc,
                "test_selected": test_sel,
                "dev_accuracy": dev_acc,
                "dev_selected": dev_sel,
            }
        )
    (output / "results.md").write_text("\n".join(lines) + "\n")
    (output / "results.json").write_text(json.dumps(summary, indent=2))
    print("\n".join(lines))
    plot(summary, output / "sst_accuracy_vs_selected.png")


def plot(summary: List[Dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {
        "hardkuma": ("o", "tab:blue", "HardKuma"),
        "bernoulli": ("s", "tab:orange", "Bernoulli"),
    }
    labelled = set()
    for s in summary:
        kind = family(s["group"])
        if kind == "bilstm":
            mean = 100 * statistics.mean(s["test_accuracy"])
            std = 100 * statistics.stdev(s["test_accuracy"]) if len(s["test_accuracy"]) > 1 else 0
            ax.axhline(mean, color="k", linestyle="--", label="full text (BiLSTM)")
            ax.axhspan(mean - std, mean + std, color="k", alpha=0.1)
            continue
        marker, color, label = styles[kind]
        x = [100 * v for v in s["test_selected"]]
        y = [100 * v for v in s["test_accuracy"]]
        ax.scatter(x, y, marker=marker, color=color, label=None if kind in labelled else label)
        labelled.add(kind)
    ax.set_xlim(0, 102)
    ax.set_xlabel("selected text on test (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("SST-5, GloVe 6B 50d (cf. paper figure 4)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


SPEED_SNIPPET = """
import json, os, resource, sys, time
from allennlp.commands.train import TrainModel
from allennlp.common import Params
import hardkuma_allennlp  # noqa: F401
config, directory, instances = sys.argv[1], sys.argv[2], int(sys.argv[3])
params = Params.from_file(config, json.dumps({
    "train_data_path": os.environ["SST_TRAIN"],
    "validation_data_path": None, "test_data_path": None, "evaluate_on_test": False,
    "dataset_reader.max_instances": instances, "trainer.num_epochs": 1,
    "trainer.run_confidence_checks": False}))
train_loop = TrainModel.from_params(params=params, serialization_dir=directory, local_rank=0)
start = time.perf_counter()
train_loop.trainer.train()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "instances": instances, "peak_rss_mb": peak}))
"""


def speed(args, output: Path) -> None:
    """One training epoch over the first `--speed-instances` training sentences, alternating
    baseline and HardKuma `--speed-repeats` times, one process per measurement."""
    configs = {"full text (BiLSTM)": "sst_bilstm.jsonnet", "HardKuma": "sst_hardkuma.jsonnet"}
    measured: Dict[str, List[Dict]] = {name: [] for name in configs}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for repeat in range(args.speed_repeats):
        for name, config in configs.items():
            directory = output / "speed" / f"{config}_{repeat}"
            command = [sys.executable, "-W", "ignore", "-c", SPEED_SNIPPET]
            command += [
                str(ROOT / "training_config" / config),
                str(directory),
                str(args.speed_instances),
            ]
            result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise RuntimeError(f"speed run {config} failed:\n{result.stderr[-3000:]}")
            measured[name].append(json.loads(result.stdout.strip().splitlines()[-1]))
    base = statistics.median(m["instances"] / m["seconds"] for m in measured["full text (BiLSTM)"])
    lines = [
        "| model | instances/s (median) | relative to full text | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    for name, runs in measured.items():
        rate = statistics.median(m["instances"] / m["seconds"] for m in runs)
        peak = max(m["peak_rss_mb"] for m in runs)
        lines.append(f"| {name} | {rate:.1f} | {rate / base:.2f} | {peak:.0f} |")
    (output / "speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "sst")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--lr", type=float, help="Adam learning rate for every model (default: the configs' 2e-4)"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--main-target", type=float, default=0.3)
    parser.add_argument("--targets", type=float, nargs="+", default=[0.1, 0.2, 0.5, 0.7])
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.002, 0.0015, 0.003])
    parser.add_argument(
        "--only", nargs="*", help="run only the runs whose name starts with one of these"
    )
    parser.add_argument("--summarize-only", action="store_true")
    parser.add_argument("--speed", action="store_true", help="also measure training speed")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--speed-instances", type=int, default=1000)
    parser.add_argument("--speed-repeats", type=int, default=3)
    args = parser.parse_args()
    if "SST_TRAIN" not in os.environ:
        parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
    args.output.mkdir(parents=True, exist_ok=True)
    global LEARNING_RATE
    LEARNING_RATE = args.lr
    if args.speed_only:
        speed(args, args.output)
        return
    runs = plan(args)
    if args.only:
        runs = [r for r in runs if any(r["name"].startswith(p) for p in args.only)]
    if args.summarize_only:
        results = [
            {**r, "metrics": json.loads((args.output / r["name"] / "metrics.json").read_text())}
            for r in runs
            if (args.output / r["name"] / "metrics.json").exists()
        ]
    else:
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda spec: train(spec, args.output), runs))
    summarize(results, args.output)
    if args.speed:
        speed(args, args.output)


if __name__ == "__main__":
    main()

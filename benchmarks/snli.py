"""
SNLI results of the paper's table 3 (Bastings et al., 2019, section 6.3) on our data: test
accuracy of allennlp-models' Decomposable Attention (softmax attention) and of Decomposable
Attention with HardKuma attention at a 10% target of non-zero attention cells, with the share of
non-zero attention cells that HardKuma attention actually uses on the test set.

    source scripts/local_data.sh          # data and vectors from ../shared/data
    .venv/bin/python benchmarks/snli.py --epochs 15 --seeds 1

Each run is `allennlp train` in its own serialization directory under `--output` (`runs/snli` by
default), one at a time, with one thread (`OMP_NUM_THREADS=1`). Runs whose `metrics.json` exists
are not run again; a run that stopped half-way continues with `--recover`. Model selection is on
dev accuracy (the configs' `validation_metric`); the reported numbers are the selected model's
test metrics (`evaluate_on_test`). The script writes `results.md` (a markdown table) and
`results.json` into the output directory, and `--heatmaps N` draws the HardKuma attention of the
first N test pairs (`heatmaps/*.png`, like the paper's figures 6 and 10).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
ALLENNLP = str(Path(sys.executable).parent / "allennlp")
# Modules that register the SNLI components (also imported by the package's __init__).
PACKAGES = [
    "hardkuma_allennlp.dataset_readers.snli",
    "hardkuma_allennlp.models.hardkuma_decomposable_attention",
    "hardkuma_allennlp.predictors.attention_predictor",
]
MODELS = {
    "decomposable_attention": (
        "Decomposable Attention (softmax)",
        "snli_decomposable_attention.jsonnet",
    ),
    "hardkuma_attention": (
        "Decomposable Attention, HardKuma attention",
        "snli_hardkuma_attention.jsonnet",
    ),
}


def train(name: str, config: str, seed: int, epochs: int, target: float, output: Path) -> Path:
    run_dir = output / f"{name}_s{seed}"
    if (run_dir / "metrics.json").exists():
        print(f"{run_dir}: done already", flush=True)
        return run_dir
    overrides: Dict = {
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
        "trainer.num_epochs": epochs,
    }
    if name == "hardkuma_attention":
        # Only the target: the config's other callback settings (its damping) stay as they are.
        overrides["trainer.callbacks.0.selection"] = target
    command = [ALLENNLP, "train", str(ROOT / "training_config" / config), "-s", str(run_dir)]
    command += ["-o", json.dumps(overrides)]
    for package in PACKAGES:
        command += ["--include-package", package]
    if run_dir.exists():
        command.append("--recover")
    # A fixed hash seed too: AllenNLP seeds python, numpy and torch, but not set/dict hashing.
    environment = dict(
        os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED=str(seed)
    )
    print(" ".join(command), flush=True)
    start = time.time()
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(output / f"{name}_s{seed}.log", "a") as log:
        subprocess.run(command, cwd=ROOT, env=environment, stdout=log, stderr=log, check=True)
    print(f"{run_dir}: {time.time() - start:.0f} s", flush=True)
    return run_dir


def draw_heatmaps(run_dir: Path, count: int) -> List[str]:
    import importlib

    for package in PACKAGES:
        importlib.import_module(package)
    from allennlp.common.file_utils import cached_path
    from allennlp.models.archival import load_archive
    from allennlp.predictors import Predictor

    from hardkuma_allennlp.attention_heatmap import plot_attention_heatmap

    predictor = Predictor.from_archive(load_archive(run_dir / "model.tar.gz"), "hardkuma_attention")
    paths = []
    with open(cached_path(os.environ["SNLI_TEST"]), encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if number >= count:
                break
            pair = json.loads(line)
            output = predictor.predict(pair["sentence1"], pair["sentence2"])
            path = str(run_dir / "heatmaps" / f"test_{number:03d}.png")
            title = f"gold: {pair['gold_label']}, predicted: {output['label']}"
            plot_attention_heatmap(
                output["attention"],
                output["premise_tokens"],
                output["hypothesis_tokens"],
                path,
                title=title,
            )
            paths.append(path)
    return paths


def summarise(runs: Dict[str, List[Path]], epochs: int, target: float) -> Dict:
    results = {}
    for name, run_dirs in runs.items():
        metrics = [json.loads((d / "metrics.json").read_text()) for d in run_dirs]
        results[name] = {
            "runs": [str(d) for d in run_dirs],
            "dev_accuracy": [m["best_validation_accuracy"] for m in metrics],
            "test_accuracy": [m["test_accuracy"] for m in metrics],
            # Softmax attention is never exactly zero: every valid cell is non-zero.
            "test_nonzero_attention": [m.get("test_nonzero_attention", 1.0) for m in metrics],
            "best_epoch": [m["best_epoch"] for m in metrics],
            "training_duration": [m["training_duration"] for m in metrics],
        }
    return {"epochs": epochs, "target": target, "models": results}


def mean_sd(values: List[float], scale: float = 100.0) -> str:
    if len(values) == 1:
        return f"{scale * values[0]:.1f}"
    return f"{scale * statistics.mean(values):.1f} ± {scale * statistics.stdev(values):.1f}"


def markdown(summary: Dict) -> str:
    lines = [
        f"SNLI (train: {os.environ.get('SNLI_TRAIN')}, dev: {os.environ.get('SNLI_DEV')}, "
        f"test: {os.environ.get('SNLI_TEST')}; vectors: {os.environ.get('SNLI_EMBEDDINGS')}), "
        f"{summary['epochs']} epochs, model selection on dev accuracy.",
        "",
        "| model | seeds | dev acc. | test acc. | % non-zero attention (test) | best epoch |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in summary["models"].items():
        label = MODELS[name][0]
        if name == "hardkuma_attention":
            label += f" (target {100 * summary['target']:.0f}%)"
        lines.append(
            f"| {label} | {len(result['runs'])} | {mean_sd(result['dev_accuracy'])} | "
            f"{mean_sd(result['test_accuracy'])} | {mean_sd(result['test_nonzero_attention'])} | "
            f"{', '.join(str(e) for e in result['best_epoch'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--target", type=float, default=0.1, help="HardKuma attention target rate")
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "snli")
    parser.add_argument("--heatmaps", type=int, default=0, help="draw the first N test pairs")
    args = parser.parse_args()
    for variable in ("SNLI_TRAIN", "SNLI_DEV", "SNLI_TEST", "SNLI_EMBEDDINGS", "EMBEDDING_DIM"):
        if variable not in os.environ:
            print(f"{variable} is not set: the default source is used", flush=True)
    from hardkuma_allennlp.environment import set_default_environment

    set_default_environment()
    runs: Dict[str, List[Path]] = {name: [] for name in args.models}
    for seed in args.seeds:
        for name in args.models:
            config = MODELS[name][1]
            runs[name].append(train(name, config, seed, args.epochs, args.target, args.output))
    summary = summarise(runs, args.epochs, args.target)
    if args.heatmaps and "hardkuma_attention" in runs:
        summary["heatmaps"] = draw_heatmaps(runs["hardkuma_attention"][0], args.heatmaps)
    (args.output / "results.json").write_text(json.dumps(summary, indent=2))
    table = markdown(summary)
    (args.output / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()

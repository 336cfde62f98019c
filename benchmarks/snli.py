"""
SNLI results of the paper's table 3 (Bastings et al., 2019, section 6.3) on our data: test
accuracy of allennlp-models' Decomposable Attention (softmax attention) and of Decomposable
Attention with HardKuma attention at a 10% target of non-zero attention cells, with the share of
non-zero attention cells that HardKuma attention actually uses on the test set.

    source scripts/local_data.sh          # data and vectors from ../shared/data
    .venv/bin/python -m benchmarks.snli                   # 25 epochs, seeds 1 and 2
    .venv/bin/python -m benchmarks.snli --summarize-only  # the table from results/snli

Each run is `allennlp train` in its own serialization directory under `runs/snli/`, with one
thread; its `metrics.json` and `config.json` are kept in `results/snli/<run>/`, and runs with kept
results are not run again (a sweep continues in a later session). Several processes (`--jobs`)
share the plan through lock files. Model selection is on the configs' `validation_metric`; the
reported numbers are the selected model's test metrics (`evaluate_on_test`); best epochs are
counted from 1. The table (the `snli-results` section of `docs/results/snli.md`) is made from
`results/snli/` alone, over the default seeds (1 and 2) whatever `--seeds` an invocation trains.
`--heatmaps N` draws the HardKuma attention of the first N test pairs of the first seed's model
(`runs/snli/.../heatmaps/*.png`, like the paper's figures 6 and 10). `--report` writes the HTML
rationale report of that model on the test set (`allennlp rationales`:
`docs/reports/snli_hardkuma_attention.html`, the first 40 pairs with their attention heatmaps,
and its metrics in `results/snli_faithfulness/`), training the model first where its archive is
missing (a new machine keeps the results but not the archives).
"""

import argparse
import json
import os
import statistics
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List

from benchmarks.results_store import (
    RESULTS,
    ROOT,
    ensure_archive,
    evaluate,
    load_results,
    rationales,
    train,
    write_section,
)

SEEDS = [1, 2]
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


def overrides_of(seed: int, args) -> Dict:
    return {
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
        "trainer.num_epochs": args.epochs,
    }


def run(name: str, seed: int, args) -> str:
    overrides = overrides_of(seed, args)
    # A fixed hash seed too: AllenNLP seeds python, numpy and torch, but not set/dict hashing.
    env = {"PYTHONHASHSEED": str(seed)}
    config = args.config_dir / MODELS[name][1]
    after = decode_every_way if name == "hardkuma_attention" else None
    return train("snli", f"{name}_s{seed}", config, overrides, args.runs, after, env=env)


DECODINGS = {
    "paper": {"type": "paper"},
    "threshold 0.5": {"type": "threshold", "threshold": 0.5},
    "top-k per row": {"type": "top_k", "share": 0.1},
}


def decode_every_way(directory: Path, kept: Path) -> None:
    """Test accuracy and non-zero attention under each decoding rule (`decodings.json`)."""
    measured = {}
    for rule, decoding in DECODINGS.items():
        metrics = evaluate(
            directory / "model.tar.gz",
            os.environ["SNLI_TEST"],
            {"model.matrix_attention.decoding": decoding},
        )
        measured[rule] = {k: metrics[k] for k in ("accuracy", "nonzero_attention")}
    (kept / "decodings.json").write_text(json.dumps(measured, indent=2))


def report(seed: int, args) -> None:
    """The HTML report and ERASER metrics of the HardKuma attention model of `seed`."""
    name = f"hardkuma_attention_s{seed}"
    config = args.config_dir / MODELS["hardkuma_attention"][1]
    env = {"PYTHONHASHSEED": str(seed)}
    archive = ensure_archive(config, args.runs / name, overrides_of(seed, args), env)
    metrics = RESULTS / "snli_faithfulness" / name / "metrics.json"
    report = ROOT / "docs" / "reports" / "snli_hardkuma_attention.html"
    rationales(archive, os.environ["SNLI_TEST"], metrics, report, html_inputs=40)


def draw_heatmaps(run_dir: Path, count: int) -> List[str]:
    from allennlp.common.file_utils import cached_path
    from allennlp.models.archival import load_archive
    from allennlp.predictors import Predictor

    import hardkuma_allennlp  # noqa: F401  (registers the SNLI reader, model and predictor)
    from hardkuma_allennlp.interpret.attention_heatmap import plot_attention_heatmap

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


def mean_sd(values: List[float], scale: float = 100.0) -> str:
    if len(values) == 1:
        return f"{scale * values[0]:.1f}"
    return f"{scale * statistics.mean(values):.1f} ± {scale * statistics.stdev(values):.1f}"


def markdown(seeds: List[int]) -> str:
    kept = load_results("snli")
    lines = [
        "| model | seeds done | dev acc. | test acc. | % non-zero attention (test) | best epoch |",
        "|---|---|---|---|---|---|",
    ]
    wanted = {f"{name}_s{seed}" for name in MODELS for seed in seeds}
    for name, (label, _) in MODELS.items():
        names = [f"{name}_s{seed}" for seed in seeds]
        done = [kept[n]["metrics"] for n in names if "metrics" in kept.get(n, {})]
        failed = [n for n in names if "failed" in kept.get(n, {})]
        status = f"{len(done)} of {len(names)}" + (f", **{len(failed)} failed**" if failed else "")
        if not done:
            lines.append(f"| {label} | {status} | - | - | - | - |")
            continue
        # Softmax attention is never exactly zero: every valid cell is non-zero.
        nonzero = [m.get("test_nonzero_attention", m.get("test_selected", 1.0)) for m in done]
        lines.append(
            f"| {label} | {status} | {mean_sd([m['best_validation_accuracy'] for m in done])} | "
            f"{mean_sd([m['test_accuracy'] for m in done])} | {mean_sd(nonzero)} | "
            f"{', '.join(str(m['best_epoch'] + 1) for m in done)} |"
        )
    decoded = [
        (n, r["decodings"]) for n, r in sorted(kept.items()) if "decodings" in r and n in wanted
    ]
    if decoded:
        lines += [
            "",
            "HardKuma attention under each test-time decoding rule (test accuracy / % non-zero):",
            "",
            "| run | " + " | ".join(DECODINGS) + " |",
            "|---|" + "---|" * len(DECODINGS),
        ]
        for name, result in decoded:
            cells = []
            for rule in DECODINGS:
                value = result.get(rule)
                cells.append(
                    f"{100 * value['accuracy']:.1f} / {100 * value['nonzero_attention']:.1f}"
                    if value
                    else "-"
                )
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--seeds", type=int, nargs="+", default=SEEDS)
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=list(MODELS))
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "snli")
    parser.add_argument("--config-dir", type=Path, default=ROOT / "training_config")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--heatmaps", type=int, default=0, help="draw the first N test pairs")
    parser.add_argument("--report", action="store_true", help="the HTML report (see above)")
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args()
    if args.report:
        report(args.seeds[0], args)
    elif not args.summarize_only:
        for variable in ("SNLI_TRAIN", "SNLI_DEV", "SNLI_TEST", "SNLI_EMBEDDINGS", "EMBEDDING_DIM"):
            if variable not in os.environ:
                parser.error(f"{variable} is not set: `source scripts/local_data.sh` first")
        plan = [(name, seed) for seed in args.seeds for name in args.models]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda spec: run(*spec, args), plan))
        first = args.runs / f"hardkuma_attention_s{args.seeds[0]}"
        if args.heatmaps and (first / "model.tar.gz").exists():
            draw_heatmaps(first, args.heatmaps)
    print(write_docs())
    from benchmarks.render import write_readme

    write_readme()


def write_docs(root: Path = ROOT) -> str:
    table = markdown(SEEDS)
    write_section("snli", "snli-results", table, root)
    return table


if __name__ == "__main__":
    main()

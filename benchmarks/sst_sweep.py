"""
SST results of the paper's figure 4 on our data (the protocol of issue 9): test accuracy against
the share of selected text, for HardKuma at several selection targets, dependent HardKuma, the
Bernoulli (REINFORCE) baseline and the full-text BiLSTM; plus each HardKuma model evaluated under
every test-time decoding rule.

    source scripts/local_data.sh          # data and vectors from ../shared/data
    .venv/bin/python -m benchmarks.sst_sweep                  # train what is missing, 2 at a time
    .venv/bin/python -m benchmarks.sst_sweep --summarize-only # tables and figure from results/

Each run is `allennlp train` of a config in `training_config/` with the paper's settings (Adam
2e-4, batch 25, up to 25 epochs, patience 5), one thread, serialized under `runs/sst/<run>`.
Its `metrics.json` and `config.json` are kept in `results/sst/<run>/` (with `decodings.json`:
test metrics under each decoding rule), and runs with kept results are never run again: a sweep
that stopped continues where it was, in a later session too. Several sweep processes can share
one plan (`--jobs 1` each); a lock file keeps them from training the same run.

The summary (the tables of `docs/results/sst.md` and `docs/results/sst_accuracy_vs_selected.png`)
is made from `results/sst/` alone. Model selection: the lowest dev
`loss + lagrangian_selection_miss` (the configs' `validation_metric`), test reported; best epochs
are counted from 1. `--variant` runs are kept in `results/sst_variants/` and their table is printed,
not written to the docs (the docs show the configs as shipped).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.results_store import (
    DOCS,
    RESULTS,
    ROOT,
    evaluate,
    load_results,
    train,
    write_section,
)

BENCHMARK = "sst"


def run_spec(name: str, config: str, seed: int, epochs: int, extra: Optional[Dict] = None) -> Dict:
    overrides = {
        "random_seed": seed,
        "numpy_seed": seed,
        "pytorch_seed": seed,
        "trainer.num_epochs": epochs,
    }
    overrides.update(extra or {})
    return {"name": name, "config": config, "seed": seed, "overrides": overrides}


def hardkuma_spec(target: float, seed: int, epochs: int) -> Dict:
    extra = {"trainer.callbacks.0.selection": target}
    return run_spec(f"hardkuma_t{target}_s{seed}", "sst_hardkuma.jsonnet", seed, epochs, extra)


def plan(args) -> List[Dict]:
    """The protocol, ordered so that the main comparison (HardKuma 0.3 against full text) and
    each kind of model get their first seed early."""
    runs = []
    for seed in args.seeds:
        runs.append(hardkuma_spec(args.main_target, seed, args.epochs))
        runs.append(run_spec(f"bilstm_s{seed}", "sst_bilstm.jsonnet", seed, args.epochs))
    for target in args.targets:
        runs.append(hardkuma_spec(target, args.seeds[0], args.epochs))
    runs.append(
        run_spec(
            f"dependent_t{args.main_target}_s{args.seeds[0]}",
            "sst_hardkuma_dependent.jsonnet",
            args.seeds[0],
            args.epochs,
            {"trainer.callbacks.0.selection": args.main_target},
        )
    )
    for sparsity in args.sparsities:
        gate = {
            "model.encoder.gate.sparsity": sparsity,
            "model.encoder.gate.coherence": 2 * sparsity,
        }
        name = f"bernoulli_l{sparsity}_s{args.seeds[0]}"
        runs.append(run_spec(name, "sst_bernoulli.jsonnet", args.seeds[0], args.epochs, gate))
    return runs


# The test-time decodings of the tables, as `decodings` names them.
RULES = ("paper", "threshold 0.5", "top-k", "top-k E[z]", "spans")


def decodings(spec: Dict) -> Dict[str, Dict]:
    """The decoding rules each model is evaluated under (on top of its config's own)."""
    if spec["config"] == "sst_hardkuma.jsonnet":
        share = spec["overrides"]["trainer.callbacks.0.selection"]
        return {
            "paper": {"type": "paper"},
            "threshold 0.5": {"type": "threshold", "threshold": 0.5},
            "top-k": {"type": "top_k", "share": share},
            "top-k E[z]": {"type": "top_k", "share": share, "value": "expected"},
            "spans": {"type": "spans", "share": share},
        }
    if spec["config"] == "sst_hardkuma_dependent.jsonnet":
        return {
            "paper": {"type": "paper"},
            "threshold 0.5": {"type": "threshold", "threshold": 0.5},
        }
    return {}


EXAMPLES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is a tired , predictable mess .",
    "it 's not a bad film , but it never quite comes together .",
    "an intelligent , moving and often very funny portrait of a family in crisis .",
]


def predict_examples(archive: Path) -> List[Dict]:
    """The README's example rationales, predicted in a fresh process."""
    code = (
        "import json, sys\n"
        "from allennlp.models.archival import load_archive\n"
        "from allennlp.predictors import Predictor\n"
        "import hardkuma_allennlp  # noqa\n"
        "predictor = Predictor.from_archive(load_archive(sys.argv[1]), 'rationale')\n"
        "for sentence in json.loads(sys.argv[2]):\n"
        "    out = predictor.predict_json({'sentence': sentence})\n"
        "    print(json.dumps({'label': out['label'], 'highlight': out['highlight']}))\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code, str(archive), json.dumps(EXAMPLES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def run(spec: Dict, args, benchmark: str = BENCHMARK) -> str:
    def after(directory: Path, kept: Path) -> None:
        if "variant" in spec:
            (kept / "variant.json").write_text(json.dumps(spec["variant"], indent=2))
        measured = {}
        for name, decoding in decodings(spec).items():
            metrics = evaluate(
                directory / "model.tar.gz",
                os.environ["SST_TEST"],
                {"model.encoder.gate.decoding": decoding},
            )
            measured[name] = {k: metrics[k] for k in ("accuracy", "selected")}
        if measured:
            (kept / "decodings.json").write_text(json.dumps(measured, indent=2))

    config = args.config_dir / spec["config"]
    return train(benchmark, spec["name"], config, spec["overrides"], args.runs, after)


def summarize_variants() -> str:
    """The `--variant` runs of the main HardKuma model (`results/sst_variants/`)."""
    rules = ("paper", "threshold 0.5", "top-k", "top-k E[z]")
    lines = [
        "| run | changes against `sst_hardkuma.jsonnet` | best epoch | "
        + " | ".join(f"test {r}: acc. / sel. (%)" for r in rules)
        + " |",
        "|---|---|---|" + "---|" * len(rules),
    ]
    for name, result in load_results("sst_variants").items():
        changes = f"`{json.dumps(result.get('variant', {}))}`"
        if "metrics" not in result:
            lines.append(f"| {name} | {changes} | **failed** |" + " - |" * len(rules))
            continue
        cells = []
        for rule in rules:
            value = result.get("decodings", {}).get(rule)
            cells.append(
                f"{100 * value['accuracy']:.1f} / {100 * value['selected']:.1f}" if value else "-"
            )
        epoch = result["metrics"]["best_epoch"] + 1
        lines.append(f"| {name} | {changes} | {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def group_of(name: str) -> str:
    return name.rsplit("_s", 1)[0]


def describe(group: str):
    kind, _, setting = group.partition("_")
    model = {
        "bilstm": "BiLSTM, full text",
        "hardkuma": "HardKuma",
        "dependent": "HardKuma, dependent",
        "bernoulli": "Bernoulli",
    }[kind]
    if setting.startswith("t"):
        setting = f"target {setting[1:]}"
    elif setting.startswith("l"):
        setting = f"L0 weight {setting[1:]}"
    return model, setting or "-"


def median_range(values: List[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.1f}"
    return (
        f"{100 * statistics.median(values):.1f} "
        f"({100 * min(values):.1f}-{100 * max(values):.1f})"
    )


def summarize(plan_specs: List[Dict], figure_path: Optional[Path] = None) -> str:
    """The main table and the decodings table; with `figure_path`, the figure too."""
    kept = load_results(BENCHMARK)
    groups: Dict[str, List[str]] = {}
    for spec in plan_specs:
        groups.setdefault(group_of(spec["name"]), []).append(spec["name"])
    lines = [
        "| model | setting | seeds done | test acc. (%) | test selected (%) | dev acc. (%) "
        "| dev selected (%) | best epoch |",
        "|---|---|---|---|---|---|---|---|",
    ]
    figure = []
    decoding_lines = [
        "| model | setting | seeds | " + " | ".join(f"{d}: acc. / sel. (%)" for d in RULES) + " |",
        "|---|---|---|" + "---|" * len(RULES),
    ]
    for group, names in groups.items():
        model, setting = describe(group)
        done = [kept[n] for n in names if "metrics" in kept.get(n, {})]
        failed = [n for n in names if "failed" in kept.get(n, {})]
        status = f"{len(done)} of {len(names)}"
        if failed:
            status += f", **{len(failed)} failed**"
        if not done:
            lines.append(f"| {model} | {setting} | {status} | - | - | - | - | - |")
            continue
        m = [r["metrics"] for r in done]
        cells = [
            median_range([x["test_accuracy"] for x in m]),
            median_range([x["test_selected"] for x in m]),
            median_range([x["best_validation_accuracy"] for x in m]),
            median_range([x["best_validation_selected"] for x in m]),
            ", ".join(str(x["best_epoch"] + 1) for x in m),
        ]
        lines.append(f"| {model} | {setting} | {status} | " + " | ".join(cells) + " |")
        figure.append((group, [x["test_selected"] for x in m], [x["test_accuracy"] for x in m]))
        # The dev-calibrated threshold with the kept gates at E[z] (sst_calibrated_threshold.py).
        calibrated = [
            r["calibrated_threshold"]
            for r in done
            if "test_accuracy_expected" in r.get("calibrated_threshold", {})
        ]
        if calibrated:
            figure.append(
                (
                    "calibrated_" + group,
                    [c["test_selected_expected"] for c in calibrated],
                    [c["test_accuracy_expected"] for c in calibrated],
                )
            )
        with_decodings = [r["decodings"] for r in done if "decodings" in r]
        if with_decodings:
            row = []
            for rule in RULES:
                values = [d[rule] for d in with_decodings if rule in d]
                if not values:
                    row.append("-")
                    continue
                acc = 100 * statistics.median(v["accuracy"] for v in values)
                sel = 100 * statistics.median(v["selected"] for v in values)
                row.append(f"{acc:.1f} / {sel:.1f}")
            decoding_lines.append(
                f"| {model} | {setting} | {len(with_decodings)} | " + " | ".join(row) + " |"
            )
    table = "\n".join(lines)
    text = (
        f"{table}\n\nEvery HardKuma model under each test-time decoding rule (test set, "
        f"median over the seeds done):\n\n" + "\n".join(decoding_lines) + "\n"
    )
    if figure_path is not None:
        plot(figure, figure_path)
    return text


def plot(figure, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {
        "hardkuma": ("o", "tab:blue", "HardKuma, paper's rule"),
        "dependent": ("^", "tab:green", "HardKuma, dependent"),
        "bernoulli": ("s", "tab:orange", "Bernoulli"),
        "calibrated": ("x", "tab:red", "HardKuma, dev-calibrated threshold, E[z]"),
    }
    labelled = set()
    for group, selected, accuracy in figure:
        kind = group.split("_")[0]
        if kind == "bilstm":
            mean = 100 * statistics.median(accuracy)
            ax.axhline(mean, color="k", linestyle="--", label="full text (BiLSTM), median")
            ax.axhspan(100 * min(accuracy), 100 * max(accuracy), color="k", alpha=0.1)
            continue
        marker, color, label = styles[kind]
        x = [100 * v for v in selected]
        y = [100 * v for v in accuracy]
        ax.scatter(x, y, marker=marker, color=color, label=None if kind in labelled else label)
        labelled.add(kind)
    ax.set_xlim(0, 102)
    ax.set_xlabel("selected text on test (%)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("SST-5, GloVe 6B 50d (cf. paper figure 4)")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, metadata={"Software": None})
    plt.close(fig)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "sst")
    parser.add_argument("--config-dir", type=Path, default=ROOT / "training_config")
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--main-target", type=float, default=0.3)
    parser.add_argument("--targets", type=float, nargs="+", default=[0.1, 0.2, 0.5, 0.7])
    parser.add_argument(
        "--sparsities",
        type=float,
        nargs="+",
        default=[0.0005, 0.001, 0.0015, 0.002, 0.00225, 0.0025],
    )
    parser.add_argument(
        "--only", nargs="*", help="run only the runs whose name starts with one of these"
    )
    parser.add_argument("--summarize-only", action="store_true")
    parser.add_argument(
        "--variant",
        nargs=2,
        metavar=("NAME", "OVERRIDES"),
        help="train the main HardKuma model with JSON config overrides (results/sst_variants)",
    )
    return parser


# The run whose predictions are the README's examples.
EXAMPLES_RUN = "hardkuma_t0.3_s1"


def examples() -> str:
    """The README's example rationales, from the main run's `examples.json`."""
    path = RESULTS / BENCHMARK / EXAMPLES_RUN / "examples.json"
    lines = [f"label {e['label']}: {e['highlight']}" for e in json.loads(path.read_text())]
    return "```\n" + "\n".join(lines) + "\n```"


def write_docs(root: Path = ROOT) -> str:
    """The tables of `docs/results/sst.md` (and its figure), from `results/sst/` alone, for the
    protocol as the defaults name it."""
    text = summarize(plan(parser().parse_args([])), root / DOCS / "sst_accuracy_vs_selected.png")
    write_section("sst", "sst-results", text, root)
    return text


def main() -> None:
    argument_parser = parser()
    args = argument_parser.parse_args()
    if "SST_TRAIN" not in os.environ:
        argument_parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
    if args.variant:
        name, changes = args.variant[0], json.loads(args.variant[1])
        variants = []
        for seed in args.seeds:
            spec = hardkuma_spec(args.main_target, seed, args.epochs)
            spec["name"] = f"{name}_t{args.main_target}_s{seed}"
            spec["overrides"].update(changes)
            spec["variant"] = changes
            variants.append(spec)
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda spec: run(spec, args, "sst_variants"), variants))
        # Only the variants' table: the main tables follow the protocol's seeds, not these.
        print(summarize_variants())
        return
    specs = plan(args)
    if not args.summarize_only:
        todo = specs
        if args.only:
            todo = [r for r in specs if any(r["name"].startswith(p) for p in args.only)]
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda spec: run(spec, args), todo))
    kept, archive = RESULTS / BENCHMARK / EXAMPLES_RUN, args.runs / EXAMPLES_RUN / "model.tar.gz"
    if (kept / "metrics.json").exists() and not (kept / "examples.json").exists():
        if archive.exists():
            (kept / "examples.json").write_text(json.dumps(predict_examples(archive), indent=2))
    text = write_docs()
    from benchmarks.render import write_readme

    write_readme()
    print(text)


if __name__ == "__main__":
    main()

"""
BeerAdvocate on real reviews: the shipped `training_config/beer_hardkuma.jsonnet` and the paper
authors' code, each at its defaults, side by side on the same files and vectors, one thread each.
Nothing is overridden but the data paths and the number of epochs (and, for ours, that every
epoch's checkpoint is kept, which does not change training).

The data is a folder in Lei et al.'s format: `reviews.aspect<A>.train.txt.gz`,
`reviews.aspect<A>.heldout.txt.gz` (dev), an annotation file (`annotations.dev.json`, or
`annotations.json`) and word vectors (`glove*.txt.gz` or `--embeddings`). It comes from
`--data`, else `$BEER_REAL_DIR`, else `../shared/data/beer`. The files are read where they are
(the run folder gets links to them); no review text is written under `results/`.

After every epoch it keeps the dev MSE and decoded selection, and on the annotated reviews the
token precision, recall, F1 and selection (`rationale_f1`, micro over the reviews that have gold
spans for the aspect). For ours it also keeps where the selection falls: the share of the
selected tokens in each tenth of a review, next to the same share of the gold tokens (a model
that selects the opening words of each review has most of its selection in the first tenths).

    .venv/bin/python -m benchmarks.beer_real --side ours --aspect 0
    .venv/bin/python -m benchmarks.beer_real --side authors --aspect 0
    .venv/bin/python -m benchmarks.beer_real --summarize-only

Runs are kept in `results/beer_real/<side>_a<aspect>/` (`curve.json`, and for ours AllenNLP's
`metrics.json` and `config.json`); a run with a kept curve is not run again. The tables are the
`beer-real` sections of `docs/results/beer_real.md`.
"""

import argparse
import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

from benchmarks.beer_learning_curve import ASPECTS, TARGETS
from benchmarks.results_store import ALLENNLP, ROOT, write_section, write_text

RESULTS = ROOT / "results" / "beer_real"
# Runs kept by `keep_ours(..., kept=ARCHIVE / name)` (their README says what each is).
ARCHIVE = ROOT / "results" / "archive" / "beer_real_candidates"
RUNS = ROOT / "runs" / "beer_real"
PAGE = "beer_real"
CONFIG = ROOT / "training_config" / "beer_hardkuma.jsonnet"
# Where the selection falls: the share of selected (and of gold) tokens in each tenth of a review.
DECILES = 10


def default_data() -> Path:
    return Path(os.environ.get("BEER_REAL_DIR", ROOT.parent / "shared" / "data" / "beer"))


def data_files(data: Path, aspect: int, embeddings: Optional[Path] = None) -> Dict[str, Path]:
    """The files of one aspect in `data`; a clear error names what is missing."""
    annotations = data / "annotations.dev.json"
    if not annotations.exists():
        annotations = data / "annotations.json"
    if embeddings is None:
        found = sorted(data.glob("glove*.txt.gz")) or sorted(data.glob("*.filtered.*.txt.gz"))
        embeddings = found[0] if found else data / "glove.txt.gz"
    files = {
        "train": data / f"reviews.aspect{aspect}.train.txt.gz",
        "dev": data / f"reviews.aspect{aspect}.heldout.txt.gz",
        "annotations": annotations,
        "embeddings": embeddings,
    }
    missing = [str(path) for path in files.values() if not path.exists()]
    if missing:
        raise SystemExit(
            f"beer_real: missing in the data folder {data}: {', '.join(missing)} (set --data or "
            "BEER_REAL_DIR to a folder with Lei et al.'s BeerAdvocate files)"
        )
    return files


def embedding_dim(path: Path) -> int:
    import gzip

    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        return len(handle.readline().rstrip().split(" ")) - 1


def link_folder(files: Dict[str, Path], aspect: int, folder: Path) -> Path:
    """A folder with the layout the config reads (`annotations.json`), of links to the files."""
    folder.mkdir(parents=True, exist_ok=True)
    names = {
        "train": f"reviews.aspect{aspect}.train.txt.gz",
        "dev": f"reviews.aspect{aspect}.heldout.txt.gz",
        "annotations": "annotations.json",
    }
    for key, name in names.items():
        link, target = folder / name, files[key].resolve()
        if link.is_symlink() and link.resolve() == target:
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return folder


# Our side.


def run_ours(
    aspect: int,
    epochs: int,
    files: Dict[str, Path],
    config: Path = CONFIG,
    name: str = "",
    overrides: Optional[Dict] = None,
    kept: Optional[Path] = None,
) -> Path:
    """Trains `config` (AllenNLP's `train`, one thread) for `epochs` on the files and keeps the
    run with `keep_ours`; `overrides` are added to the command's `-o`."""
    name = name or f"ours_a{aspect}"
    serialization = RUNS / name
    data = link_folder(files, aspect, RUNS / f"data_a{aspect}")
    from benchmarks.beer_learning_curve import one_thread

    env = one_thread(
        {
            "BEER_DATA_DIR": str(data),
            "BEER_EMBEDDINGS": str(files["embeddings"].resolve()),
            "BEER_EMBEDDING_DIM": str(embedding_dim(files["embeddings"])),
            "BEER_ASPECT": str(aspect),
            "CUDA_DEVICE": "-1",
            "USE_AMP": "false",
        }
    )
    # Keeping every epoch's weights (to evaluate them afterwards) does not change training.
    overrides = {
        "trainer.num_epochs": epochs,
        "trainer.checkpointer.keep_most_recent_by_count": epochs + 1,
        **(overrides or {}),
    }
    if serialization.exists():
        shutil.rmtree(serialization)
    start = time.time()
    command = [ALLENNLP, "train", str(config), "-s", str(serialization)]
    command += ["-o", json.dumps(overrides), "--include-package", "hardkuma_allennlp"]
    log = RUNS / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as handle:
        code = subprocess.run(
            command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    if code != 0:
        raise RuntimeError(f"our run {name} failed (exit {code}); see {log}")
    seconds = time.time() - start
    return keep_ours(serialization, aspect, name, seconds, kept)


def keep_ours(
    serialization: Path,
    aspect: int,
    name: str,
    seconds: float,
    kept: Optional[Path] = None,
) -> Path:
    """Evaluates every epoch's checkpoint on the annotated reviews and keeps the curve (in
    `results/beer_real/<name>/`, or in `kept`)."""
    instances = annotated_instances(serialization)
    curve = []
    epoch = 0
    while (serialization / f"metrics_epoch_{epoch}.json").exists():
        metrics = json.loads((serialization / f"metrics_epoch_{epoch}.json").read_text())
        # AllenNLP names a checkpoint by the epochs completed.
        weights = serialization / f"model_state_e{epoch + 1}_b0.th"
        if not weights.exists():
            weights = next(iter(serialization.glob(f"model_state_e{epoch + 1}_*.th")), None)
        point = {"epoch": epoch + 1}
        # A regression run has a dev MSE, a classification run a dev accuracy.
        for key in ("mse", "accuracy"):
            if f"validation_{key}" in metrics:
                point[f"dev_{key}"] = metrics[f"validation_{key}"]
        point["dev_selected"] = metrics["validation_selected"]
        point["train_selected"] = metrics.get("training_selected")
        if weights is not None:
            point.update(evaluate_annotations(serialization, weights, instances))
        curve.append(point)
        epoch += 1
    kept = kept or RESULTS / name
    kept.mkdir(parents=True, exist_ok=True)
    for file in ("metrics.json", "config.json"):
        if (serialization / file).exists():
            shutil.copyfile(serialization / file, kept / file)
    final = serialization / "metrics.json"
    best = json.loads(final.read_text()).get("best_epoch") if final.exists() else None
    record = {
        "side": "ours",
        "aspect": aspect,
        "epochs": len(curve),
        "best_epoch": None if best is None else best + 1,
        "seconds": round(seconds, 1),
        "curve": curve,
    }
    write_text(kept / "curve.json", json.dumps(record, indent=2) + "\n")
    return kept


def annotated_instances(serialization: Path) -> list:
    """The annotated reviews (the config's `test_data_path`), read by its validation reader."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

    params = Params.from_file(str(serialization / "config.json"))
    reader = DatasetReader.from_params(params["validation_dataset_reader"].duplicate())
    return list(reader.read(params["test_data_path"]))


def load_checkpoint(serialization: Path, weights: Path):
    """The model of a run (its `config.json` and vocabulary) with one checkpoint's weights, on
    the CPU, in evaluation mode."""
    from allennlp.common import Params
    from allennlp.models import Model

    import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

    params = Params.from_file(str(serialization / "config.json"))
    model = Model.load(params, str(serialization), weights_file=str(weights), cuda_device=-1)
    return model.eval()


def outputs_on(model, instances: list) -> Iterator[Tuple[object, Dict]]:
    """Each instance with the model's output for it, in batches of 64, without gradients."""
    import torch

    with torch.no_grad():
        for start in range(0, len(instances), 64):
            batch = instances[start : start + 64]
            yield from zip(batch, model.forward_on_instances(batch))


def evaluate_annotations(
    serialization: Path, weights: Path, instances: Optional[list] = None
) -> Dict[str, object]:
    """Precision / recall / F1 / selection of one checkpoint on the annotated reviews, and the
    share of the selected and of the gold tokens in each tenth of a review."""
    if instances is None:
        instances = annotated_instances(serialization)
    model = load_checkpoint(serialization, weights)
    selected_by_tenth = [0] * DECILES
    gold_by_tenth = [0] * DECILES
    model.get_metrics(reset=True)
    for instance, output in outputs_on(model, instances):
        gold = instance["gold_rationale"].tensor.tolist()
        if not any(g > 0 for g in gold) or any(g < 0 for g in gold):
            continue
        z = output["z"]
        length = len(z)
        for position, (g, value) in enumerate(zip(gold, z)):
            tenth = min(DECILES - 1, position * DECILES // length)
            selected_by_tenth[tenth] += value != 0
            gold_by_tenth[tenth] += g > 0
    metrics = model.get_metrics(reset=True)

    def shares(counts: List[int]) -> List[float]:
        total = sum(counts)
        return [round(count / total, 4) if total else 0.0 for count in counts]

    accuracy = {"accuracy": metrics["accuracy"]} if "accuracy" in metrics else {}
    return {
        **accuracy,
        "precision": metrics["rationale_precision"],
        "recall": metrics["rationale_recall"],
        "f1": metrics["rationale_f1"],
        "selected": metrics["rationale_selected"],
        "selected_by_tenth": shares(selected_by_tenth),
        "gold_by_tenth": shares(gold_by_tenth),
    }


# The authors' side.


def parse_authors_log(text: str) -> List[Dict[str, float]]:
    """The per-epoch evaluations that the authors' `beer.train` prints."""
    from benchmarks.beer_learning_curve import parse_authors_log as parse

    return [
        {
            "epoch": point["epoch"],
            "dev_mse": point["dev_mse"],
            "dev_selected": point["dev_selected"],
            "precision": point["test_precision"],
            "selected": point["test_selected"],
        }
        for point in parse(text)
    ]


def run_authors(aspect: int, epochs: int, files: Dict[str, Path]) -> Path:
    from benchmarks.beer_learning_curve import authors_command, keep_authors_run

    name = f"authors_a{aspect}"
    save = RUNS / name
    save.mkdir(parents=True, exist_ok=True)
    resolved = {key: path.resolve() for key, path in files.items()}
    command = authors_command(aspect, epochs, resolved, save, embedding_dim(files["embeddings"]))
    shown = " ".join(command[1:]).replace(str(resolved["train"].parent), "$DATA")
    return keep_authors_run(name, aspect, epochs, command, RESULTS / name, parse_authors_log, shown)


# The page.


def _load(name: str) -> Optional[Dict]:
    path = RESULTS / name / "curve.json"
    return json.loads(path.read_text()) if path.exists() else None


def _best(record: Dict) -> Dict:
    """Ours: the epoch AllenNLP picked as best (the archived model); theirs: lowest dev MSE."""
    curve = record["curve"]
    if record.get("best_epoch"):
        return curve[record["best_epoch"] - 1]
    return min(curve, key=lambda point: point["dev_mse"])


def summary() -> str:
    lines = [
        "| aspect (target) | side | epochs | best epoch | dev MSE | dev selected (%) "
        "| precision (%) | recall (%) | F1 (%) | selected (%) | min per epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for aspect in ASPECTS:
        for side in ("ours", "authors"):
            record = _load(f"{side}_a{aspect}")
            if record is None:
                continue
            best = _best(record)

            def pct(key: str) -> str:
                value = best.get(key)
                return "" if value is None else f"{100 * value:.1f}"

            lines.append(
                f"| {ASPECTS[aspect]} ({100 * TARGETS[aspect]:.0f} %) | {side} | "
                f"{record['epochs']} | {best['epoch']} | {best['dev_mse']:.4f} | "
                f"{pct('dev_selected')} | {pct('precision')} | {pct('recall')} | {pct('f1')} | "
                f"{pct('selected')} | {record['seconds'] / record['epochs'] / 60:.1f} |"
            )
    lines += [
        "",
        "Real BeerAdvocate reviews (`../shared/data/beer`: 9,000 training and 1,000 dev "
        "reviews, 200 annotated reviews for the precision; GloVe 6B 50d), one thread per run "
        "on a 2-core x86_64 machine shared with other runs (minutes per epoch are not a speed "
        "comparison: see beer_speed.md). Ours: seed as in the config (AllenNLP's "
        "defaults); the authors' code takes none. Best epoch: ours, the epoch that "
        "AllenNLP's trainer picks (the archived model); theirs, the lowest dev MSE. "
        "Recall and F1 of the authors' side are not printed by their code.",
    ]
    return "\n".join(lines) + "\n"


def headline_row() -> str:
    """The README's row: the shipped config and the authors' code on real look reviews."""
    cells = {}
    for side in ("ours", "authors"):
        record = _load(f"{side}_a0")
        if record is None:
            cells[side] = "not run"
            continue
        best = _best(record)
        seed = ", AllenNLP's default seeds" if side == "ours" else ""
        cells[side] = (
            f"precision {100 * best['precision']:.1f} % at {100 * best['selected']:.1f} % "
            f"selected, dev MSE {best['dev_mse']:.4f} (epoch {best['epoch']} of "
            f"{record['epochs']}{seed}; one CPU thread)"
        )
        other = ARCHIVE / "shipped_seed2" / "curve.json"
        if side == "ours" and other.exists():
            seed2 = _best(json.loads(other.read_text()))
            cells[side] += (
                f"; at seed 2, {100 * seed2['precision']:.1f} % at "
                f"{100 * seed2['selected']:.1f} %, dev MSE {seed2['dev_mse']:.4f}"
            )
    return (
        "| BeerAdvocate, **real** reviews, look (target 13 %): rationale precision on 200 "
        f"annotated dev reviews | {cells['ours']} | the authors' code: {cells['authors']} "
        "| [Beer, real](docs/results/beer_real.md) |"
    )


def per_epoch() -> str:
    lines = []
    for aspect in ASPECTS:
        for side in ("ours", "authors"):
            record = _load(f"{side}_a{aspect}")
            if record is None:
                continue
            lines += [
                f"**{side}, {ASPECTS[aspect]}** (aspect {aspect})",
                "",
                "| epoch | dev MSE | dev selected (%) | precision (%) | selected (%) "
                "| selected in each tenth of a review (%) |",
                "|---|---|---|---|---|---|",
            ]
            for point in record["curve"]:
                tenths = point.get("selected_by_tenth")
                shown = " ".join(f"{100 * s:.0f}" for s in tenths) if tenths else ""
                lines.append(
                    f"| {point['epoch']} | {point['dev_mse']:.4f} | "
                    f"{100 * point['dev_selected']:.1f} | {100 * point['precision']:.1f} | "
                    f"{100 * point['selected']:.1f} | {shown} |"
                )
            gold = next((p["gold_by_tenth"] for p in record["curve"] if "gold_by_tenth" in p), None)
            if gold:
                lines += [
                    "",
                    "Gold tokens in each tenth of a review (%): "
                    + " ".join(f"{100 * s:.0f}" for s in gold),
                ]
            lines.append("")
    return "\n".join(lines)


def equivalence() -> str:
    """`benchmarks.diagnostics.beer_equivalence`: our model against the authors' on the same
    weights, batches and noise."""
    path = RESULTS / "equivalence.json"
    if not path.exists():
        return "Not run.\n"
    record = json.loads(path.read_text())
    one = record["one_pass"]
    lines = [
        f"`{record['command']}`",
        "",
        f"One forward and backward pass on {one['reviews']} real reviews ({one['tokens']} tokens, "
        f"{100 * one['selected']:.1f} % selected by the first gates): largest difference of a "
        f"gate {one['max_gate_difference']:.1e}, of a prediction "
        f"{one['max_prediction_difference']:.1e}; MSE {one['mse'][0]:.6f} (authors) and "
        f"{one['mse'][1]:.6f} (ours); largest relative difference of a parameter's gradient "
        f"{one['max_relative_gradient_difference']:.1e} ({one['worst_gradient']}).",
        "",
        "Side by side from the same weights, on the same batches of 256 reviews and the same "
        "noise (Adam 4e-4, the task loss alone): the share of tokens selected and of "
        "transitions in each training batch.",
        "",
        "| step | authors selected (%) | ours selected (%) | authors transitions (%) "
        "| ours transitions (%) | largest gate difference |",
        "|---|---|---|---|---|---|",
    ]
    for step in record["side_by_side"]:
        lines.append(
            f"| {step['step']} | {100 * step['authors']['selected']:.2f} | "
            f"{100 * step['ours']['selected']:.2f} | "
            f"{100 * step['authors']['transitions']:.2f} | "
            f"{100 * step['ours']['transitions']:.2f} | {step['max_gate_difference']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def top_share() -> str:
    """`benchmarks.diagnostics.beer_top_share`: precision of the top share of each annotated
    review by gate score."""
    path = RESULTS / "top_share.json"
    if not path.exists():
        return "Not run.\n"
    record = json.loads(path.read_text())
    shares = sorted(next(iter(record.values()))["top_share_precision"])
    lines = [
        "| model | decoded: selected (%) | decoded: precision (%) | "
        + " | ".join(f"top {100 * float(share):.0f} %: precision (%)" for share in shares)
        + " |",
        "|---|---|---|" + "---|" * len(shares),
    ]
    for entry in record.values():
        lines.append(
            f"| {entry['model']} | {100 * entry['decoded_selected']:.1f} | "
            f"{100 * entry['decoded_precision']:.1f} | "
            + " | ".join(f"{100 * entry['top_share_precision'][share]:.1f}" for share in shares)
            + " |"
        )
    return "\n".join(lines) + "\n"


def seeds() -> str:
    """The runs kept with a per-epoch curve: the shipped run and the archived candidates (those
    that `keep_ours` kept), at the trainer's chosen epoch and at their last epoch."""
    records = [
        ("shipped, AllenNLP's default seeds (`results/beer_real/ours_a0`)", _load("ours_a0"))
    ]
    for folder in sorted(ARCHIVE.glob("*/curve.json")):
        records.append((f"`{folder.parent.name}`", json.loads(folder.read_text())))
    lines = [
        "| run | epochs | kept epoch: precision / selected (%) | last epoch: precision / "
        "selected (%) | last epoch: dev MSE |",
        "|---|---|---|---|---|",
    ]
    for name, record in records:
        if record is None:
            continue
        best, last = _best(record), record["curve"][-1]
        lines.append(
            f"| {name} | {record['epochs']} | {best['epoch']}: {100 * best['precision']:.1f} / "
            f"{100 * best['selected']:.1f} | {100 * last['precision']:.1f} / "
            f"{100 * last['selected']:.1f} | {last['dev_mse']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(root: Path = ROOT) -> str:
    text_summary, text_epochs = summary(), per_epoch()
    write_section(PAGE, "beer-real", text_summary, root)
    write_section(PAGE, "beer-real-epochs", text_epochs, root)
    write_section(PAGE, "beer-real-equivalence", equivalence(), root)
    write_section(PAGE, "beer-real-top-share", top_share(), root)
    write_section(PAGE, "beer-real-seeds", seeds(), root)
    return text_summary + "\n" + text_epochs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", choices=["authors", "ours"], nargs="+", default=["ours"])
    parser.add_argument("--aspect", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.summarize_only:
        files = data_files(args.data or default_data(), args.aspect, args.embeddings)
        todo = [s for s in args.side if _load(f"{s}_a{args.aspect}") is None]
        runners = {"ours": run_ours, "authors": run_authors}
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda side: runners[side](args.aspect, args.epochs, files), todo))
    print(write_docs())


if __name__ == "__main__":
    main()

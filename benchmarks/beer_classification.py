"""
BeerAdvocate as the rationalization papers of 2022-25 run it (FR, MGR, DR, MCD): binary labels,
selection near the human rate, token precision, recall and F1. On the real files of one aspect
(the data folder of `benchmarks.beer_real`: `--data`, else `$BEER_REAL_DIR`, else
`../shared/data/beer`), one thread per run, two runs at a time:

- `hardkuma_a<A>`: `training_config/beer_hardkuma_classification.jsonnet` as shipped (its own
  number of epochs; nothing overridden but the data paths);
- `regression_a<A>`: `training_config/beer_hardkuma.jsonnet`, the regression model of the
  paper, with its selection target set to the same human rate, for 20 epochs.

Both are evaluated on the same annotated reviews, as the peers count them: the reviews with a
binary label for the aspect (score <= 0.4 or >= 0.6) and a gold span for it, cut at 256 tokens;
precision, recall and F1 are micro averages over their tokens (docs/usage/beer_classification.md).
The regression model has no accuracy there (it predicts a score).

    .venv/bin/python -m benchmarks.beer_classification --aspect 0
    .venv/bin/python -m benchmarks.beer_classification --summarize-only

Runs are kept in `results/beer_classification/<name>/` (`curve.json`, AllenNLP's `metrics.json`
and `config.json`, `binary_protocol.json`); a kept run is not run again. The tables are the
`beer-classification` sections of `docs/results/beer_classification.md`.
"""

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks import beer_real
from benchmarks.beer_learning_curve import ASPECTS
from benchmarks.results_store import ROOT, write_section, write_text

RESULTS = ROOT / "results" / "beer_classification"
# Runs of configs that are not shipped (their README says what each is).
ARCHIVE = ROOT / "results" / "archive" / "beer_classification_candidates"
PAGE = "beer_classification"
CONFIG = ROOT / "training_config" / "beer_hardkuma_classification.jsonnet"
# The share of words annotated for each aspect, the peers' selection targets (as in the config).
HUMAN_RATES = (0.185, 0.156, 0.124)
REGRESSION_EPOCHS = 20
# The peers' published F1 (%) on the annotated reviews of each aspect (look, smell, palate), with
# their own training files (Lei et al.'s, whole), 100-d GloVe and a GRU: e.g.
# Rationalization-DR's paper.pdf, table 3a.
PEERS = (
    ("FR (NeurIPS 2022)", (82.8, 73.4, 67.0)),
    ("MGR (ACL 2023)", (83.7, 76.5, 66.6)),
    ("DR (KDD 2023)", (84.5, 77.3, 67.4)),
)
BINARY_MAX_LENGTH = 256


def config_dict(config: Path, aspect: int) -> Dict:
    """A config as AllenNLP reads it for `aspect` (the data variables do not matter here)."""
    from allennlp.common import Params

    variables = {"BEER_DATA_DIR": ".", "BEER_EMBEDDINGS": "", "BEER_EMBEDDING_DIM": "50"}
    variables.update({"BEER_ASPECT": str(aspect), "CUDA_DEVICE": "-1", "USE_AMP": "false"})
    return Params.from_file(str(config), ext_vars=variables).as_dict()


def regression_overrides(aspect: int) -> Dict:
    """The regression config with its selection held at the aspect's human rate (the rest of its
    constraint as shipped)."""
    [constraint] = config_dict(beer_real.CONFIG, aspect)["trainer"]["callbacks"]
    return {"trainer.callbacks": [{**constraint, "selection": HUMAN_RATES[aspect]}]}


def binary_protocol_instances(serialization: Path, aspect: int) -> list:
    """The annotated reviews as the peers count them, read for the run's model: with a binary
    label and a gold span for the aspect, cut at 256 tokens. A classification run reads them with
    its own validation reader; a regression run with its validation reader cut at 256 tokens,
    keeping the same reviews."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    from hardkuma_allennlp.dataset_readers.beer import BeerAdvocateDatasetReader

    params = Params.from_file(str(serialization / "config.json"))
    annotations = params["test_data_path"]
    binary = BeerAdvocateDatasetReader(aspect=aspect, binarize=True, max_length=BINARY_MAX_LENGTH)
    counted = [instance["metadata"]["tokens"] for instance in binary.read(annotations)]
    if params["model"].get("task", "classification") == "classification":
        instances = beer_real.annotated_instances(serialization)
    else:
        reader_params = params["validation_dataset_reader"].duplicate()
        reader_params["max_length"] = BINARY_MAX_LENGTH
        reader = DatasetReader.from_params(reader_params)
        # The label tensor is float32: round it back to the file's decimals before comparing.
        instances = [
            instance
            for instance in reader.read(annotations)
            if instance["metadata"]["has_gold_rationale"]
            and binary.binary_label(round(instance["label"].tensor.item(), 6)) is not None
        ]
    if [instance["metadata"]["tokens"] for instance in instances] != counted:
        raise RuntimeError(f"{serialization}: its annotated reviews differ from the protocol's")
    return instances


def keep_binary_protocol(serialization: Path, kept: Path, aspect: int) -> Dict:
    """The best checkpoint (`best.th`) on the annotated reviews of the binary protocol."""
    instances = binary_protocol_instances(serialization, aspect)
    result = beer_real.evaluate_annotations(serialization, serialization / "best.th", instances)
    result = {key: value for key, value in result.items() if not key.endswith("_by_tenth")}
    result["reviews"] = len(instances)
    result["read"] = reviews_read(serialization)
    result["labels"] = {
        "negative": sum(1 for i in instances if round(_label(i), 6) <= 0.4),
        "positive": sum(1 for i in instances if round(_label(i), 6) >= 0.6),
    }
    write_text(kept / "binary_protocol.json", json.dumps(result, indent=2) + "\n")
    return result


def reviews_read(serialization: Path) -> Dict[str, int]:
    """How many training and dev reviews the run's readers read (after binarizing, balancing)."""
    from allennlp.common import Params
    from allennlp.data import DatasetReader

    params = Params.from_file(str(serialization / "config.json"))
    counts = {}
    for split, reader, path in (
        ("train", "dataset_reader", "train_data_path"),
        ("dev", "validation_dataset_reader", "validation_data_path"),
    ):
        read = DatasetReader.from_params(params[reader].duplicate())
        counts[split] = sum(1 for _ in read.read(params[path]))
    return counts


def _label(instance) -> float:
    field = instance["label"]
    # A binary label is an index (0 negative, 1 positive); a score is a one-element tensor.
    return float(field.label) if hasattr(field, "label") else field.tensor.item()


def run(name: str, aspect: int, files: Dict[str, Path], seed: Optional[int] = None) -> Path:
    """Trains and keeps one run: `hardkuma_*` the classification config for its own number of
    epochs, `regression_*` the regression config at the human rate for 20."""
    kept = RESULTS / name
    if name.startswith("hardkuma"):
        config, overrides = CONFIG, {}
        epochs = config_dict(CONFIG, aspect)["trainer"]["num_epochs"]
    else:
        config, overrides = beer_real.CONFIG, regression_overrides(aspect)
        epochs = REGRESSION_EPOCHS
    if seed is not None:
        overrides.update(random_seed=seed, numpy_seed=seed, pytorch_seed=seed)
    serialization = beer_real.RUNS / f"classification_{name}"
    beer_real.run_ours(aspect, epochs, files, config, serialization.name, overrides, kept)
    keep_binary_protocol(serialization, kept, aspect)
    return kept


def _load(name: str, file: str) -> Optional[Dict]:
    path = RESULTS / name / file
    return json.loads(path.read_text()) if path.exists() else None


def summary() -> str:
    lines = [
        "| aspect (target) | model | seed | epochs | kept epoch | dev accuracy (%) | dev MSE "
        "| annotated reviews (negative / positive) | accuracy (%) | precision (%) | recall (%) "
        "| F1 (%) | selected (%) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for aspect in range(len(HUMAN_RATES)):
        for kind, label in (("hardkuma", "classification"), ("regression", "regression")):
            for name in run_names(kind, aspect):
                lines.append(row(name, aspect, label))
    read = [
        f"{ASPECTS[a]}: {p['read']['train']:,} training and {p['read']['dev']:,} dev reviews"
        for a in range(len(HUMAN_RATES))
        for p in [_load(f"hardkuma_a{a}", "binary_protocol.json")]
        if p is not None
    ]
    lines += [
        "",
        "Real BeerAdvocate reviews (`../shared/data/beer`: 9,000 training and 1,000 dev reviews, "
        "of which the classification config reads those with a binary label, the training "
        f"reviews balanced by class ({'; '.join(read) or 'none run'}); the 200 annotated dev "
        "reviews, of which those counted above), "
        "GloVe 6B 50d, one thread per run on a 2-core x86_64 CPU. Seed: `random_seed`, "
        "`numpy_seed` and `pytorch_seed`, or AllenNLP's defaults. "
        "Kept epoch: the one AllenNLP's trainer picks (the archived model), by the sum of the "
        "config's validation metrics: classification, the highest dev accuracy minus the miss "
        "of the selection target; regression, the lowest dev MSE plus the miss. The columns "
        "from accuracy on are that model on the annotated reviews; a model that always says "
        "positive is right on the share of positive ones.",
    ]
    return "\n".join(lines) + "\n"


def run_names(kind: str, aspect: int) -> List[str]:
    """The kept runs of a kind on an aspect: AllenNLP's default seeds first, then by seed."""
    names = [f"{kind}_a{aspect}"] + sorted(
        (path.name for path in RESULTS.glob(f"{kind}_a{aspect}_seed*")),
        key=lambda name: int(name.rsplit("seed", 1)[1]),
    )
    return [name for name in names if (RESULTS / name / "binary_protocol.json").exists()]


def row(name: str, aspect: int, label: str) -> str:
    curve, protocol = _load(name, "curve.json"), _load(name, "binary_protocol.json")
    config = _load(name, "config.json") or {}
    seed = config.get("random_seed", "default")
    best = curve["curve"][curve["best_epoch"] - 1]

    def pct(value: Optional[float]) -> str:
        return "" if value is None else f"{100 * value:.1f}"

    mse = best.get("dev_mse")
    return (
        f"| {ASPECTS[aspect]} ({100 * HUMAN_RATES[aspect]:.1f} %) | {label} | {seed} | "
        f"{curve['epochs']} | {curve['best_epoch']} | {pct(best.get('dev_accuracy'))} | "
        f"{'' if mse is None else f'{mse:.4f}'} | {protocol['reviews']} "
        f"({protocol['labels']['negative']} / {protocol['labels']['positive']}) | "
        f"{pct(protocol.get('accuracy'))} | {pct(protocol['precision'])} | "
        f"{pct(protocol['recall'])} | {pct(protocol['f1'])} | "
        f"{pct(protocol['selected'])} |"
    )


def peers() -> str:
    lines = [
        "| method | " + " | ".join(f"{ASPECTS[a]} F1 (%)" for a in range(3)) + " |",
        "|---|---|---|---|",
    ]
    for name, scores in PEERS:
        lines.append(f"| {name} | " + " | ".join(f"{score:.1f}" for score in scores) + " |")
    for aspect in range(3):
        protocol = _load(f"hardkuma_a{aspect}", "binary_protocol.json")
        if protocol is not None:
            cells = ["—"] * 3
            cells[aspect] = f"{100 * protocol['f1']:.1f}"
            lines.append("| HardKuma, this project (above) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def candidates() -> str:
    """The archived runs on the binary protocol's annotated reviews."""
    lines = [
        "| run | seed | kept epoch | accuracy (%) | precision (%) | recall (%) | F1 (%) "
        "| selected (%) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for folder in sorted(ARCHIVE.glob("*/binary_protocol.json")):
        protocol = json.loads(folder.read_text())
        curve = json.loads((folder.parent / "curve.json").read_text())
        config = json.loads((folder.parent / "config.json").read_text())
        accuracy = protocol.get("accuracy")
        lines.append(
            f"| `{folder.parent.name}` | {config.get('random_seed', 'default')} | "
            f"{curve['best_epoch']} | {'' if accuracy is None else f'{100 * accuracy:.1f}'} | "
            + " | ".join(f"{100 * protocol[k]:.1f}" for k in ("precision", "recall", "f1"))
            + f" | {100 * protocol['selected']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def write_docs(root: Path = ROOT) -> str:
    text = summary()
    write_section(PAGE, "beer-classification", text, root)
    write_section(PAGE, "beer-classification-candidates", candidates(), root)
    write_section(PAGE, "beer-classification-peers", peers(), root)
    return text


def headline_row() -> Optional[str]:
    """The README's row, once the classification run on look is kept."""
    protocol = _load("hardkuma_a0", "binary_protocol.json")
    if protocol is None:
        return None
    regression = _load("regression_a0", "binary_protocol.json")
    other = (
        f"the regression model at the same target: F1 {100 * regression['f1']:.1f} % at "
        f"{100 * regression['selected']:.1f} %; "
        if regression
        else ""
    )
    best = max(score for _, scores in PEERS for score in scores[:1])
    return (
        "| BeerAdvocate, real reviews, look, binary labels (target 18.5 %): token F1 and "
        f"accuracy on {protocol['reviews']} annotated dev reviews "
        f"| F1 {100 * protocol['f1']:.1f} % "
        f"(precision {100 * protocol['precision']:.1f} %, recall {100 * protocol['recall']:.1f} %) "
        f"at {100 * protocol['selected']:.1f} % selected, accuracy "
        f"{100 * protocol['accuracy']:.1f} % (always positive: "
        f"{100 * protocol['labels']['positive'] / protocol['reviews']:.1f} %; AllenNLP's default "
        "seeds; one CPU thread) | "
        f"{other}published peers, on the whole training file: F1 up to {best:.1f} % "
        "| [Beer, binary](docs/results/beer_classification.md) |"
    )


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aspect", type=int, choices=range(len(HUMAN_RATES)), default=0)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--embeddings", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=None, help="default: AllenNLP's seeds")
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.summarize_only:
        files = beer_real.data_files(
            args.data or beer_real.default_data(), args.aspect, args.embeddings
        )
        # The runs share one folder of links to the files: made once, before they start.
        beer_real.link_folder(files, args.aspect, beer_real.RUNS / f"data_a{args.aspect}")
        suffix = "" if args.seed is None else f"_seed{args.seed}"
        names = [f"{kind}_a{args.aspect}{suffix}" for kind in ("hardkuma", "regression")]
        todo = [name for name in names if _load(name, "binary_protocol.json") is None]
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda name: run(name, args.aspect, files, args.seed), todo))
    print(write_docs())


if __name__ == "__main__":
    main()

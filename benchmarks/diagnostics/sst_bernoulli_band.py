"""
Why the Bernoulli (REINFORCE) baseline selects all or nothing on SST: our `sst_bernoulli.jsonnet`
and the paper authors' `rl` model side by side, at the same L0 weight and without a coherence
term (the authors' SST setting), one thread each, on `$SST_TRAIN`'s data and `$SST_EMBEDDINGS`.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.diagnostics.sst_bernoulli_band --sparsity 0.003 --epochs 25

After each epoch it keeps, for both, the share of words the gates *sample* in training and the
share the test-time rule *selects* on dev (a word is selected where its probability is at least
0.5, in both codes), with dev accuracy; for ours also the quantiles of the gates' probabilities
on the dev words under the kept model. A gate that samples 40 % of the words but selects none at
test time has probabilities just below 0.5 everywhere: it has not learned which words to keep,
and a small shift of all probabilities moves the test-time selection from nothing to everything.

The authors' code calls `log_prob` with Python floats, which torch 2 refuses while it validates
arguments; it runs with `torch.distributions.Distribution.set_default_validate_args(False)` (set
by this script before their module is run, their code unchanged). Kept in
`results/sst_bernoulli_band/<side>_l<sparsity>/record.json`.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from statistics import mean
from typing import Dict, List, Optional

from benchmarks.results_store import ALLENNLP, ANCHORS, RESULTS, ROOT, write_section, write_text

KEPT = RESULTS / "sst_bernoulli_band"
RUNS = ROOT / "runs" / "sst_bernoulli_band"
CONFIG = ROOT / "training_config" / "sst_bernoulli.jsonnet"
SEED = 1
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
# The authors' train script, run with torch's argument validation off (see the docstring).
AUTHORS_LAUNCHER = (
    "import runpy, sys, torch; "
    "torch.distributions.Distribution.set_default_validate_args(False); "
    "sys.argv = ['latent_rationale.sst.train'] + sys.argv[1:]; "
    "runpy.run_module('latent_rationale.sst.train', run_name='__main__')"
)
DEV_LINE = re.compile(r"^# epoch (\d+) iter \d+: dev (.*)$")
TRAIN_LINE = re.compile(r"^Epoch (\d+) Iter \d+ .* p1 ([0-9.]+)")


def one_thread() -> Dict[str, str]:
    return dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run_ours(sparsity: float, epochs: int) -> Dict:
    serialization = RUNS / f"ours_l{sparsity}"
    if serialization.exists():
        shutil.rmtree(serialization)
    overrides = {
        "model.encoder.gate.sparsity": sparsity,
        "model.encoder.gate.coherence": 0.0,
        "trainer.num_epochs": epochs,
        "random_seed": SEED,
        "numpy_seed": SEED,
        "pytorch_seed": SEED,
    }
    command = [ALLENNLP, "train", str(CONFIG), "-s", str(serialization), "-o"]
    command += [json.dumps(overrides), "--include-package", "hardkuma_allennlp"]
    subprocess.run(command, cwd=ROOT, env=one_thread(), check=True, capture_output=True)
    curve = []
    epoch = 0
    while (serialization / f"metrics_epoch_{epoch}.json").exists():
        metrics = json.loads((serialization / f"metrics_epoch_{epoch}.json").read_text())
        curve.append(
            {
                "epoch": epoch + 1,
                "train_sampled": metrics["training_selected"],
                "dev_selected": metrics["validation_selected"],
                "dev_accuracy": metrics["validation_accuracy"],
            }
        )
        epoch += 1
    final = json.loads((serialization / "metrics.json").read_text())
    return {
        "side": "ours",
        "sparsity": sparsity,
        "epochs": epochs,
        "overrides": overrides,
        "best_epoch": final["best_epoch"] + 1,
        "test_accuracy": final["test_accuracy"],
        "test_selected": final["test_selected"],
        "dev_probability_quantiles": probability_quantiles(serialization),
        "curve": curve,
    }


def probability_quantiles(serialization: Path) -> Dict[str, float]:
    """Quantiles of the kept model's gate probabilities over the dev words."""
    import torch
    from allennlp.common import Params
    from allennlp.data import DatasetReader
    from allennlp.models import Model

    import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

    params = Params.from_file(str(serialization / "config.json"))
    model = Model.load(params, str(serialization), cuda_device=-1).eval()
    reader = DatasetReader.from_params(params["dataset_reader"].duplicate())
    instances = list(reader.read(params["validation_data_path"]))
    probabilities: List[float] = []
    with torch.no_grad():
        for start in range(0, len(instances), 100):
            for output in model.forward_on_instances(instances[start : start + 100]):
                probabilities += list(output["gate_scores"][: len(output["tokens"])])
    ordered = sorted(float(p) for p in probabilities)
    return {str(q): round(ordered[int(q * (len(ordered) - 1))], 4) for q in QUANTILES}


def authors_curve(log: str) -> List[Dict[str, float]]:
    """Per epoch of the authors' log: the mean sampled share of its training lines ("Epoch E
    Iter I ... p1 X") and the dev line's selected share and accuracy ("# epoch E iter I: dev")."""
    sampled: Dict[int, List[float]] = {}
    curve = []
    for line in log.splitlines():
        line = line.strip()
        train = TRAIN_LINE.match(line)
        if train:
            sampled.setdefault(int(train.group(1)), []).append(float(train.group(2)))
        dev = DEV_LINE.match(line)
        if dev:
            fields = dev.group(2).split()
            metrics = {k: float(v) for k, v in zip(fields[::2], fields[1::2])}
            epoch = int(dev.group(1))
            curve.append(
                {
                    "epoch": epoch + 1,
                    "train_sampled": mean(sampled.get(epoch, [float("nan")])),
                    "dev_selected": metrics["selected"],
                    "dev_accuracy": metrics["acc"],
                }
            )
    return curve


def run_authors(sparsity: float, epochs: int) -> Dict:
    save = RUNS / f"authors_l{sparsity}"
    if save.exists():
        shutil.rmtree(save)
    save.mkdir(parents=True)
    data = Path(os.environ["SST_TRAIN"]).parent
    command = [sys.executable, "-c", AUTHORS_LAUNCHER, "--model", "rl"]
    command += ["--sparsity", str(sparsity), "--num_iterations", str(-epochs)]
    command += ["--embed_size", "50", "--lower", "--data_dir", str(data)]
    command += ["--word_vectors", os.environ["SST_EMBEDDINGS"], "--save_path", str(save)]
    env = dict(one_thread(), PYTHONPATH=str(ANCHORS))
    result = subprocess.run(command, cwd=ANCHORS, env=env, capture_output=True, text=True)
    (save / "train_output.txt").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"the authors' rl run failed: {result.stderr[-2000:]}")
    curve = authors_curve(result.stdout)
    final = json.loads((save / "results.json").read_text())
    return {
        "side": "authors",
        "sparsity": sparsity,
        "epochs": epochs,
        "command": " ".join(command[3:])
        .replace(os.environ["SST_EMBEDDINGS"], "$SST_EMBEDDINGS")
        .replace(str(data), "$SST_DIR")
        .replace(str(ROOT) + "/", ""),
        "best_iter": final.get("best_iter"),
        "test_accuracy": final.get("test_acc"),
        "test_selected": 1 - final["test_p0"] if "test_p0" in final else None,
        "curve": curve,
    }


def _record(side: str, sparsity: float) -> Optional[Dict]:
    path = KEPT / f"{side}_l{sparsity}" / "record.json"
    return json.loads(path.read_text()) if path.exists() else None


def table() -> str:
    """Per kept weight: both sides epoch by epoch (sampled in training, selected on dev, dev
    accuracy), and the quantiles of our gates' dev probabilities."""
    weights = sorted({float(path.name.split("_l", 1)[1]) for path in KEPT.glob("*_l*")})
    if not weights:
        return "Not run.\n"
    lines = []
    for sparsity in weights:
        ours, theirs = _record("ours", sparsity), _record("authors", sparsity)
        lines += [
            f"L0 weight {sparsity}, no coherence term, seed {SEED} (ours; the authors' code "
            "takes none):",
            "",
            "| epoch | ours: sampled in training (%) | ours: selected on dev (%) "
            "| ours: dev acc. (%) | authors: sampled in training (%) "
            "| authors: selected on dev (%) | authors: dev acc. (%) |",
            "|---|---|---|---|---|---|---|",
        ]
        epochs = max(len(r["curve"]) for r in (ours, theirs) if r is not None)
        for epoch in range(epochs):
            cells = []
            for record in (ours, theirs):
                point = record["curve"][epoch] if record and epoch < len(record["curve"]) else None
                if point is None:
                    cells += ["not run"] + [""] * 2
                    continue
                cells += [
                    f"{100 * point[key]:.1f}"
                    for key in ("train_sampled", "dev_selected", "dev_accuracy")
                ]
            lines.append(f"| {epoch + 1} | " + " | ".join(cells) + " |")
        if ours is not None:
            quantiles = ", ".join(
                f"{100 * float(q):.0f} %: {value:.3f}"
                for q, value in ours["dev_probability_quantiles"].items()
            )
            lines += [
                "",
                f"Ours, kept epoch {ours['best_epoch']}: test accuracy "
                f"{100 * ours['test_accuracy']:.1f} % at {100 * ours['test_selected']:.1f} % "
                f"selected; quantiles of its gates' probabilities over the dev words: {quantiles}.",
            ]
        if theirs is not None and theirs.get("test_accuracy") is not None:
            lines += [
                "",
                f"The authors' code, best checkpoint: test accuracy "
                f"{100 * theirs['test_accuracy']:.1f} % at {100 * theirs['test_selected']:.1f} % "
                "selected.",
            ]
        lines.append("")
    return "\n".join(lines)


def write_docs(root: Path = ROOT) -> str:
    text = table()
    write_section("sst", "sst-bernoulli-band", text, root)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sparsity", type=float, default=0.003)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--side", choices=["ours", "authors"], nargs="+", default=["ours"])
    args = parser.parse_args()
    if "SST_TRAIN" not in os.environ:
        parser.error("set the data variables first: `source scripts/local_data.sh`")
    for side in args.side:
        record = {"ours": run_ours, "authors": run_authors}[side](args.sparsity, args.epochs)
        kept = KEPT / f"{side}_l{args.sparsity}"
        kept.mkdir(parents=True, exist_ok=True)
        write_text(kept / "record.json", json.dumps(record, indent=2) + "\n")
        print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

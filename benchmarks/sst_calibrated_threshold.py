"""
A test-time selection that hits its target without fixing each sentence's share (issue 9):
the `threshold` decoder with the threshold set, on the dev set, to the quantile of P(z != 0) that
keeps the target share of all dev tokens; then evaluated on test, with the kept gates at 1 and
at their expected value E[z] (`value="expected"`: the gates' selection is the same, the classifier
reads each kept word scaled as it did in training).

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.sst_calibrated_threshold [RUN ...]

RUN names serialization directories under `runs/sst/` (default: `hardkuma_t0.3_s1..3` and
`hardkuma_t{0.1,0.2,0.5,0.7}_s1`, made by `benchmarks.sst_sweep`). Each result is kept in
`results/sst/<RUN>/calibrated_threshold.json`; the table (the `sst-calibrated` section of
`docs/results/sst.md`) is made from those files, for the default runs.
"""

import argparse
import json
import os
import statistics
from pathlib import Path
from typing import List

import torch

from benchmarks.results_store import RESULTS, ROOT, write_section

DEFAULT_RUNS = [f"hardkuma_t0.3_s{seed}" for seed in (1, 2, 3)] + [
    f"hardkuma_t{target}_s1" for target in (0.1, 0.2, 0.5, 0.7)
]


def gate_scores(model, reader, path: str) -> torch.Tensor:
    """P(z != 0) of every valid token of a file, as the gate computes it in evaluation."""

    gate = model._encoder.gate
    original = gate.decoding
    captured = []

    class Capture:
        elementwise = True

        def __call__(self, distribution, mask):
            captured.append((1 - distribution.prob_zero())[mask])
            return original(distribution, mask)

    gate.decoding = Capture()
    try:
        evaluate(model, reader, path)
    finally:
        gate.decoding = original
    return torch.cat(captured)


def evaluate(model, reader, path: str):
    from allennlp.data import Batch

    instances = list(reader.read(path))
    model.get_metrics(reset=True)
    with torch.no_grad():
        for start in range(0, len(instances), 200):
            batch = Batch(instances[start : start + 200])
            batch.index_instances(model.vocab)
            model(**batch.as_tensor_dict())
    return model.get_metrics(reset=True)


def archive(run: str) -> Path:
    return ROOT / "runs" / "sst" / run / "model.tar.gz"


def calibrate(run: str) -> dict:
    from allennlp.models.archival import load_archive

    import hardkuma_allennlp  # noqa: F401
    from hardkuma_allennlp.modules.gate_decoders import ThresholdDecoder

    loaded = load_archive(archive(run))
    model, reader = loaded.model.eval(), loaded.dataset_reader
    target = loaded.config["trainer"]["callbacks"][0]["selection"]
    dev = gate_scores(model, reader, os.environ["SST_DEV"])
    threshold = min(float(torch.quantile(dev.double(), 1.0 - target)), 0.999)
    result = {"target": target, "threshold": threshold}
    for value, suffix in (("one", ""), ("expected", "_expected")):
        model._encoder.gate.decoding = ThresholdDecoder(threshold, value=value)
        metrics = evaluate(model, reader, os.environ["SST_TEST"])
        result[f"test_accuracy{suffix}"] = metrics["accuracy"]
        result[f"test_selected{suffix}"] = metrics["selected"]
    return result


def table(runs: List[str]) -> str:
    """The table of the kept calibrations of `runs` (`calibrated_threshold.json`)."""
    rows = []
    for run in runs:
        kept = RESULTS / "sst" / run / "calibrated_threshold.json"
        if not kept.exists():
            continue
        decodings = json.loads((kept.parent / "decodings.json").read_text())
        rows.append((run, json.loads(kept.read_text()), decodings["top-k"]))
    lines = [
        "| run | calibrated threshold | test acc. / sel. (%), kept gates 1 | test acc. / sel. (%), "
        "kept gates E[z] | top-k: test acc. / sel. (%) |",
        "|---|---|---|---|---|",
    ]
    for run, result, top_k in rows:
        expected = (
            f"{100 * result['test_accuracy_expected']:.1f} / "
            f"{100 * result['test_selected_expected']:.1f}"
            if "test_accuracy_expected" in result
            else "-"
        )
        lines.append(
            f"| {run} | {result['threshold']:.3f} | {100 * result['test_accuracy']:.1f} / "
            f"{100 * result['test_selected']:.1f} | {expected} | {100 * top_k['accuracy']:.1f} / "
            f"{100 * top_k['selected']:.1f} |"
        )
    for key, what in (("test_accuracy", "kept gates 1"), ("test_accuracy_expected", "E[z]")):
        main = [r[key] for _, r, _ in rows if r["target"] == 0.3 and key in r]
        if main:
            lines.append(
                f"\nTarget 0.3, median over {len(main)} seed(s): "
                f"{100 * statistics.median(main):.1f} % test accuracy with the calibrated "
                f"threshold ({what})."
            )
    return "\n".join(lines) + "\n"


def write_docs(root: Path = ROOT) -> str:
    text = table(DEFAULT_RUNS)
    write_section("sst", "sst-calibrated", text, root)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="*", default=DEFAULT_RUNS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for run in args.runs:
        kept = RESULTS / "sst" / run / "calibrated_threshold.json"
        result = json.loads(kept.read_text()) if kept.exists() else {}
        if "test_accuracy_expected" not in result and archive(run).exists():
            kept.write_text(json.dumps(calibrate(run), indent=2))
    print(table(args.runs))
    write_docs()


if __name__ == "__main__":
    main()

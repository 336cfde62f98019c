"""
ERASER faithfulness of SST rationales (issue 11): comprehensiveness and sufficiency at the models'
own rationales and as AOPC (top 1/5/10/20/50 % of tokens), on the SST test set, for HardKuma at a
0.3 target, the Bernoulli (REINFORCE) baseline and the full-text BiLSTM (no rationale of its own;
its tokens are ranked by gradient x input), with `allennlp rationales`.

    source scripts/local_data.sh
    .venv/bin/python -m benchmarks.sst_faithfulness                  # train what is missing
    .venv/bin/python -m benchmarks.sst_faithfulness --summarize-only # the table from results/

Each model is the run of `benchmarks.sst_sweep` with the same name, config, seed and
overrides (`runs/sst/<run>/model.tar.gz`); a missing archive is trained first (one thread).
`allennlp rationales` writes `results/sst_faithfulness/<run>/metrics.json` (kept in the
repository) and, for HardKuma (target 0.3, seed 1, the paper's decoding), the HTML report
`docs/reports/sst_hardkuma.html` (the first 60 test sentences). The `sst-faithfulness` section of
`docs/results/sst_faithfulness.md` is made from the kept metrics alone.
"""

import argparse
import json
import os
from pathlib import Path

from benchmarks.results_store import RESULTS, ROOT, ensure_archive, rationales, write_section
from benchmarks.sst_sweep import hardkuma_spec, run_spec

BENCHMARK = "sst_faithfulness"


def specs(bernoulli: float):
    gate = {"model.encoder.gate.sparsity": bernoulli, "model.encoder.gate.coherence": 2 * bernoulli}
    return [
        ("HardKuma, target 0.3 (the paper's decoding)", hardkuma_spec(0.3, 1, 25)),
        (
            f"Bernoulli, L0 weight {bernoulli}",
            run_spec(f"bernoulli_l{bernoulli}_s1", "sst_bernoulli.jsonnet", 1, 25, gate),
        ),
        (
            "BiLSTM, full text (gradient x input)",
            run_spec("bilstm_s1", "sst_bilstm.jsonnet", 1, 25),
        ),
    ]


def measure(spec, archive: Path, html: bool) -> None:
    report = ROOT / "docs" / "reports" / "sst_hardkuma.html" if html else None
    metrics = RESULTS / BENCHMARK / spec["name"] / "metrics.json"
    rationales(archive, os.environ["SST_TEST"], metrics, report, html_inputs=60)


def cell(metrics, key):
    # `+ 0.0` writes a rounding-noise -0.000 (e.g. sufficiency of a full-text rationale) as 0.000.
    return f"{round(metrics[key], 3) + 0.0:.3f}" if key in metrics else "-"


def markdown(plan) -> str:
    lines = [
        "| model | test acc. (%) | selected (%) | comprehensiveness | sufficiency "
        "| AOPC comprehensiveness | AOPC sufficiency |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, spec in plan:
        path = RESULTS / BENCHMARK / spec["name"] / "metrics.json"
        if not path.exists():
            lines.append(f"| {label} | not run | - | - | - | - | - |")
            continue
        m = json.loads(path.read_text())
        selected = f"{100 * m['selected']:.1f}" if "selected" in m else "100 (no gates)"
        lines.append(
            f"| {label} | {100 * m['accuracy']:.1f} | {selected} | {cell(m, 'comprehensiveness')} "
            f"| {cell(m, 'sufficiency')} | {cell(m, 'aopc_comprehensiveness')} "
            f"| {cell(m, 'aopc_sufficiency')} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "sst")
    parser.add_argument(
        "--bernoulli", type=float, default=0.0015, help="the Bernoulli run's L0 weight"
    )
    parser.add_argument("--summarize-only", action="store_true")
    args = parser.parse_args()
    plan = specs(args.bernoulli)
    if not args.summarize_only:
        if "SST_TEST" not in os.environ:
            parser.error("set the data variables first, e.g. `source scripts/local_data.sh`")
        args.runs.mkdir(parents=True, exist_ok=True)
        for number, (_, spec) in enumerate(plan):
            if (RESULTS / BENCHMARK / spec["name"] / "metrics.json").exists():
                continue
            config = ROOT / "training_config" / spec["config"]
            archive = ensure_archive(config, args.runs / spec["name"], spec["overrides"])
            measure(spec, archive, html=number == 0)
    print(write_docs(bernoulli=args.bernoulli))


def write_docs(root: Path = ROOT, bernoulli: float = 0.0015) -> str:
    table = markdown(specs(bernoulli))
    write_section("sst_faithfulness", "sst-faithfulness", table, root)
    return table


if __name__ == "__main__":
    main()

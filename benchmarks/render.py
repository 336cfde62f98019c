"""
Regenerates every generated page from the files under `results/` alone, without training or
measuring anything: the tables of `docs/results/*.md` (each benchmark's `write_docs`), the SST
figure, and the README's headline table and example rationales.

    .venv/bin/python -m benchmarks.render            # rewrite the pages in place
    .venv/bin/python -m benchmarks.render --check    # exit 1, naming each page that is stale

Only the sections between `<!-- name:start -->` and `<!-- name:end -->` are generated; the prose
around them is written by hand and quotes no number. `tests/benchmarks/test_render.py` runs the
check in CI, so a table that no longer matches its results cannot land.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

from benchmarks import (
    beer_classification,
    beer_learning_curve,
    beer_real,
    beer_speed,
    beer_synthetic,
    snli,
    sst_authors,
    sst_calibrated_threshold,
    sst_faithfulness,
    sst_speed,
    sst_sweep,
    sst_transformer,
)
from benchmarks.diagnostics import sst_bernoulli_band
from benchmarks.results_store import DOCS, RESULTS, ROOT, load_results, replace_section

# Each writes its sections of `docs/results/<page>.md` under the root it is given.
WRITERS = (
    sst_sweep.write_docs,
    sst_bernoulli_band.write_docs,
    sst_calibrated_threshold.write_docs,
    sst_authors.write_docs,
    sst_speed.write_docs,
    sst_faithfulness.write_docs,
    snli.write_docs,
    beer_real.write_docs,
    beer_classification.write_docs,
    beer_synthetic.write_docs,
    beer_learning_curve.write_docs,
    beer_speed.write_docs,
    sst_transformer.write_docs,
)
PAGES = ("sst", "sst_authors", "sst_faithfulness", "snli", "beer_real", "beer_synthetic")
PAGES += ("beer_learning_curve", "beer_speed", "sst_transformer", "beer_classification")


def _median(values: List[float]) -> str:
    return f"{100 * statistics.median(values):.1f}"


def _done(benchmark: str, names: List[str]) -> List[Dict]:
    kept = load_results(benchmark)
    return [kept[n]["metrics"] for n in names if "metrics" in kept.get(n, {})]


def headline() -> str:
    """One row per experiment: the main comparison of each results page."""
    rows = [
        "| experiment (test set) | HardKuma | baseline | details |",
        "|---|---|---|---|",
    ]
    seeds = [1, 2, 3]
    ours = _done("sst", [f"hardkuma_t0.3_s{s}" for s in seeds])
    full = _done("sst", [f"bilstm_s{s}" for s in seeds])
    authors = [
        json.loads(path.read_text())
        for path in sorted((RESULTS / "sst_authors").glob("*/results.json"))
    ]
    authors_cell = "".join(
        f"; the authors' code {100 * r['test_acc']:.1f} % at {100 * (1 - r['test_p0']):.1f} %"
        for r in authors[:1]
    )
    rows.append(
        f"| SST-5 sentiment, accuracy at the share of words selected (target 30 %) "
        f"| {_median([m['test_accuracy'] for m in ours])} % at "
        f"{_median([m['test_selected'] for m in ours])} % (median of {len(ours)} seeds) "
        f"| full-text BiLSTM {_median([m['test_accuracy'] for m in full])} % "
        f"(median of {len(full)}){authors_cell} | [SST](docs/results/sst.md) |"
    )
    transformer = {row["label"]: row for row in sst_transformer.rows()}
    gated, full_text = (transformer.get(label, {}) for label in sst_transformer.HEADLINE)
    if gated.get("metrics") and full_text.get("metrics"):
        faith, rand = gated["faithfulness"], gated["random"]
        rows.append(
            f"| SST-5 over a frozen transformer (all-MiniLM-L6-v2, {gated['epochs']} epochs), "
            "accuracy at the share of words selected; comprehensiveness against a random "
            f"rationale of the same size | {100 * gated['metrics']['test_accuracy']:.1f} % at "
            f"{100 * faith['selected']:.1f} %; comprehensiveness {faith['comprehensiveness']:.3f} "
            f"(random {rand['comprehensiveness']:.3f}) (seed 1) | the transformer fine-tuned on "
            f"the full text ({full_text['epochs']} epochs) "
            f"{100 * full_text['metrics']['test_accuracy']:.1f} % "
            "| [SST over a transformer](docs/results/sst_transformer.md) |"
        )
    hardkuma = _done("snli", [f"hardkuma_attention_s{s}" for s in snli.SEEDS])
    softmax = _done("snli", [f"decomposable_attention_s{s}" for s in snli.SEEDS])
    rows.append(
        f"| SNLI, accuracy and share of non-zero attention cells (target 10 %) "
        f"| {snli.mean_sd([m['test_accuracy'] for m in hardkuma])} % at "
        f"{snli.mean_sd([m['test_nonzero_attention'] for m in hardkuma])} % "
        f"(mean ± sd of {len(hardkuma)} seeds) "
        f"| Decomposable Attention {snli.mean_sd([m['test_accuracy'] for m in softmax])} % "
        f"(softmax, 100 %) | [SNLI](docs/results/snli.md) |"
    )
    rows.append(beer_real.headline_row())
    binary = beer_classification.headline_row()
    if binary:
        rows.append(binary)
    beer = load_results("beer_synthetic")
    cells = []
    for aspect, name in beer_synthetic.ASPECTS.items():
        metrics = beer.get(f"hardkuma_a{aspect}_s1", {}).get("metrics")
        if metrics is not None:
            cells.append(
                f"{name} {100 * metrics['test_rationale_precision']:.1f} / "
                f"{100 * metrics['test_selected']:.1f} "
                f"(target {100 * beer_synthetic.TARGETS[aspect]:.0f})"
            )
    rows.append(
        "| BeerAdvocate, **synthetic** reviews (a smoke test): rationale precision / selected (%) "
        f"| {', '.join(cells)} (seed 1) | - | [Beer](docs/results/beer_synthetic.md) |"
    )
    speed = json.loads((RESULTS / "beer_speed" / "speed.json").read_text())
    ratios = []
    for kind, runs in speed["measurements"].items():
        times = {side: [r["times"] for r in measured] for side, measured in runs.items()}
        ratio = statistics.median(times["theirs"]) / statistics.median(times["ours"])
        ratios.append(f"{ratio:.2f}x ({kind} reviews)")
    rows.append(
        "| Speed: one Beer training step against the authors' code (theirs / ours) "
        f"| {', '.join(ratios)} | the authors' code, 1x | [speed](docs/results/beer_speed.md) |"
    )
    return "\n".join(rows) + "\n"


def write_readme(root: Path = ROOT) -> None:
    """The README's generated sections: the headline table and the example rationales."""
    replace_section(root / "README.md", "headline", headline())
    replace_section(root / "README.md", "sst-examples", sst_sweep.examples())


def render(root: Path = ROOT) -> None:
    for write in WRITERS:
        write(root)
    write_readme(root)


def pages() -> List[Path]:
    """The generated pages, relative to the project root."""
    return [Path("README.md"), *(DOCS / f"{page}.md" for page in PAGES)]


def stale(root: Path = ROOT) -> List[str]:
    """The pages under `root` that differ from what `render` makes of `results/` now (rendered
    into a temporary copy; `root` is left as it is)."""
    with tempfile.TemporaryDirectory() as directory:
        copy = Path(directory)
        for page in pages():
            (copy / page).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / page, copy / page)
        render(copy)
        return [str(p) for p in pages() if (copy / p).read_text() != (root / p).read_text()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="only say which pages are stale")
    args = parser.parse_args()
    if args.check:
        differing = stale()
        for page in differing:
            print(f"{page} is stale: run `python -m benchmarks.render`", file=sys.stderr)
        sys.exit(1 if differing else 0)
    render()
    print("\n".join(str(page) for page in pages()))


if __name__ == "__main__":
    main()

"""
Where a Beer rationale model's selected tokens fall outside the gold rationale of its aspect, on an
annotation file in the format of Lei et al. (`annotations.json`: JSON lines with `x`, `y` and the
gold `[start, end)` spans of each aspect under `"0"` to `"4"`).

    .venv/bin/python -m benchmarks.diagnostics.beer_wrong_picks \\
        runs/beer_synthetic/hardkuma_a1_s1/model.tar.gz runs/beer_synthetic/data/annotations.json

The archive's reader gives the aspect and the model decodes as configured (the paper's rule
unless the config says otherwise). As in the `rationale_f1` metric, a review without a gold span
for the aspect takes no part. Each selected token outside the aspect's gold spans is counted
in the first of these classes that applies:

- `boundary`: within two tokens of a gold span of the aspect (e.g. the full stop after it);
- `aspect N`: inside a gold span of another aspect N (0 look, 1 smell, 2 palate, 3 taste,
  4 overall);
- `elsewhere`: the rest (filler sentences, sentences about other things).

It prints the token precision, the counts per class, and the most frequent wrong words.
"""

import argparse
import collections
import json
from typing import Dict, List, Set

import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

ASPECT_NAMES = ("look", "smell", "palate", "taste", "overall")


def span_positions(spans: List[List[int]]) -> Set[int]:
    return {position for start, end in spans for position in range(start, end)}


def classify(position: int, own: Set[int], others: Dict[int, Set[int]]) -> str:
    if any(abs(position - gold) <= 2 for gold in own):
        return "boundary"
    for aspect, positions in sorted(others.items()):
        if position in positions:
            return f"aspect {aspect} ({ASPECT_NAMES[aspect]})"
    return "elsewhere"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("archive")
    parser.add_argument("annotations")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--words", type=int, default=20, help="how many wrong words to list")
    args = parser.parse_args()
    archive = load_archive(args.archive)
    model = archive.model.eval()
    reader = archive.validation_dataset_reader
    aspect = int(archive.config["validation_dataset_reader"]["aspect"])
    with open(args.annotations) as handle:
        reviews = [json.loads(line) for line in handle if line.strip()]
    reviews = [review for review in reviews if review.get(str(aspect))]

    right = 0
    classes: collections.Counter = collections.Counter()
    words: collections.Counter = collections.Counter()
    for start in range(0, len(reviews), args.batch_size):
        chunk = reviews[start : start + args.batch_size]
        instances = [
            reader.text_to_instance(
                " ".join(review["x"]),
                review["y"],
                {key: review[key] for key in map(str, range(5)) if key in review},
            )
            for review in chunk
        ]
        batch = Batch(instances)
        batch.index_instances(model.vocab)
        with torch.no_grad():
            # Shape: (batch_size, seq_len)
            z = model(**batch.as_tensor_dict())["z"]
        for row, review in enumerate(chunk):
            own = span_positions(review.get(str(aspect), []))
            others = {
                other: span_positions(review[str(other)])
                for other in range(5)
                if other != aspect and str(other) in review
            }
            for position, token in enumerate(review["x"]):
                if z[row, position] <= 0:
                    continue
                if position in own:
                    right += 1
                else:
                    classes[classify(position, own, others)] += 1
                    words[token] += 1

    wrong = sum(classes.values())
    print(f"aspect {aspect} ({ASPECT_NAMES[aspect]}), {len(reviews)} reviews")
    print(f"selected tokens: {right + wrong}, inside the gold spans: {right}")
    print(f"precision: {100.0 * right / max(1, right + wrong):.1f} %")
    for name, count in classes.most_common():
        print(f"  wrong, {name}: {count} ({100.0 * count / max(1, wrong):.0f} % of the wrong)")
    print(
        "most frequent wrong words:",
        ", ".join(f"{w} {c}" for w, c in words.most_common(args.words)),
    )


if __name__ == "__main__":
    main()

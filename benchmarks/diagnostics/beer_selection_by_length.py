"""
Where a Beer model's decoded selection depends on review length (issue 24: on the real reviews
dev kept 11 % and the annotated reviews 17.8 %; training truncates reviews at 256 tokens,
evaluation reads them whole). For each file it prints the selection over all tokens (as the
`selected` metric counts it), the mean per-review share (as the constraint counts it) and both by
length bucket; with `--concatenate N` it also reads reviews made of N consecutive reviews each
(longer than any training review) and compares the share selected in the first 256 tokens with
the share after them.

    DATA=runs/beer_synthetic/data
    .venv/bin/python -m benchmarks.diagnostics.beer_selection_by_length \\
        runs/beer_synthetic/hardkuma_a0_s1/model.tar.gz \\
        $DATA/reviews.aspect0.heldout.txt.gz $DATA/annotations.json --concatenate 3
"""

import argparse
import gzip
from typing import List, Tuple

import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401

BUCKETS = [(0, 100), (100, 200), (200, 256), (256, 400), (400, 100_000)]


def decode(model, instances) -> List[Tuple[int, List[float]]]:
    """(length, decoded gates) of every instance."""
    rows = []
    for start in range(0, len(instances), 64):
        batch = Batch(instances[start : start + 64])
        batch.index_instances(model.vocab)
        with torch.no_grad():
            output = model(**batch.as_tensor_dict())
        for z, mask in zip(output["z"], output["mask"]):
            length = int(mask.sum())
            rows.append((length, [float(g != 0) for g in z[:length]]))
    return rows


def report(name: str, rows: List[Tuple[int, List[float]]]) -> None:
    tokens = sum(length for length, _ in rows)
    selected = sum(sum(z) for _, z in rows)
    shares = [sum(z) / length for length, z in rows]
    print(
        f"{name}: {len(rows)} reviews, mean length {tokens / len(rows):.1f}; selected "
        f"{100 * selected / tokens:.2f} % of the tokens, {100 * sum(shares) / len(shares):.2f} % "
        "per review"
    )
    for low, high in BUCKETS:
        bucket = [(length, z) for length, z in rows if low <= length < high]
        if bucket:
            share = sum(sum(z) / length for length, z in bucket) / len(bucket)
            count = sum(sum(z) for _, z in bucket) / len(bucket)
            print(
                f"  length {low}-{high}: {len(bucket)} reviews, {100 * share:.2f} % per review, "
                f"{count:.1f} tokens per review"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("archive")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--concatenate", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    archive = load_archive(args.archive)
    model, reader = archive.model, archive.validation_dataset_reader
    model.eval()
    for path in args.files:
        report(path, decode(model, list(reader.read(path))))
    if args.concatenate > 1:
        review_files = [path for path in args.files if path.endswith(".txt.gz")]
        with gzip.open(review_files[0], "rt", encoding="utf-8") as handle:
            lines = [line.rstrip("\n").split("\t", 1) for line in handle if line.strip()]
        step = args.concatenate
        instances = [
            reader.text_to_instance(
                " ".join(text for _, text in lines[i : i + step]),
                [float(v) for v in lines[i][0].split()],
            )
            for i in range(0, len(lines) - step + 1, step)
        ]
        rows = decode(model, instances)
        first = [sum(z[:256]) / min(length, 256) for length, z in rows]
        later = [sum(z[256:]) / (length - 256) for length, z in rows if length > 256]
        print(
            f"{len(rows)} reviews of {step} concatenated reviews (mean length "
            f"{sum(length for length, _ in rows) / len(rows):.0f}): "
            f"{100 * sum(first) / len(first):.2f} % selected in the first 256 tokens, "
            f"{100 * sum(later) / max(len(later), 1):.2f} % after them"
        )


if __name__ == "__main__":
    main()

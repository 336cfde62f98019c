"""
Whether a Beer rationale model selects more of a review past the 256 tokens it was trained on.

    .venv/bin/python -m benchmarks.diagnostics.beer_positions \\
        runs/beer_synthetic/hardkuma_a0_s1/model.tar.gz runs/beer_synthetic/data/annotations.json

Training truncates reviews at 256 tokens and evaluation reads them whole, so a model that behaved
differently on later positions would select a different share of long reviews than of short
ones. On the first `--reviews` reviews of an annotation file (Lei et al.'s `annotations.json`
format), decoded as the archive's config decodes, it prints the selected share overall and per
block of 128 positions, for the reviews as they are and for consecutive pairs of them joined
into one review (so that half of each joined review lies where a single one rarely reaches).
"""

import argparse
import json
from typing import Dict, List

import torch
from allennlp.data import Batch
from allennlp.models.archival import load_archive

import hardkuma_allennlp  # noqa: F401  (registers the plugin's classes)

BLOCK = 128


def selections(model, reader, texts: List[str], batch_size: int) -> List[torch.Tensor]:
    """The decoded selection (1 = selected) of every text, one tensor of its length each."""
    out = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        batch = Batch([reader.text_to_instance(text, [0.5] * 5) for text in chunk])
        batch.index_instances(model.vocab)
        with torch.no_grad():
            # Shape: (batch_size, seq_len)
            z = model(**batch.as_tensor_dict())["z"]
        out += [(z[row, : len(text.split())] > 0).float() for row, text in enumerate(chunk)]
    return out


def report(name: str, selected: List[torch.Tensor]) -> None:
    blocks: Dict[int, List[float]] = {}
    for z in selected:
        for start in range(0, len(z), BLOCK):
            part = z[start : start + BLOCK]
            counts = blocks.setdefault(start, [0.0, 0.0])
            counts[0] += float(part.sum())
            counts[1] += len(part)
    total = sum(float(z.sum()) for z in selected) / max(1, sum(len(z) for z in selected))
    print(f"{name}: {100 * total:.2f} % selected")
    for start, (chosen, tokens) in sorted(blocks.items()):
        print(
            f"  positions {start}-{start + BLOCK - 1}: {100 * chosen / tokens:.2f} % "
            f"of {int(tokens)} tokens"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("archive")
    parser.add_argument("annotations")
    parser.add_argument("--reviews", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=25)
    args = parser.parse_args()
    archive = load_archive(args.archive)
    model = archive.model.eval()
    reader = archive.validation_dataset_reader
    with open(args.annotations) as handle:
        reviews = [json.loads(line) for line in handle if line.strip()][: args.reviews]
    texts = [" ".join(review["x"]) for review in reviews]
    report("reviews as they are", selections(model, reader, texts, args.batch_size))
    joined = [texts[i] + " " + texts[i + 1] for i in range(0, len(texts) - 1, 2)]
    report("two reviews joined", selections(model, reader, joined, args.batch_size))


if __name__ == "__main__":
    main()

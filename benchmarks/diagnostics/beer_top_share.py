"""
How precise can a trained Beer model's rationale be at a given share of each review? A model's
gates rank the tokens of a review by `P(z_i != 0)` (along the decoded prefix for dependent
gates); this takes the top 5 / 10 / 13 / 15 / 20 % of each annotated review
(`annotations.dev.json`, aspect 0) by that score and reports the precision against the gold
spans, micro-averaged over tokens, next to the share and precision of the model's own decoded
selection. It asks whether a model that selects few, precise words would keep that precision if
it selected the paper's 13 %, by the order its own gates put the words in.

The authors' side is the best checkpoint (`model.pt`) of `benchmarks.beer_real --side authors`
(`runs/beer_real/authors_a0`); ours is any epoch of a run of ours, e.g. of `--side ours`.
Results (metrics only) are kept in `results/beer_real/top_share.json`, one entry per model.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.diagnostics.beer_top_share \
        --authors runs/beer_real/authors_a0/model.pt \
        --ours runs/beer_real/ours_a0:20 --name shipped
"""

import argparse
import json
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import numpy
import torch

from benchmarks.beer_real import default_data
from benchmarks.results_store import ROOT, write_text

SHARES = (0.05, 0.10, 0.13, 0.15, 0.20)
RESULT = ROOT / "results" / "beer_real" / "top_share.json"


def precision_at_shares(reviews: Iterator[Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]]):
    """`reviews` yields (gold, decoded z, score) per review; reviews without gold are skipped."""
    decoded = [0, 0]
    top = {share: [0, 0] for share in SHARES}
    count = tokens = 0
    for gold, z, score in reviews:
        if not gold.any():
            continue
        count += 1
        tokens += len(gold)
        decoded[0] += int((gold & (z > 0)).sum())
        decoded[1] += int((z > 0).sum())
        order = numpy.argsort(-score, kind="stable")
        for share in SHARES:
            k = max(1, round(share * len(gold)))
            top[share][0] += int(gold[order[:k]].sum())
            top[share][1] += k
    return {
        "reviews": count,
        "tokens": tokens,
        "decoded_precision": round(decoded[0] / max(decoded[1], 1), 4),
        "decoded_selected": round(decoded[1] / max(tokens, 1), 4),
        "top_share_precision": {
            f"{share:.2f}": round(hit / total, 4) for share, (hit, total) in top.items()
        },
    }


def authors_reviews(checkpoint: Path, data: Path):
    from benchmarks.diagnostics.beer_equivalence import authors_model

    model, vocabulary = authors_model(data)
    from latent_rationale.beer.util import beer_annotations_reader, prepare_minibatch

    state = torch.load(str(checkpoint), map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state)
    model.eval()
    for example in beer_annotations_reader(str(data / "annotations.dev.json"), aspect=0):
        gold = numpy.zeros(len(example.tokens), dtype=bool)
        for start, end in example.annotations[0]:
            gold[start:end] = True
        x, _, _ = prepare_minibatch([example], vocabulary, sort=False)
        with torch.no_grad():
            model(x)
            zero = x.new_zeros((), dtype=torch.float)
            p_zero = torch.stack([d.pdf(zero) for d in model.z_dists], 1).reshape(-1)
        yield gold, model.z[0].numpy(), 1.0 - p_zero.numpy()


def our_reviews(serialization: Path, epoch: int):
    from benchmarks.beer_real import annotated_instances, load_checkpoint, outputs_on

    model = load_checkpoint(serialization, serialization / f"model_state_e{epoch}_b0.th")
    for instance, output in outputs_on(model, annotated_instances(serialization)):
        gold = numpy.array(instance["gold_rationale"].tensor.tolist())
        if (gold < 0).any():
            continue
        yield gold > 0, numpy.array(output["z"]), numpy.array(output["gate_scores"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--authors", type=Path, help="the authors' model.pt")
    parser.add_argument("--ours", help="SERIALIZATION_DIR:EPOCH of a run of ours")
    parser.add_argument("--name", default="ours", help="the entry's name for --ours (the run's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    kept: Dict[str, Dict] = json.loads(RESULT.read_text()) if RESULT.exists() else {}
    entries: List[Tuple[str, Dict]] = []
    if args.authors:
        entry = precision_at_shares(authors_reviews(args.authors, args.data))
        entry["model"] = f"the authors' code, best checkpoint ({args.authors.name})"
        entries.append(("authors", entry))
    if args.ours:
        folder, epoch = args.ours.rsplit(":", 1)
        entry = precision_at_shares(our_reviews(Path(folder), int(epoch)))
        entry["model"] = f"ours, {args.name}, after epoch {epoch}"
        entries.append((args.name, entry))
    for name, entry in entries:
        kept[name] = entry
        print(name, json.dumps(entry))
    write_text(RESULT, json.dumps(kept, indent=2) + "\n")


if __name__ == "__main__":
    main()

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
import os
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import numpy
import torch

from benchmarks.results_store import ANCHORS, ROOT

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
    sys.path.insert(0, str(ANCHORS))
    from latent_rationale.beer.models.latent import LatentRationaleModel
    from latent_rationale.beer.util import (
        beer_annotations_reader,
        load_embeddings,
        prepare_minibatch,
    )
    from latent_rationale.beer.vocabulary import Vocabulary

    vocabulary = Vocabulary()
    load_embeddings(str(data / "glove.6B.50d.beer_aspect0.txt.gz"), vocabulary, dim=50)
    model = LatentRationaleModel(
        vocab=vocabulary,
        vocab_size=len(vocabulary.w2i),
        emb_size=50,
        hidden_size=200,
        output_size=1,
        layer="rcnn",
        dependent_z=True,
    )
    state = torch.load(str(checkpoint), map_location="cpu", weights_only=False)["state_dict"]
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
    from allennlp.common import Params
    from allennlp.models import Model

    from benchmarks.beer_real import annotated_instances

    instances = annotated_instances(serialization)
    params = Params.from_file(str(serialization / "config.json"))
    weights = serialization / f"model_state_e{epoch}_b0.th"
    model = Model.load(params, str(serialization), weights_file=str(weights), cuda_device=-1)
    model.eval()
    with torch.no_grad():
        for start in range(0, len(instances), 64):
            batch = instances[start : start + 64]
            for instance, output in zip(batch, model.forward_on_instances(batch)):
                gold = numpy.array(instance["gold_rationale"].tensor.tolist())
                if (gold < 0).any():
                    continue
                yield gold > 0, numpy.array(output["z"]), numpy.array(output["gate_scores"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("BEER_REAL_DIR", str(ROOT.parent / "shared" / "data" / "beer"))
    parser.add_argument("--data", type=Path, default=Path(default))
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
        # Our configs read the data paths from the environment, as `beer_real` sets them.
        os.environ.setdefault("BEER_DATA_DIR", str(ROOT / "runs" / "beer_real" / "data_a0"))
        os.environ.setdefault(
            "BEER_EMBEDDINGS", str(args.data / "glove.6B.50d.beer_aspect0.txt.gz")
        )
        for key, value in (("BEER_EMBEDDING_DIM", "50"), ("BEER_ASPECT", "0")):
            os.environ.setdefault(key, value)
        os.environ.setdefault("CUDA_DEVICE", "-1")
        os.environ.setdefault("USE_AMP", "false")
        entry = precision_at_shares(our_reviews(Path(folder), int(epoch)))
        entry["model"] = f"ours, {args.name}, after epoch {epoch}"
        entries.append((args.name, entry))
    for name, entry in entries:
        kept[name] = entry
        print(name, json.dumps(entry))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(kept, indent=2) + "\n")


if __name__ == "__main__":
    main()

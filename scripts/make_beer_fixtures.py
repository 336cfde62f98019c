#!/usr/bin/env python
"""
Writes small synthetic BeerAdvocate fixtures in the exact formats of Lei et al. (2016), for the
`beer_advocate` reader's tests and smoke runs (the real data is not redistributable):

- `reviews.aspect{0,1,2}.{train,heldout}.txt.gz`: gzip text, one review per line, five scores in
  [0, 1] (appearance, aroma, palate, taste, overall) separated by spaces, a TAB, then the
  lowercased review with tokens separated by single spaces;
- `annotations.json`: JSON lines with `x` (tokens), `y` (five scores), `"0"` to `"4"` (lists of
  `[start, end)` gold spans; some deliberately empty), plus the ignored extras `raw` and `rid`;
- `review+wiki.filtered.10.txt.gz`: gzip text word vectors, `word v1 ... v10` per line (10
  dimensions instead of the real file's 200; a few filler words are left out on purpose).

Each aspect's score is decided by its two marker words only (one of a positive and a negative
word per slot: 0, 1 or 2 positive markers give 0.2, 0.6 or 1.0), and each aspect's markers sit
in that aspect's own phrase, which is also its gold span, so a rationale model can learn them.
Output is deterministic (seeded; gzip written without a timestamp).

Usage: python scripts/make_beer_fixtures.py [output_dir]   (default: fixtures/beer)
"""

import gzip
import json
import random
import sys
from pathlib import Path
from typing import Dict, List, Tuple

# Per aspect: the phrase's opening words, then (positive, negative) marker pairs.
ASPECTS = [
    (["the", "look", "is"], [("golden", "murky"), ("clear", "cloudy")]),
    (["the", "smell", "is"], [("fragrant", "stale"), ("hoppy", "musty")]),
    (["the", "mouthfeel", "is"], [("smooth", "watery"), ("creamy", "thin")]),
    (["the", "taste", "is"], [("delicious", "bland"), ("rich", "sour")]),
    (["overall", "it", "is"], [("excellent", "poor"), ("great", "awful")]),
]
CONNECTORS = ["and", "but", "also", "quite", "very"]
FILLER = [
    "poured from a bottle into a glass",
    "had this one on tap last night",
    "thanks to a friend for sharing",
    "served in a tulip at the pub",
    "picked up a six pack at the store",
    "a seasonal release from the brewery",
    "would buy it again sometime",
    "the label says it is a stout",
]
# Left out of the embedding file, as rare words are in the real filtered vectors.
NOT_EMBEDDED = {"tulip", "brewery"}
EMBEDDING_DIM = 10
SCORE_OF_POSITIVES = {0: 0.2, 1: 0.6, 2: 1.0}


def make_review(rng: random.Random) -> Tuple[List[str], List[float], Dict[int, List[int]]]:
    """Returns the tokens, the five scores and each aspect's phrase span [start, end)."""
    phrases = []
    for aspect, (opening, pairs) in enumerate(ASPECTS):
        positives = 0
        words = list(opening)
        for slot, (positive, negative) in enumerate(pairs):
            if slot > 0:
                words.append(rng.choice(CONNECTORS))
            is_positive = rng.random() < 0.5
            positives += is_positive
            words.append(positive if is_positive else negative)
        phrases.append((aspect, words, SCORE_OF_POSITIVES[positives]))
    rng.shuffle(phrases)
    tokens: List[str] = []
    spans: Dict[int, List[int]] = {}
    scores = [0.0] * len(ASPECTS)
    fillers = rng.sample(FILLER, 3)
    for index, (aspect, words, score) in enumerate(phrases):
        if index in (0, 2, 4):
            tokens.extend(fillers.pop().split() + [","])
        spans[aspect] = [len(tokens), len(tokens) + len(words)]
        tokens.extend(words)
        tokens.append("." if index == len(phrases) - 1 else ",")
        scores[aspect] = score
    return tokens, scores, spans


def format_scores(scores: List[float]) -> str:
    return " ".join(f"{score:.1f}" for score in scores)


def write_gzip(path: Path, lines: List[str]) -> None:
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
            handle.write("".join(line + "\n" for line in lines).encode("utf-8"))


def main(output_dir: Path) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20190605)
    vocabulary = set()

    for aspect in range(3):
        for split, size in (("train", 48), ("heldout", 16)):
            lines = []
            for _ in range(size):
                tokens, scores, _ = make_review(rng)
                vocabulary.update(tokens)
                lines.append(f"{format_scores(scores)}\t{' '.join(tokens)}")
            write_gzip(output_dir / f"reviews.aspect{aspect}.{split}.txt.gz", lines)

    annotation_lines = []
    for review_id in range(24):
        tokens, scores, spans = make_review(rng)
        vocabulary.update(tokens)
        item = {"raw": " ".join(tokens), "rid": 7000 + review_id, "x": tokens, "y": scores}
        for aspect in range(len(ASPECTS)):
            start, end = spans[aspect]
            if review_id % 6 == aspect:
                gold: List[List[int]] = []  # the annotator marked nothing for this aspect
            elif review_id % 4 == 1:
                # Two spans: the phrase split after its opening words.
                gold = [[start, start + 3], [start + 3, end]]
            else:
                gold = [[start, end]]
            item[str(aspect)] = gold
        annotation_lines.append(json.dumps(item))
    (output_dir / "annotations.json").write_text("\n".join(annotation_lines) + "\n")

    vector_rng = random.Random(7)
    vector_lines = []
    for word in sorted(vocabulary - NOT_EMBEDDED):
        values = " ".join(f"{vector_rng.uniform(-1, 1):.4f}" for _ in range(EMBEDDING_DIM))
        vector_lines.append(f"{word} {values}")
    write_gzip(output_dir / f"review+wiki.filtered.{EMBEDDING_DIM}.txt.gz", vector_lines)
    print(f"wrote BeerAdvocate fixtures ({len(vocabulary)} word types) to {output_dir}")


if __name__ == "__main__":
    default = Path(__file__).resolve().parent.parent / "fixtures" / "beer"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)

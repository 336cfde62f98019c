"""
Writes fixtures/glove/tiny_glove.txt: a tiny embedding file in GloVe's text format
(`word v1 ... v10`, one word a line, lowercased) with seeded random vectors for most of the words
of the SST fixtures, so that tests never need real vectors. A seeded draw leaves about a tenth of
the words out, so that tests also meet words without a vector.

    python -m scripts.make_tiny_glove                 # rewrites the fixture
    python -m scripts.make_tiny_glove --output /tmp/x.txt  # somewhere else

The output depends only on the input files and the arguments (same seed -> same bytes).
"""

import argparse
import random
from pathlib import Path
from typing import Iterable, List, Optional, Set

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = [ROOT / "fixtures" / "sst" / f"{split}.txt" for split in ("train", "dev", "test")]
DEFAULT_OUTPUT = ROOT / "fixtures" / "glove" / "tiny_glove.txt"


def vocabulary(paths: Iterable[Path]) -> List[str]:
    """The sorted lowercased tokens of the SST trees in `paths`, as `hardkuma_sst` reads them."""
    from hardkuma_allennlp.dataset_readers.sst import parse_sst_tree

    words: Set[str] = set()
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    tokens, _ = parse_sst_tree(line).tokens_and_labels()
                    words.update(token.lower() for token in tokens)
    return sorted(words)


def glove_lines(words: List[str], dim: int, seed: int, coverage: float) -> List[str]:
    """One `word v1 ... v_dim` line for each kept word, in the order of `words`."""
    rng = random.Random(seed)
    lines = []
    for word in words:
        # Both draws happen for every word, so a word's vector does not depend on `coverage`.
        keep = rng.random() < coverage
        vector = [rng.gauss(0.0, 0.5) for _ in range(dim)]
        if keep:
            lines.append(" ".join([word] + [f"{value:.5f}" for value in vector]))
    return lines


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("inputs", nargs="*", type=Path, default=DEFAULT_INPUTS)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--dim", type=int, default=10)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--coverage", type=float, default=0.9)
    args = parser.parse_args(argv)

    words = vocabulary(args.inputs)
    lines = glove_lines(words, args.dim, args.seed, args.coverage)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print(f"{args.output}: {len(lines)} of {len(words)} words, {args.dim} dimensions")


if __name__ == "__main__":
    main()

"""
Draws premise x hypothesis attention matrices as heatmaps (PNG), like the figures of Bastings et
al. (2019), https://arxiv.org/abs/1905.08160, section 6.3.

As a library: `plot_attention_heatmap(attention, premise_tokens, hypothesis_tokens, path)`.

From the command line, on the JSON lines written by `allennlp predict ... --predictor
hardkuma_attention --output-file predictions.jsonl`:

    python -m hardkuma_allennlp.interpret.attention_heatmap predictions.jsonl heatmaps/ [--limit 10]

writes `heatmaps/pair_0000.png`, ... (one per line).
"""

import argparse
import json
import os
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy  # noqa: E402


def plot_attention_heatmap(
    attention: Sequence[Sequence[float]],
    premise_tokens: Sequence[str],
    hypothesis_tokens: Sequence[str],
    output_path: str,
    title: Optional[str] = None,
    annotate: bool = True,
) -> str:
    """
    Writes a heatmap of `attention` (premise tokens as rows, hypothesis tokens as columns, values
    in [0, 1]) to `output_path` (format from its extension, e.g. `.png`) and returns the path.
    With `annotate`, non-zero cells show their value; exactly-zero cells stay blank.
    """
    matrix = numpy.asarray(attention, dtype=float)
    if matrix.shape != (len(premise_tokens), len(hypothesis_tokens)):
        raise ValueError(
            f"attention has shape {matrix.shape}, but there are {len(premise_tokens)} premise and "
            f"{len(hypothesis_tokens)} hypothesis tokens"
        )
    rows, cols = matrix.shape
    figure, axes = plt.subplots(figsize=(1.0 + 0.45 * max(cols, 1), 1.0 + 0.35 * max(rows, 1)))
    try:
        axes.imshow(matrix, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        axes.set_xticks(range(cols))
        axes.set_xticklabels(hypothesis_tokens, rotation=90)
        axes.set_yticks(range(rows))
        axes.set_yticklabels(premise_tokens)
        axes.xaxis.tick_top()
        axes.xaxis.set_label_position("top")
        axes.set_xlabel("hypothesis")
        axes.set_ylabel("premise")
        if annotate:
            for i in range(rows):
                for j in range(cols):
                    if matrix[i, j] != 0.0:
                        colour = "white" if matrix[i, j] > 0.5 else "black"
                        axes.text(
                            j,
                            i,
                            f"{matrix[i, j]:.2f}",
                            ha="center",
                            va="center",
                            fontsize=6,
                            color=colour,
                        )
        if title:
            # Below the matrix: the hypothesis tokens and axis label take the space above it.
            axes.annotate(
                title,
                xy=(0.5, 0.0),
                xycoords="axes fraction",
                xytext=(0, -6),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=8,
            )
        directory = os.path.dirname(output_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        figure.savefig(output_path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)
    return output_path


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions", help="JSON lines from the hardkuma_attention predictor")
    parser.add_argument("output_dir")
    parser.add_argument("--limit", type=int, default=None, help="draw at most this many pairs")
    args = parser.parse_args(argv)
    with open(args.predictions, encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            if args.limit is not None and number >= args.limit:
                break
            try:
                prediction = json.loads(line)
                attention = prediction["attention"]
                premise = prediction["premise_tokens"]
                hypothesis = prediction["hypothesis_tokens"]
            except (json.JSONDecodeError, KeyError) as error:
                raise ValueError(
                    f"{args.predictions}, line {number + 1}: not a hardkuma_attention prediction "
                    f"({error!r})"
                ) from error
            title = f"predicted: {prediction.get('label')}"
            path = os.path.join(args.output_dir, f"pair_{number:04d}.png")
            plot_attention_heatmap(attention, premise, hypothesis, path, title=title)
            print(path)


if __name__ == "__main__":
    main()

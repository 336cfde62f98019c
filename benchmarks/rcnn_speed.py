#!/usr/bin/env python
"""
Speed of the `rcnn` Seq2SeqEncoder against AllenNLP's `lstm` Seq2SeqEncoder of the same hidden
size: one forward and backward pass (sum of the outputs as the loss) on a random batch, in the
same process, with the two encoders timed in alternation and the median of the repeats kept.
Prints a table and the RCNN / LSTM time ratio (below 1: RCNN is faster) per direction setting.

Usage (single thread, CPU):
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/python -m benchmarks.rcnn_speed \
        [--batch-size 32] [--length 100] [--input-dim 200] [--hidden-size 200] [--repeats 10]
        [--full-length]

By default the batch has random lengths in [length / 2, length] (the longest equal to
`length`), as a real padded batch; `--full-length` makes every sequence `length` tokens long.
"""

import argparse
import statistics
import time
from typing import Dict, List

import torch
from allennlp.modules.seq2seq_encoders import Seq2SeqEncoder

from hardkuma_allennlp.modules.seq2seq_encoders.rcnn import RCNN


def time_step(encoder: torch.nn.Module, inputs: torch.Tensor, mask: torch.Tensor) -> float:
    encoder.zero_grad(set_to_none=True)
    start = time.perf_counter()
    encoder(inputs, mask).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--input-dim", type=int, default=200)
    parser.add_argument("--hidden-size", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--full-length", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    inputs = torch.randn(args.batch_size, args.length, args.input_dim)
    if args.full_length:
        lengths = torch.full((args.batch_size,), args.length)
    else:
        lengths = torch.randint(args.length // 2, args.length + 1, (args.batch_size,))
        lengths[0] = args.length
    mask = torch.arange(args.length).unsqueeze(0) < lengths.unsqueeze(1)

    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); batch "
        f"{args.batch_size} x max length {args.length} (mean {lengths.float().mean():.1f}) x "
        f"input dim {args.input_dim}, hidden size {args.hidden_size}; forward + backward, "
        f"median of {args.repeats} (after {args.warmup} warm-up)"
    )
    print(f"{'encoder':<26}{'median s':>10}{'min s':>10}")
    for bidirectional in (False, True):
        encoders: Dict[str, torch.nn.Module] = {
            "rcnn": RCNN(args.input_dim, args.hidden_size, bidirectional=bidirectional),
            "lstm": Seq2SeqEncoder.by_name("lstm")(
                input_size=args.input_dim,
                hidden_size=args.hidden_size,
                bidirectional=bidirectional,
            ),
        }
        times: Dict[str, List[float]] = {name: [] for name in encoders}
        for _ in range(args.warmup):
            for encoder in encoders.values():
                time_step(encoder, inputs, mask)
        for _ in range(args.repeats):
            for name, encoder in encoders.items():
                times[name].append(time_step(encoder, inputs, mask))
        medians = {name: statistics.median(values) for name, values in times.items()}
        label = "bidirectional" if bidirectional else "unidirectional"
        for name in encoders:
            print(f"{name + ' ' + label:<26}{medians[name]:>10.4f}{min(times[name]):>10.4f}")
        print(f"ratio rcnn / lstm, {label}: {medians['rcnn'] / medians['lstm']:.2f}")


if __name__ == "__main__":
    main()

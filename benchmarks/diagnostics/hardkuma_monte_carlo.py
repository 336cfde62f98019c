"""
Closed-form HardKuma quantities against Monte Carlo estimates from the reparameterised sampler.

Prints a markdown table with, for several (a, b), the closed form of P(H = 0), P(H = 1),
P(0 < H < 1), E[H] and the cdf at a few points, the Monte Carlo estimate from `--samples` draws
of `HardKumaraswamy.rsample` (float64, fixed seed), its standard error and the difference in
standard errors. Run from the repository root:

    .venv/bin/python -m benchmarks.diagnostics.hardkuma_monte_carlo
"""

import argparse
import math
import platform
import time

import torch

from hardkuma_allennlp.distributions import HardKumaraswamy

# (a, b): bimodal (a, b < 1), skewed, uniform, unimodal, and concentrated shapes.
PARAMETERS = [
    (0.1, 0.1),
    (0.3, 0.3),
    (0.5, 0.9),
    (0.2, 2.0),
    (1.0, 1.0),
    (2.0, 5.0),
    (5.0, 2.0),
    (3.0, 3.0),
    (20.0, 20.0),
]
CDF_POINTS = [0.25, 0.5, 0.75]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    a = torch.tensor([p[0] for p in PARAMETERS], dtype=torch.float64)
    b = torch.tensor([p[1] for p in PARAMETERS], dtype=torch.float64)
    dist = HardKumaraswamy(a, b)
    start = time.time()
    # Shape: (num_samples, num_parameters)
    samples = dist.sample((args.samples,))
    sampling_seconds = time.time() - start

    def proportion(closed_form, indicator):
        estimate = indicator.double().mean(0)
        standard_error = (closed_form * (1.0 - closed_form) / args.samples).sqrt()
        return closed_form, estimate, standard_error

    quantities = [
        ("P(H=0)", proportion(dist.prob_zero(), samples == 0.0)),
        ("P(H=1)", proportion(dist.prob_one(), samples == 1.0)),
        ("P(0<H<1)", proportion(dist.prob_continuous(), (samples > 0.0) & (samples < 1.0))),
        ("E[H]", (dist.mean, samples.mean(0), samples.std(0) / math.sqrt(args.samples))),
    ]
    for point in CDF_POINTS:
        closed_form = dist.cdf(torch.tensor(point, dtype=torch.float64))
        quantities.append((f"cdf({point})", proportion(closed_form, samples <= point)))

    print(
        f"HardKuma (l, r) = ({dist.lower}, {dist.upper}): closed form vs Monte Carlo, "
        f"{args.samples} samples per (a, b), seed {args.seed}, float64, torch {torch.__version__}, "
        f"{platform.machine()} CPU (sampling took {sampling_seconds:.1f} s)."
    )
    print()
    print("| a | b | quantity | closed form | Monte Carlo | std. error | diff / s.e. |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    for index, (a_value, b_value) in enumerate(PARAMETERS):
        for name, (closed_form, estimate, standard_error) in quantities:
            c, e, s = (
                closed_form[index].item(),
                estimate[index].item(),
                standard_error[index].item(),
            )
            z = (e - c) / s if s > 0 else (0.0 if e == c else math.inf)
            worst = max(worst, abs(z))
            print(
                f"| {a_value:g} | {b_value:g} | {name} | {c:.6g} | {e:.6g} | {s:.2e} | {z:+.2f} |"
            )
    print()
    num_comparisons = len(PARAMETERS) * len(quantities)
    print(f"Largest |difference| over {num_comparisons} comparisons: {worst:.2f} standard errors.")


if __name__ == "__main__":
    main()

"""
The benchmarks that make every table in `docs/results/` and the README's headline: each trains or
measures, keeps what it measured under `results/`, and renders its tables from those files alone.
Run them from the project root as modules, e.g. `python -m benchmarks.sst_sweep --summarize-only`;
`python -m benchmarks.render` regenerates every page without training. The index is
`benchmarks/README.md`; one-off measurements are in `benchmarks/diagnostics/`.
"""

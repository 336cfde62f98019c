"""
Diagnostics: one-off measurements of a trained model or of the distribution (where gate shapes
lie, which tokens a rationale gets wrong, where errors go, closed form against Monte Carlo, the
scaled-down Beer collapse probe). They print what they find and keep nothing under `results/`.
Run as `python -m benchmarks.diagnostics.NAME`.
"""

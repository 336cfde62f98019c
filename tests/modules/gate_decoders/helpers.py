"""Shared helpers of the gate decoder tests."""

import torch

from hardkuma_allennlp.distributions import HardKumaraswamy


def random_gates(seed: int, shape=(6, 9)):
    generator = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=generator, dtype=torch.float64) * 3 + 0.05
    b = torch.rand(shape, generator=generator, dtype=torch.float64) * 3 + 0.05
    lengths = torch.randint(0, shape[-1] + 1, shape[:-1], generator=generator)
    mask = torch.arange(shape[-1]) < lengths.unsqueeze(-1)
    return HardKumaraswamy(a, b, -0.1, 1.1, validate_args=False), mask

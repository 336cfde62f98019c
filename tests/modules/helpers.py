"""Shared helpers of the module tests."""

from typing import Sequence

import torch
from allennlp.modules import Seq2SeqEncoder


class UnmaskedEncoder(Seq2SeqEncoder):
    """
    A position-wise encoder that outputs its inputs unchanged, padding included (garbage there
    stays garbage), so that what a module does with the padding is its own doing. It can claim to
    be bidirectional (the first half of the features forward, the second half backward).
    """

    def __init__(self, dim: int, bidirectional: bool = False) -> None:
        super().__init__()
        self.dim = dim
        self.bidirectional = bidirectional

    def get_input_dim(self) -> int:
        return self.dim

    def get_output_dim(self) -> int:
        return self.dim

    def is_bidirectional(self) -> bool:
        return self.bidirectional

    def forward(self, inputs: torch.Tensor, mask: torch.BoolTensor) -> torch.Tensor:
        return inputs


def random_inputs(
    lengths: Sequence[int], seq_len: int, seed: int = 1, dim: int = 4, garbage: float = 100.0
):
    """
    Random float64 inputs of shape `(len(lengths), seq_len, dim)` and their mask, with garbage
    (large, finite noise) at the padded positions.
    """
    generator = torch.Generator().manual_seed(seed)
    mask = torch.arange(seq_len) < torch.tensor(lengths).unsqueeze(-1)
    x = torch.randn(len(lengths), seq_len, dim, generator=generator, dtype=torch.float64)
    noise = garbage * torch.randn(x.shape, generator=generator, dtype=torch.float64)
    return torch.where(mask.unsqueeze(-1), x, noise), mask

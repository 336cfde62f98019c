"""
Expected L0 and expected transition counts of gates with point masses at zero (Bastings, Aziz &
Titov, 2019, https://arxiv.org/abs/1905.08160, eqs. 11 and 12).

Pure torch; this module imports nothing from AllenNLP.
"""

from typing import Optional

import torch


def _check_mask(p_zero: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    """Returns `mask` as a bool tensor (all True for `None`) after checking its shape."""
    if mask is None:
        return torch.ones_like(p_zero, dtype=torch.bool)
    if mask.shape != p_zero.shape:
        raise ValueError(
            f"mask must have the shape of p_zero, got mask {tuple(mask.shape)} and p_zero "
            f"{tuple(p_zero.shape)}."
        )
    return mask.bool()


def expected_l0(p_zero: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """
    The expected number of non-zero gates along the last dimension (eq. 11),
    `sum_i mask_i (1 - P(Z_i = 0))`.

    By linearity of expectation this holds for independent gates as well as for dependent gates,
    where `p_zero[..., i]` is the conditional `P(Z_i = 0 | z_<i)` along the sampled prefix (the
    result is then the single-sample estimate of the paper). Flatten attention matrices to
    `(batch_size, rows * columns)` first (and the mask alike).

    # Parameters

    p_zero : `torch.Tensor`
        `P(Z_i = 0)`, shape `(..., seq_len)`.
    mask : `torch.Tensor`, optional (default = `None`)
        Bool or 0/1 tensor of the shape of `p_zero`; positions with mask 0 contribute nothing.
        `None` means all positions are valid.

    # Returns

    `torch.Tensor`
        The expected count, shape `p_zero.shape[:-1]`. Divide by `mask.sum(-1).clamp(min=1)` for a
        rate.
    """
    mask = _check_mask(p_zero, mask)
    # `where` rather than a product, so that values at padded positions (even nan) are ignored.
    nonzero = torch.where(mask, 1.0 - p_zero, torch.zeros_like(p_zero))
    return nonzero.sum(-1)


def expected_transitions(p_zero: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """
    The expected number of zero/non-zero transitions between consecutive positions along the last
    dimension (eq. 12),
    `sum_i mask_i mask_{i+1} [P(Z_i = 0) (1 - P(Z_{i+1} = 0)) + (1 - P(Z_i = 0)) P(Z_{i+1} = 0)]`.

    A transition is counted only between positions `i` and `i + 1` that are both valid. Rows of
    length 0 or 1 give 0. For independent gates this is the exact expectation; for dependent gates,
    pass the conditionals `P(Z_i = 0 | z_<i)` along the sampled prefix, as in the paper.

    # Parameters

    p_zero : `torch.Tensor`
        `P(Z_i = 0)`, shape `(..., seq_len)`.
    mask : `torch.Tensor`, optional (default = `None`)
        Bool or 0/1 tensor of the shape of `p_zero`. `None` means all positions are valid.

    # Returns

    `torch.Tensor`
        The expected count, shape `p_zero.shape[:-1]`. Divide by `mask.sum(-1).clamp(min=1)` (or by
        the number of valid pairs) for a rate.
    """
    mask = _check_mask(p_zero, mask)
    p_zero = torch.where(mask, p_zero, torch.zeros_like(p_zero))
    # Shape: (..., seq_len - 1); empty for rows of length 0 or 1, whose sum is then 0.
    left = p_zero[..., :-1]
    right = p_zero[..., 1:]
    pair_mask = mask[..., :-1] & mask[..., 1:]
    transition = left * (1.0 - right) + (1.0 - left) * right
    return torch.where(pair_mask, transition, torch.zeros_like(transition)).sum(-1)
